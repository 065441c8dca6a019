"""The transparency log's endpoints: the checkpoint and consistency proofs are
public; inclusion proofs are for auditors only, and their asking is recorded."""

from __future__ import annotations

import base64

import pytest

from consent.audit import merkle
from consent.audit.log import checkpoint_latest, entry_leaf, sequence_batch
from consent.audit.models import AuditEntry
from consent.audit.notes import checkpoint_parse, note_split
from consent.audit.services import Action, Purpose, audit_record
from core.actors import Actor
from core.models import Role
from tests.factories import ALL_ROLES, acute_function, citizen, client_for, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def placed():
    org = acute_function()
    person = citizen()
    actor = Actor.for_membership(staff(Role.ACUTE_NURSE, org))
    entries = [
        audit_record(
            actor=actor, action=Action.READ, purpose=Purpose.TREATMENT, citizen_id=person.pk
        )
        for _ in range(3)
    ]
    sequence_batch()
    return {"org": org, "person": person, "entries": entries}


def test_the_checkpoint_is_served_to_anyone_as_a_signed_note(placed) -> None:
    response = client_for(None).get("/api/audit/log/checkpoint")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body, lines = note_split(response.content.decode())
    assert checkpoint_parse(body).size == 3 and len(lines) == 1


def test_no_checkpoint_yet_is_a_404_with_a_code() -> None:
    response = client_for(None).get("/api/audit/log/checkpoint")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "audit.log_unknown"


def test_a_consistency_proof_is_public_and_a_size_beyond_the_tree_is_a_400(placed) -> None:
    first = checkpoint_latest()
    assert first is not None
    audit_record(
        actor=Actor.system("tests.api"), action=Action.READ, purpose=Purpose.AUDIT, citizen_id=None
    )
    sequence_batch()
    latest = checkpoint_latest()
    assert latest is not None
    client = client_for(None)
    url = f"/api/audit/log/consistency?log={latest.log}&from={first.size}&to={latest.size}"
    response = client.get(url)
    assert response.status_code == 200
    proof = [base64.b64decode(p) for p in response.json()["proof"]]
    assert merkle.verify_consistency(
        old_size=first.size,
        new_size=latest.size,
        old_root=bytes(first.root),
        new_root=bytes(latest.root),
        proof=proof,
    )
    beyond = client.get(f"/api/audit/log/consistency?log={latest.log}&from=1&to=99")
    assert beyond.status_code == 400
    assert beyond.json()["error"]["code"] == "audit.size_beyond_tree"
    garbage = client.get(f"/api/audit/log/consistency?log={latest.log}&from=x&to=2")
    assert garbage.status_code == 400
    assert garbage.json()["error"]["code"] == "audit.param_invalid"


def test_an_auditor_gets_an_inclusion_proof_and_the_asking_is_recorded(placed) -> None:
    auditor = staff(Role.AUDITOR, placed["org"])
    entry = placed["entries"][1]
    response = client_for(auditor).get(f"/api/audit/log/entries/{entry.id}/inclusion")
    assert response.status_code == 200
    body = response.json()
    stored = AuditEntry.objects.get(id=entry.id)
    leaf = entry_leaf(stored.id, stored.recorded_at, bytes(stored.digest))
    assert base64.b64decode(body["leaf"]) == leaf
    checkpoint = checkpoint_parse(note_split(body["checkpoint"])[0])
    assert merkle.verify_inclusion(
        index=body["leaf_index"],
        size=body["tree_size"],
        leaf=merkle.leaf_hash(leaf),
        proof=[base64.b64decode(p) for p in body["proof"]],
        root_hash=checkpoint.root,
    )
    own = AuditEntry.objects.filter(actor_user_id=auditor.user_id)
    assert [(e.purpose, e.citizen_id) for e in own] == [(Purpose.AUDIT, placed["person"].pk)]


def test_an_unknown_entry_is_a_404_with_a_clear_code(placed) -> None:
    auditor = staff(Role.AUDITOR, placed["org"])
    response = client_for(auditor).get("/api/audit/log/entries/999999/inclusion")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "audit.entry_not_found"


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r != Role.AUDITOR])
def test_inclusion_proofs_are_refused_to_every_other_role(placed, role: str) -> None:
    member = staff(role, placed["org"])
    before = AuditEntry.objects.count()
    entry = placed["entries"][0]
    response = client_for(member).get(f"/api/audit/log/entries/{entry.id}/inclusion")
    assert response.status_code == 403
    # R9: the attempt is recorded, on the citizen of the entry it named, as on
    # the entry's other doors (it was not recorded at all).
    added = AuditEntry.objects.order_by("id")[before:]
    assert [(e.outcome, e.reason_code, e.citizen_id) for e in added] == [
        ("denied", "role_not_permitted", placed["person"].pk)
    ]


def test_inclusion_proofs_are_refused_to_the_anonymous(placed) -> None:
    entry = placed["entries"][0]
    response = client_for(None).get(f"/api/audit/log/entries/{entry.id}/inclusion")
    assert response.status_code in (401, 403)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("from=1&from=2&to=3", "search.param_repeated"),
        ("from=1&to=2&to=3", "search.param_repeated"),
        ("from=1&to=3&size=2", "search.param_unknown"),
        ("form=1&from=1&to=3", "search.param_unknown"),
    ],
)
def test_a_consistency_size_given_twice_or_an_unknown_parameter_is_refused(
    placed, query: str, code: str
) -> None:
    """A witness asking ``from=1&from=2`` was proved from 2, the last one, and
    an unknown parameter was read as not given: a proof it had not asked for."""
    latest = checkpoint_latest()
    assert latest is not None
    response = client_for(None).get(f"/api/audit/log/consistency?log={latest.log}&{query}")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code


def test_a_checkpoint_of_a_log_named_twice_is_refused(placed) -> None:
    latest = checkpoint_latest()
    assert latest is not None
    client = client_for(None)
    twice = client.get(f"/api/audit/log/checkpoint?log={latest.log}&log=other")
    assert twice.status_code == 400
    assert twice.json()["error"]["code"] == "search.param_repeated"
    unknown = client.get("/api/audit/log/checkpoint?origin=x")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "search.param_unknown"


def test_an_inclusion_proof_takes_no_parameters(placed) -> None:
    auditor = staff(Role.AUDITOR, placed["org"])
    entry = placed["entries"][0]
    response = client_for(auditor).get(f"/api/audit/log/entries/{entry.id}/inclusion?size=2")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "read.param_unknown"
