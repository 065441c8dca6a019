"""R9: a refused request that names several citizens is on each one's log,
one entry each, so an auditor searching either citizen finds the attempt: a
transaction Bundle whose entries name two citizens (by ``Patient/<id>`` or by
CPR identifier), and a Patient search by several ``_id`` (GET, POST
``_search``), refused for the role or for the purpose stated; and a
transaction refused for one of its entries (by the gate, by R2), on the log
of every other citizen it names beside that entry's own refusal. A citizen
named twice is one entry; an id or number naming nobody adds none."""

from __future__ import annotations

from typing import Any

import pytest

from consent.audit.models import AuditEntry
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, post

pytestmark = pytest.mark.django_db

REFUSED_ROLES = ["medicine_officer", "auditor", "analyst", "administrator"]
UNKNOWN_PURPOSE = {"HTTP_X_PURPOSE_OF_USE": "curiosity"}


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _added(before: int) -> list[tuple[str, str, str, int | None]]:
    return [
        (e.outcome, e.reason_code, e.resource_type, e.citizen_id)
        for e in AuditEntry.objects.filter(id__gt=before).order_by("id")
    ]


def _transaction(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": body, "request": {"method": "POST", "url": body["resourceType"]}}
            for body in resources
        ],
    }


def _by_cpr(body: dict[str, Any], cpr: str) -> dict[str, Any]:
    return {**body, "subject": {"identifier": {"system": bodies.CPR, "value": cpr}}}


@pytest.mark.parametrize("member", REFUSED_ROLES)
def test_r9_a_transaction_refused_for_the_role_is_on_the_log_of_each_citizen_it_names(
    world: World, member: str
) -> None:
    other = f.citizen()
    third = f.citizen()
    bundle = _transaction(
        bodies.diagnosis(world.person.pk),
        _by_cpr(bodies.diagnosis(other.pk), other.cpr),
        bodies.care_plan(world.person.pk),  # her again: still one entry on her log
        bodies.diagnosis(987654321),  # names nobody
        _by_cpr(bodies.diagnosis(third.pk), f.cpr_number()),  # a number of nobody's
        bodies.nursing_problem(third.pk),
    )
    before = _last_id()
    response = post(f.client_for(getattr(world, member)), "/fhir", bundle)
    assert response.status_code == 403
    assert _added(before) == [
        ("denied", "role_not_permitted", "", world.person.pk),
        ("denied", "role_not_permitted", "", other.pk),
        ("denied", "role_not_permitted", "", third.pk),
    ]
    # The answer is the same as for a Bundle naming no one registered.
    nobody = post(
        f.client_for(getattr(world, member)), "/fhir", _transaction(bodies.diagnosis(987654321))
    )
    assert (nobody.status_code, nobody.json()) == (403, response.json())


@pytest.mark.parametrize("member", REFUSED_ROLES)
@pytest.mark.parametrize("asked", ["one_value", "two_values", "post_form"])
def test_r9_a_patient_search_by_several_ids_refused_for_the_role_is_on_each_ones_log(
    world: World, member: str, asked: str
) -> None:
    other = f.citizen()
    client = f.client_for(getattr(world, member))
    before = _last_id()
    if asked == "one_value":
        response = client.get(f"/fhir/Patient?_id={world.person.pk},{other.pk},987654321")
    elif asked == "two_values":
        response = client.get(f"/fhir/Patient?_id={world.person.pk}&_id={other.pk}")
    else:
        response = client.post("/fhir/Patient/_search", {"_id": f"{world.person.pk},{other.pk}"})
    assert response.status_code == 403
    assert _added(before) == [
        ("denied", "role_not_permitted", "Patient", world.person.pk),
        ("denied", "role_not_permitted", "Patient", other.pk),
    ]


def test_r9_a_patient_search_by_one_id_refused_for_the_role_is_on_her_log(world: World) -> None:
    before = _last_id()
    response = f.client_for(world.analyst).get(f"/fhir/Patient?_id={world.person.pk}")
    assert response.status_code == 403
    assert _added(before) == [("denied", "role_not_permitted", "Patient", world.person.pk)]


def test_r9_a_patient_search_by_several_ids_with_an_unknown_purpose_is_on_each_ones_log(
    world: World,
) -> None:
    other = f.citizen()
    before = _last_id()
    response = f.client_for(world.nurse).get(
        f"/fhir/Patient?_id={world.person.pk},{other.pk}", **UNKNOWN_PURPOSE
    )
    assert response.status_code == 400
    assert _added(before) == [
        ("denied", "purpose_unknown", "Patient", world.person.pk),
        ("denied", "purpose_unknown", "Patient", other.pk),
    ]


# --- a transaction refused for one of its entries --------------------------------


def test_r9_a_transaction_the_gate_refuses_for_one_entry_is_on_each_citizens_log(
    world: World,
) -> None:
    """The nurse may write to her own citizen's record, not to another's: the
    whole transaction is refused at the other's entry, and her own citizen's
    log (and a third's, named after it) shows the attempt too."""
    other = f.citizen()
    third = f.citizen()
    bundle = _transaction(
        bodies.diagnosis(world.person.pk),
        bodies.diagnosis(other.pk),
        bodies.care_plan(third.pk),
    )
    before = _last_id()
    response = post(f.client_for(world.nurse), "/fhir", bundle)
    assert response.status_code in (403, 404)
    added = _added(before)
    assert next(a for a in added if a[3] == other.pk)[0] == "denied"
    assert [(a[0], a[1], a[2], a[3]) for a in added if a[3] != other.pk] == [
        ("denied", "bundle.entry_refused", "Bundle", world.person.pk),
        ("denied", "bundle.entry_refused", "Bundle", third.pk),
    ]
    told = AuditEntry.objects.get(id__gt=before, citizen_id=world.person.pk)
    assert told.detail["entry"] == "Bundle.entry[1]"


def test_r9_a_transaction_refused_by_r2_for_one_entry_is_on_each_citizens_log(
    world: World,
) -> None:
    other = f.citizen()
    bundle = _transaction(
        bodies.diagnosis(world.person.pk),
        bodies.diagnosis(other.pk, code="F32.1"),  # psychiatric: refused at the door (R2)
    )
    before = _last_id()
    response = post(f.client_for(world.nurse), "/fhir", bundle)
    assert response.status_code == 400
    assert _added(before) == [
        ("denied", "record.psychiatric_diagnosis", "Condition", other.pk),
        ("denied", "bundle.entry_refused", "Bundle", world.person.pk),
    ]
