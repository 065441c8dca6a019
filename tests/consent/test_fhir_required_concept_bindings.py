"""FHIR R4's required bindings on CodeableConcept elements
(terminologies.html#required): ``Condition.clinicalStatus`` and
``Condition.verificationStatus`` carry a coding of their value set's code
system with one of its codes. A text alone ("active"), a SNOMED CT coding
alone, a coding with the system and no code, or a code the value set does
not hold is no FHIR: the models declare no codes for a CodeableConcept, so
such a diagnosis was stored, shown and shared with a status no reader can
rely on (is it resolved?). Every door that writes FHIR now refuses it with
``fhir.coding_outside_value_set`` naming the element, the system and its
codes, writes nothing and records the attempt on the citizen's log (R9).
"""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from consent.audit.models import AuditEntry
from consent.models import RecordResource
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, put, world  # noqa: F401

pytestmark = pytest.mark.django_db

CODE = "fhir.coding_outside_value_set"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
SNOMED = "http://snomed.info/sct"


def _status(*codings: dict[str, Any], text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": list(codings)} if codings else {}
    if text is not None:
        concept["text"] = text
    return concept


# Each a clinicalStatus no reader can rely on.
NOT_OF_THE_VALUE_SET = {
    "text-only": _status(text="active"),
    "another-system-only": _status({"system": SNOMED, "code": "55561003"}),
    "system-without-code": _status({"system": CLINICAL}),
    "code-outside": _status({"system": CLINICAL, "code": "xx"}),
    "code-without-system": _status({"code": "active"}),
}


def _diagnosis(world: World, **changes: Any) -> dict[str, Any]:  # noqa: F811
    return {**bodies.diagnosis(world.person.pk), **changes}


def _refused(response: Any, element: str, system: str) -> None:
    assert response.status_code == 400, response.content[:400]
    assert response["Content-Type"].startswith("application/fhir+json")
    OperationOutcome.model_validate(response.json())
    assert issue_code(response) == CODE
    issue = response.json()["issue"][0]
    assert issue["expression"] == [element], issue
    text = issue["details"]["text"]
    assert system in text and "resolved" in text and "intet blev gemt" in text, text


@pytest.mark.parametrize("status", NOT_OF_THE_VALUE_SET.values(), ids=NOT_OF_THE_VALUE_SET)
def test_a_diagnosis_whose_clinical_status_is_no_code_of_its_value_set_is_refused(
    world: World,  # noqa: F811
    status: dict[str, Any],
) -> None:
    before = RecordResource.objects.count()
    nurse = f.client_for(world.nurse)
    response = post(nurse, "/fhir/Condition", _diagnosis(world, clinicalStatus=status))
    _refused(response, "Condition.clinicalStatus", CLINICAL)
    assert RecordResource.objects.count() == before


def test_a_verification_status_outside_its_value_set_is_refused_on_update(
    world: World,  # noqa: F811
) -> None:
    version = world.diagnosis.version_id
    body = _diagnosis(world, verificationStatus=_status(text="bekræftet"))
    response = put(f.client_for(world.nurse), f"/fhir/Condition/{world.diagnosis.pk}", body)
    assert response.status_code == 400, response.content[:400]
    assert issue_code(response) == CODE
    assert response.json()["issue"][0]["expression"] == ["Condition.verificationStatus"]
    assert VERIFICATION in response.json()["issue"][0]["details"]["text"]
    world.diagnosis.refresh_from_db()
    assert world.diagnosis.version_id == version


def test_a_transaction_entry_and_a_contained_condition_are_held_to_it_too(
    world: World,  # noqa: F811
) -> None:
    pid = world.person.pk
    nurse = f.client_for(world.nurse)
    before = RecordResource.objects.count()
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
            for r in (bodies.care_plan(pid), _diagnosis(world, clinicalStatus=_status(text="x")))
        ],
    }
    response = post(nurse, "/fhir/", bundle)
    assert response.status_code == 400, response.content[:400]
    assert issue_code(response) == CODE
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[1].resource.clinicalStatus"]
    plan = {
        **bodies.care_plan(pid),
        "contained": [
            {
                "resourceType": "Condition",
                "id": "c1",
                "clinicalStatus": _status({"system": SNOMED, "code": "55561003"}),
                "code": {"text": "Tryksår"},
                "subject": {"reference": f"Patient/{pid}"},
            }
        ],
        "addresses": [{"reference": "#c1"}],
    }
    response = post(nurse, "/fhir/CarePlan", plan)
    _refused(response, "CarePlan.contained[0].clinicalStatus", CLINICAL)
    assert RecordResource.objects.count() == before


def test_r9_a_write_refused_for_a_status_coding_is_on_the_citizens_log(
    world: World,  # noqa: F811
) -> None:
    nurse = f.client_for(world.nurse)
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    post(nurse, "/fhir/Condition", _diagnosis(world, clinicalStatus=_status(text="active")))
    put(
        nurse,
        f"/fhir/Condition/{world.diagnosis.pk}",
        _diagnosis(world, clinicalStatus=_status(text="active")),
    )
    added = [
        (e.outcome, e.reason_code, e.citizen_id, e.resource_type)
        for e in AuditEntry.objects.filter(id__gt=before).order_by("id")
    ]
    assert added == [
        ("denied", CODE, world.person.pk, "Condition"),
        ("denied", CODE, world.person.pk, "Condition"),
    ]


def test_a_coding_of_the_value_set_beside_others_is_taken(world: World) -> None:  # noqa: F811
    """One coding of the value set is enough: a SNOMED CT coding and a text
    beside it are kept, as FHIR allows."""
    status = _status(
        {"system": SNOMED, "code": "55561003"},
        {"system": CLINICAL, "code": "remission"},
        text="i remission",
    )
    verification = _status({"system": VERIFICATION, "code": "provisional"})
    response = post(
        f.client_for(world.nurse),
        "/fhir/Condition",
        _diagnosis(world, clinicalStatus=status, verificationStatus=verification),
    )
    assert response.status_code == 201, response.content[:400]
    assert response.json()["clinicalStatus"] == status
    assert response.json()["verificationStatus"] == verification
