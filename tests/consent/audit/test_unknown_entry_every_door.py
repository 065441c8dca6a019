"""R9/R5 as an auditor and a citizen's lawyer meet the log's edges: an entry
id that names no entry is answered alike on every door that takes one, and
FHIR's total alone (``_count=0``) counts what the same search pages through.

An unknown id was 404 ``audit.entry_not_found`` on the API's read, 404
``audit.entry_unknown`` on the inclusion proof, 404 ``not_found`` ("No such
resource.") on ``/fhir/AuditEvent``, 404 ``audit.entry_not_flagged`` on the
review, the "not available" page (403) on the auditor's pages, and exit 1
with yet another sentence from ``audit_prove``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from consent.audit.log import sequence_batch
from consent.audit.models import AuditEntry, EntryReview
from consent.audit.services import Action, Outcome, Purpose, audit_record
from core.actors import Actor
from core.models import Role
from tests.factories import acute_function, citizen, client_for, log_in, staff

pytestmark = pytest.mark.django_db

CODE = "audit.entry_not_found"
DANISH = "Auditposten findes ikke."
DA = {"HTTP_ACCEPT_LANGUAGE": "da"}
# No entry has these ids: one a bigint could be, one past what a bigint holds.
UNKNOWN_IDS = ["99999999", "99999999999999999999999"]


@pytest.fixture
def log() -> dict[str, Any]:
    team = acute_function()
    nurse, other = staff(Role.ACUTE_NURSE, team), staff(Role.ACUTE_NURSE, team)
    people = [citizen(), citizen()]
    for member, person, outcome in [
        (nurse, people[0], Outcome.PERMITTED),
        (nurse, people[0], Outcome.DENIED),
        (nurse, people[1], Outcome.PERMITTED),
        (other, people[0], Outcome.PERMITTED),
        (other, people[1], Outcome.DENIED),
    ]:
        audit_record(
            actor=Actor.for_membership(member),
            action=Action.READ,
            purpose=Purpose.TREATMENT,
            citizen_id=person.pk,
            outcome=outcome,
            reason_code="tested",
        )
    while sequence_batch():
        pass
    return {"team": team, "nurse": nurse, "people": people, "auditor": staff(Role.AUDITOR, team)}


@pytest.mark.parametrize("entry_id", UNKNOWN_IDS)
@pytest.mark.parametrize(
    "door",
    [
        "/api/audit/entries/{id}",
        "/api/audit/log/entries/{id}/inclusion",
        "/fhir/AuditEvent/{id}",
    ],
)
def test_an_unknown_entry_is_one_404_code_and_one_danish_message(
    log: dict[str, Any], door: str, entry_id: str
) -> None:
    response = client_for(log["auditor"]).get(door.format(id=entry_id), **DA)
    assert response.status_code == 404, response.content
    if door.startswith("/fhir/"):
        assert response["Content-Type"].startswith("application/fhir+json")
        [issue] = response.json()["issue"]
        assert issue["code"] == "not-found"
        assert issue["details"]["coding"][0]["code"] == CODE
        assert issue["details"]["text"] == DANISH
    else:
        assert response.json()["error"] == {"code": CODE, "message": DANISH}


def test_the_fhir_read_of_an_id_in_no_entrys_form_is_the_same(log: dict[str, Any]) -> None:
    response = client_for(log["auditor"]).get("/fhir/AuditEvent/abc", **DA)
    assert response.status_code == 404
    assert response.json()["issue"][0]["details"]["coding"][0]["code"] == CODE


def test_the_review_of_an_unknown_entry_is_the_same_and_of_an_unflagged_one_a_409(
    log: dict[str, Any],
) -> None:
    client = client_for(log["auditor"])
    unknown = client.post("/api/audit/entries/99999999/review", {"comment": "x"}, "json", **DA)
    assert unknown.status_code == 404
    assert unknown.json()["error"] == {"code": CODE, "message": DANISH}
    # An entry that is there but has no flag: the page said 409, the API 404.
    unflagged = AuditEntry.objects.filter(outcome=Outcome.PERMITTED).first()
    assert unflagged is not None
    refused = client.post(f"/api/audit/entries/{unflagged.id}/review", {"comment": "x"}, "json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "audit.entry_not_flagged"


def _page_client(membership: Any) -> Client:
    client = Client()
    assert log_in(client, membership).status_code == 302
    return client


def test_the_auditors_pages_say_the_same_with_a_404(log: dict[str, Any]) -> None:
    client = _page_client(log["auditor"])
    for response in (
        client.get("/audit/entries/99999999"),
        client.post("/audit/entries/99999999/review", {"comment": "Set."}),
    ):
        assert response.status_code == 404
        page = response.content.decode()
        assert f'data-code="{CODE}"' in page and DANISH in page


def _recorded_unknown_reads(auditor: Any) -> list[tuple[str, str, str, int | None, str, dict]]:
    return [
        (e.action, e.purpose, e.outcome, e.citizen_id, e.resource_type, e.detail)
        for e in AuditEntry.objects.filter(
            actor_user_id=auditor.user_id, reason_code=CODE
        ).order_by("id")
    ]


@pytest.mark.parametrize("entry_id", UNKNOWN_IDS)
@pytest.mark.parametrize(
    ("door", "query"),
    [
        ("/api/audit/entries/{id}", "entry"),
        ("/api/audit/log/entries/{id}/inclusion", "inclusion"),
        ("/fhir/AuditEvent/{id}", "entry"),
        ("/audit/entries/{id}", "entry"),
    ],
)
def test_the_read_of_an_unknown_entry_is_recorded_alike_on_every_door(
    log: dict[str, Any], door: str, query: str, entry_id: str
) -> None:
    """R9: the auditor's attempt to read an entry that is not there is on the
    log as her other reads are (purpose audit), denied with the answer's code.
    Before, only /fhir/AuditEvent recorded it; the API and the pages did not."""
    auditor = log["auditor"]
    client = _page_client(auditor) if door.startswith("/audit/") else client_for(auditor)
    response = client.get(door.format(id=entry_id))
    assert response.status_code == 404
    [(action, purpose, outcome, citizen_id, resource_type, detail)] = _recorded_unknown_reads(
        auditor
    )
    assert (action, purpose, outcome) == (Action.READ, Purpose.AUDIT, Outcome.DENIED)
    assert (citizen_id, resource_type) == (None, "AuditEvent")
    assert detail == {"query": {query: entry_id}}
    entry = AuditEntry.objects.get(actor_user_id=auditor.user_id, reason_code=CODE)
    assert entry.resource_id == entry_id


@pytest.mark.parametrize("entry_id", UNKNOWN_IDS)
@pytest.mark.parametrize("door", ["/api/audit/entries/{id}/review", "/audit/entries/{id}/review"])
def test_the_review_of_an_unknown_entry_is_recorded_alike_on_both_doors(
    log: dict[str, Any], door: str, entry_id: str
) -> None:
    """R9: reviewing an entry that is not there is an attempt on the log as
    reading one is, by the same function: denied, purpose audit, no citizen,
    the id in the query under ``review``. One attempt, one entry: the page
    does not add a read of the entry it cannot show. Before, neither door
    recorded it (the page only the read)."""
    auditor = log["auditor"]
    api = door.startswith("/api/")
    client = client_for(auditor) if api else _page_client(auditor)
    url = door.format(id=entry_id)
    if api:
        response = client.post(url, {"comment": "Set."}, "json")
    else:
        response = client.post(url, {"comment": "Set."})
    assert response.status_code == 404
    [(action, purpose, outcome, citizen_id, resource_type, detail)] = _recorded_unknown_reads(
        auditor
    )
    assert (action, purpose, outcome) == (Action.UPDATE, Purpose.AUDIT, Outcome.DENIED)
    assert (citizen_id, resource_type) == (None, "AuditEvent")
    assert detail == {"query": {"review": entry_id}}
    entry = AuditEntry.objects.get(actor_user_id=auditor.user_id, reason_code=CODE)
    assert entry.resource_id == entry_id
    assert not EntryReview.objects.exists()


def test_a_found_entrys_read_is_not_recorded_as_unknown(log: dict[str, Any]) -> None:
    auditor = log["auditor"]
    known = AuditEntry.objects.order_by("id").first()
    assert known is not None
    for door in ("/api/audit/entries/{id}", "/fhir/AuditEvent/{id}"):
        assert client_for(auditor).get(door.format(id=known.id)).status_code == 200
    assert _recorded_unknown_reads(auditor) == []
    assert (
        AuditEntry.objects.filter(
            actor_user_id=auditor.user_id, purpose=Purpose.AUDIT, outcome=Outcome.PERMITTED
        ).count()
        == 2
    )


def test_audit_prove_says_the_same_and_exits_2(log: dict[str, Any]) -> None:
    with pytest.raises(CommandError) as unknown:
        call_command("audit_prove", "99999999")
    assert unknown.value.returncode == 2
    assert str(unknown.value) == f"{DANISH} ({CODE})"
    # A known entry is still proved.
    entry = AuditEntry.objects.order_by("id").first()
    assert entry is not None
    call_command("audit_prove", str(entry.id))


def test_the_commands_help_names_its_exit_codes() -> None:
    from consent.audit.management.commands.audit_prove import Command

    described = " ".join(Command().create_parser("manage.py", "audit_prove").format_help().split())
    assert "2 no such entry (audit.entry_not_found)" in described


# --- FHIR's total alone -------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",
        "patient=Patient/{p0}",
        "patient=Patient/{p0}&outcome=4",
        "agent=Practitioner/{nurse}",
        "agent={nurse}&patient=Patient/{p1}",
        "outcome=0&date=ge{today}",
        "date=lt{yesterday}",
    ],
)
def test_the_total_alone_counts_what_the_same_search_pages_through(
    log: dict[str, Any], query: str
) -> None:
    """``_count=0`` must count the entries the auditor's filters allow, the
    same set a search with the same filters pages through, not the whole log."""
    today = timezone.localdate()
    query = query.format(
        p0=log["people"][0].pk,
        p1=log["people"][1].pk,
        nurse=log["nurse"].user_id,
        today=today.isoformat(),
        yesterday=(today - dt.timedelta(days=1)).isoformat(),
    )
    client = client_for(log["auditor"])
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    alone = client.get(f"/fhir/AuditEvent?{query}&_count=0").json()
    assert "entry" not in alone
    # Each search is itself recorded: the page is compared as the log stood
    # when the total was counted.
    paged = client.get(f"/fhir/AuditEvent?{query}&_count=200").json()
    found = [e for e in paged.get("entry", []) if int(e["resource"]["id"]) <= before]
    assert alone["total"] == len(found)
    if query:
        assert alone["total"] < before  # not the whole log
