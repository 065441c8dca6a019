"""R9/R5: a write refused for what it says is recorded on the log of the
citizen it names, with the reference read exactly as the resource itself is
read (``consent.fhir.datatypes.reference_id``): an absolute URL, a
``urn:uuid`` or a malformed reference names no citizen anywhere, and an id
no citizen has puts the attempt on no one's log."""

from __future__ import annotations

from typing import Any

import pytest

from consent.audit.models import AuditEntry
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, put

pytestmark = pytest.mark.django_db


def _added(before: int) -> list[tuple[str, str, int | None]]:
    return [
        (e.outcome, e.reason_code, e.citizen_id)
        for e in AuditEntry.objects.filter(id__gt=before).order_by("id")
    ]


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _inactive(body: dict[str, Any]) -> dict[str, Any]:
    """A Consent refused for what it says (not in force)."""
    return {**body, "status": "draft"}


@pytest.mark.parametrize(
    "reference",
    [
        "http://testserver/fhir/Patient/{id}",
        "https://elsewhere.example/fhir/Patient/{id}",
        "urn:uuid:2f3e0c1a-0000-4000-8000-000000000001",
        "Patient/{id}/_history/1",
        "Patient/ {id}",
    ],
)
def test_a_consent_naming_its_patient_other_than_patient_id_is_refused_as_a_condition_is(
    world: World, reference: str
) -> None:
    nurse = f.client_for(world.nurse)
    ref = {"reference": reference.format(id=world.person.pk)}
    before = _last_id()
    consent = post(nurse, "/fhir/Consent", {**bodies.refusal(world.person.pk), "patient": ref})
    condition = post(
        nurse, "/fhir/Condition", {**bodies.diagnosis(world.person.pk), "subject": ref}
    )
    assert consent.status_code == condition.status_code == 400
    assert issue_code(consent) == issue_code(condition) == "record.reference_invalid"
    assert consent.json()["issue"][0]["expression"] == ["patient"]
    # Neither names a citizen in a form the platform reads: no attempt on her log.
    assert not AuditEntry.objects.filter(id__gt=before, citizen_id=world.person.pk).exists()


def test_a_consent_refused_for_what_it_says_is_on_the_citizens_log(world: World) -> None:
    before = _last_id()
    response = post(
        f.client_for(world.nurse), "/fhir/Consent", _inactive(bodies.refusal(world.person.pk))
    )
    assert issue_code(response) == "consent.status_not_active"
    assert _added(before) == [("denied", "consent.status_not_active", world.person.pk)]


@pytest.mark.parametrize("patient_id", ["99999999", "99999999999999999999999"])
def test_a_refused_write_naming_no_citizen_is_on_no_ones_log(world: World, patient_id: str) -> None:
    """A refused record write named the id as given: an id no citizen has was
    kept as if it were one, and one past a bigint could not be recorded at all
    (400 ``audit.value_invalid`` instead of the refusal R2 gives)."""
    nurse = f.client_for(world.nurse)
    psychiatric = bodies.diagnosis(world.person.pk, code="F32.1")
    psychiatric["subject"] = {"reference": f"Patient/{patient_id}"}
    before = _last_id()
    refused = post(nurse, "/fhir/Condition", psychiatric)
    assert refused.status_code == 400
    assert issue_code(refused) == "record.psychiatric_diagnosis"
    consent = {**_inactive(bodies.refusal(world.person.pk)), "patient": psychiatric["subject"]}
    assert issue_code(post(nurse, "/fhir/Consent", consent)) == "consent.status_not_active"
    assert _added(before) == [
        ("denied", "record.psychiatric_diagnosis", None),
        ("denied", "consent.status_not_active", None),
    ]


def test_a_refused_write_naming_its_citizen_is_on_her_log(world: World) -> None:
    before = _last_id()
    response = post(
        f.client_for(world.nurse),
        "/fhir/Condition",
        bodies.diagnosis(world.person.pk, code="F32.1"),
    )
    assert issue_code(response) == "record.psychiatric_diagnosis"
    assert _added(before) == [("denied", "record.psychiatric_diagnosis", world.person.pk)]


def test_r9_an_update_refused_past_the_gate_is_on_her_log(world: World) -> None:
    """A nurse allowed to write the citizen's record sends an update that
    moves the diagnosis to another citizen, names no version, a version that
    is no number, or a stale one: each was refused and recorded nowhere,
    where a Patient update refused alike is on her log."""
    nurse = f.client_for(world.nurse)
    other = f.citizen()
    pk = world.diagnosis.pk
    url = f"/fhir/Condition/{pk}"
    body = {**bodies.diagnosis(world.person.pk), "id": str(pk)}
    sent = [
        ({**body, "subject": {"reference": f"Patient/{other.pk}"}}, 'W/"1"'),
        (body, None),
        (body, "*"),
        (body, 'W/"7"'),
    ]
    before = _last_id()
    codes = []
    for data, if_match in sent:
        headers = {"HTTP_IF_MATCH": if_match} if if_match else {}
        codes.append(issue_code(put(nurse, url, data, **headers)))
    assert codes == [
        "record.subject_changed",
        "record.version_required",
        "record.version_invalid",
        "record.version_conflict",
    ]
    assert _added(before) == [("denied", code, world.person.pk) for code in codes]
    assert not AuditEntry.objects.filter(id__gt=before, citizen_id=other.pk).exists()
    world.diagnosis.refresh_from_db()
    assert world.diagnosis.version_id == 1


# --- refused by role, the citizen named in the body (R9) -----------------------


def _bundle(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": body, "request": {"method": "POST", "url": "Condition"}}
            for body in conditions
        ],
    }


@pytest.mark.parametrize("member", ["medicine_officer", "auditor", "analyst", "administrator"])
def test_a_transaction_refused_for_the_role_is_on_the_log_of_the_citizen_it_names(
    world: World, member: str
) -> None:
    client = f.client_for(getattr(world, member))
    before = _last_id()
    response = post(client, "/fhir", _bundle(bodies.diagnosis(world.person.pk)))
    assert response.status_code == 403
    assert _added(before) == [("denied", "role_not_permitted", world.person.pk)]
    # Alike for a Bundle naming nobody registered, on no one's log.
    before = _last_id()
    nobody = post(client, "/fhir", _bundle(bodies.diagnosis(987654321)))
    assert (nobody.status_code, nobody.json()) == (403, response.json())
    assert _added(before) == [("denied", "role_not_permitted", None)]
    # Entries naming two citizens: on each one's log.
    other = f.citizen()
    before = _last_id()
    both = _bundle(bodies.diagnosis(world.person.pk), bodies.diagnosis(other.pk))
    assert post(client, "/fhir", both).status_code == 403
    assert _added(before) == [
        ("denied", "role_not_permitted", world.person.pk),
        ("denied", "role_not_permitted", other.pk),
    ]


@pytest.mark.parametrize(
    "member", ["nurse", "physician", "medicine_officer", "auditor", "analyst", "administrator"]
)
def test_a_registration_refused_for_the_role_is_on_the_log_of_the_citizen_its_number_names(
    world: World, member: str
) -> None:
    client = f.client_for(getattr(world, member))
    before = _last_id()
    response = post(client, "/fhir/Patient", bodies.patient(world.person.cpr))
    assert response.status_code == 403
    assert _added(before) == [("denied", "role_not_permitted", world.person.pk)]
    before = _last_id()
    nobody = post(client, "/fhir/Patient", bodies.patient(f.cpr_number()))
    assert (nobody.status_code, nobody.json()) == (403, response.json())
    assert _added(before) == [("denied", "role_not_permitted", None)]
