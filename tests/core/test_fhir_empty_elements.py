"""FHIR R4 ele-1 and ext-1 on every door that takes FHIR: an element holds a
value or elements of its own (``"maritalStatus": {}``, ``"coding": [{}]``,
``"_gender": {"id": "a"}`` without a gender are none), and an extension
holds either a value or extensions. The models take all of these, so a
diagnosis carrying an extension with its url alone was stored, shown and
shared as if it said something. Now each is refused as ``fhir.invalid``
naming the element, nothing written, the attempt on the citizen's log (R9);
a partner's message the same, as not valid FHIR."""

from __future__ import annotations

import json
from typing import Any

import pytest

from consent.audit.models import AuditEntry
from consent.models import RecordResource
from core.fhir.patient import patient_resource
from core.fhir.validation import empty_element
from core.models import Citizen
from integrations.models import InboundMessage, Partner
from integrations.simulators import shared_record_update
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, put, world  # noqa: F401
from tests.integrations.helpers import received_answer
from tests.integrations.medcom.conftest import citizen, hospital  # noqa: F401
from tests.integrations.medcom.peers import ack_parts, header_id, post_signed
from tests.integrations.medcom.test_hospital_notification import STIN, _example

ICD10 = "http://hl7.org/fhir/sid/icd-10"


def _empty_elements(world: World) -> list[tuple[str, str, str, dict[str, Any], str]]:  # noqa: F811
    """(who, method, path, body, the element refused)."""
    pid = world.person.pk
    diagnosis = bodies.diagnosis(pid)
    return [
        (
            "nurse",
            "POST",
            "/fhir/Condition",
            {**diagnosis, "extension": [{"url": "http://example.org/severity"}]},
            "Condition.extension[0]",
        ),
        (
            "nurse",
            "PUT",
            f"/fhir/Condition/{world.diagnosis.pk}",
            {**diagnosis, "code": {"coding": [{"system": ICD10, "code": "I10"}, {}]}},
            "Condition.code.coding[1]",
        ),
        (
            "nurse",
            "POST",
            "/fhir/",
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {
                        "resource": {**bodies.care_plan(pid), "category": [{}]},
                        "request": {"method": "POST", "url": "CarePlan"},
                    }
                ],
            },
            "Bundle.entry[0].resource.category[0]",
        ),
        (
            "coordinator",
            "POST",
            "/fhir/Patient",
            {**bodies.patient(f.cpr_number()), "maritalStatus": {}},
            "Patient.maritalStatus",
        ),
        (
            "coordinator",
            "POST",
            "/fhir/Patient",
            {
                **{k: v for k, v in bodies.patient(f.cpr_number()).items() if k != "gender"},
                "_gender": {"id": "g1"},
            },
            "Patient._gender",
        ),
    ]


@pytest.mark.django_db
def test_an_empty_element_or_a_valueless_extension_is_refused_on_every_fhir_write(
    world: World,  # noqa: F811
) -> None:
    clients = {"nurse": world.nurse, "coordinator": world.coordinator}
    version = world.diagnosis.version_id
    before = (RecordResource.objects.count(), Citizen.objects.count())
    for who, method, path, body, element in _empty_elements(world):
        client = f.client_for(clients[who])
        response = put(client, path, body) if method == "PUT" else post(client, path, body)
        assert response.status_code == 400, (element, response.content[:400])
        assert issue_code(response) == "fhir.invalid", element
        assert response.json()["issue"][0]["expression"] == [element]
        assert (
            "ele-1" in response.json()["issue"][0]["diagnostics"]
            or "ext-1" in (response.json()["issue"][0]["diagnostics"])
        )
    assert (RecordResource.objects.count(), Citizen.objects.count()) == before
    world.diagnosis.refresh_from_db()
    assert world.diagnosis.version_id == version


@pytest.mark.django_db
def test_r9_a_write_refused_for_an_empty_element_is_on_the_citizens_log(
    world: World,  # noqa: F811
) -> None:
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    body = {**bodies.diagnosis(world.person.pk), "extension": [{"url": "http://example.org/x"}]}
    post(f.client_for(world.nurse), "/fhir/Condition", body)
    added = [
        (e.outcome, e.reason_code, e.citizen_id, e.resource_type)
        for e in AuditEntry.objects.filter(id__gt=before).order_by("id")
    ]
    assert added == [("denied", "fhir.invalid", world.person.pk, "Condition")]


@pytest.mark.django_db
def test_an_id_beside_a_value_and_a_valued_extension_are_taken(
    world: World,  # noqa: F811
) -> None:
    body = {
        **bodies.diagnosis(world.person.pk),
        "_recordedDate": {"id": "d1"},
        "extension": [{"url": "http://example.org/severity", "valueString": "moderat"}],
    }
    response = post(f.client_for(world.nurse), "/fhir/Condition", body)
    assert response.status_code == 201, response.content[:400]


@pytest.mark.django_db
def test_a_message_with_a_valueless_extension_is_refused_as_not_valid_fhir(
    hospital,  # noqa: F811
    citizen,  # noqa: F811
) -> None:
    message = _example(STIN)
    encounter = next(
        e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == "Encounter"
    )
    encounter["extension"] = [{"url": "http://example.org/ward"}]
    status, body = post_signed(hospital, message)
    assert (status, ack_parts(body)[0]) == (400, "fatal-error")
    refused = InboundMessage.objects.get(header_id=header_id(message))
    assert refused.outcome == "fatal-error"
    assert "ext-1" in str(body)


# FHIR R4's JSON leaves out a repeating element with no item: an empty list
# is refused as an empty element is, wherever it sits (a concept's coding,
# the resource's own lists, a contained resource's). And FHIR R4's
# invariants between a Condition's elements (con-4, con-5) and an
# AllergyIntolerance's (ait-1, ait-2), which the models do not hold: a
# diagnosis abated and still active, or entered in error and still stating
# how the condition stands, was stored and shared as both. Each is refused
# alike on every door: create, update, a transaction's entry, and a
# partner's shared-record update.
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
IN_ERROR = {"coding": [{"system": VERIFICATION, "code": "entered-in-error"}]}
DOORS = ["create", "update", "transaction", "message"]


def _status(code: str) -> dict[str, Any]:
    return {"coding": [{"system": CLINICAL, "code": code}]}


def _goal() -> dict[str, Any]:
    return {
        "resourceType": "Goal",
        "id": "g1",
        "lifecycleStatus": "active",
        "description": {"text": "Selvhjulpen"},
        "subject": {"reference": "Patient/1"},
        "note": [],
    }


# (what is wrong, changes to a diagnosis, the element refused from the
# resource, the rule the diagnostics name)
REFUSED: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "empty coding",
        {"code": {"coding": [{"system": ICD10, "code": "I10"}]}, "bodySite": [{"coding": []}]},
        "bodySite[0].coding",
        "ele-1",
    ),
    ("empty identifier", {"identifier": []}, "identifier", "ele-1"),
    ("empty extension", {"extension": []}, "extension", "ele-1"),
    ("empty list in a contained resource", {"contained": [_goal()]}, "contained[0].note", "ele-1"),
    (
        "abated and active",
        {"abatementDateTime": "2025-06-01", "clinicalStatus": _status("active")},
        "clinicalStatus",
        "con-4",
    ),
    ("abated without a status", {"abatementString": "i bedring"}, "clinicalStatus", "con-4"),
    (
        "entered in error with a status",
        {"verificationStatus": IN_ERROR, "clinicalStatus": _status("active")},
        "clinicalStatus",
        "con-5",
    ),
]


def _diagnosis_for(world: World, change: dict[str, Any], door: str) -> dict[str, Any]:  # noqa: F811
    body = {**bodies.diagnosis(world.person.pk), **change}
    if door == "message":
        body.pop("subject")  # the message's Patient, as the update names it
    return body


def _sent(world: World, door: str, resource: dict[str, Any]) -> tuple[int, str, str, str]:  # noqa: F811
    """(status, the refusal's code, the element it names, its diagnostics)
    of ``resource`` sent through ``door``."""
    client = f.client_for(world.nurse)
    if door == "message":
        return _sent_in_message(world, [resource])
    if door == "create":
        response = post(client, "/fhir/Condition", resource)
    elif door == "update":
        world.diagnosis.refresh_from_db()
        response = put(
            client,
            f"/fhir/Condition/{world.diagnosis.pk}",
            resource,
            HTTP_IF_MATCH=f'W/"{world.diagnosis.version_id}"',
        )
    else:
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"resource": resource, "request": {"method": "POST", "url": "Condition"}}],
        }
        response = post(client, "/fhir/", bundle)
    if response.status_code < 400:
        return response.status_code, "", "", ""
    issue = response.json()["issue"][0]
    return (
        response.status_code,
        issue_code(response),
        (issue.get("expression") or [""])[0],
        issue["diagnostics"],
    )


def _sent_in_message(world: World, resources: list[dict[str, Any]]) -> tuple[int, str, str, str]:  # noqa: F811
    """A municipal record system's shared-record update carrying ``resources``."""
    partner = f.integration_partner(Partner.Kind.MUNICIPAL_RECORDS, f.municipality("157"))
    message = shared_record_update(
        sender_code=partner.code, patient=patient_resource(world.person), resources=resources
    )
    for entry in message["entry"]:
        if entry["resource"]["resourceType"] == "AllergyIntolerance":
            # An allergy names its citizen as patient, not subject.
            entry["resource"]["patient"] = entry["resource"].pop("subject")
    answer, code, issues = received_answer(partner, message)
    refused = InboundMessage.objects.get(bundle_id=message["id"])
    assert refused.outcome == code
    text = json.dumps(answer.body)
    return answer.status, (issues or [""])[0], "", text


def _place(door: str, element: str) -> str:
    if door == "transaction":
        return f"Bundle.entry[0].resource.{element}"
    return f"Condition.{element}"


@pytest.mark.django_db
@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(
    ("change", "element", "rule"),
    [pytest.param(c, e, r, id=name) for name, c, e, r in REFUSED],
)
def test_an_empty_list_or_a_broken_condition_invariant_is_refused_on_every_door(
    world: World,  # noqa: F811
    door: str,
    change: dict[str, Any],
    element: str,
    rule: str,
) -> None:
    version = world.diagnosis.version_id
    before = RecordResource.objects.count()
    status, code, place, diagnostics = _sent(world, door, _diagnosis_for(world, change, door))
    assert status == 400, diagnostics[:400]
    assert rule in diagnostics
    if door == "message":
        assert code == "message.invalid_fhir"
    else:
        assert code == "fhir.invalid"
        assert place == _place(door, element)
    assert RecordResource.objects.count() == before
    world.diagnosis.refresh_from_db()
    assert world.diagnosis.version_id == version


@pytest.mark.django_db
@pytest.mark.parametrize("door", DOORS)
def test_a_diagnosis_keeping_the_invariants_is_taken_on_every_door(
    world: World,  # noqa: F811
    door: str,
) -> None:
    """Resolved once abated; entered in error without a status; a problem-list
    item without a status (con-3 is a guideline in R4, not a rule)."""
    changes = [
        {"abatementDateTime": "2025-06-01", "clinicalStatus": _status("resolved")},
        {"verificationStatus": IN_ERROR, "clinicalStatus": None},
        {"clinicalStatus": None},
    ]
    for change in changes:
        body = {k: v for k, v in _diagnosis_for(world, change, door).items() if v is not None}
        status, _, _, diagnostics = _sent(world, door, body)
        assert status in (200, 201), (change, diagnostics[:400])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("allergy", "rule"),
    [
        pytest.param({}, "ait-1", id="no status"),
        pytest.param(
            {
                "verificationStatus": {
                    "coding": [{"system": ALLERGY_VERIFICATION, "code": "entered-in-error"}]
                },
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/"
                            "allergyintolerance-clinical",
                            "code": "active",
                        }
                    ]
                },
            },
            "ait-2",
            id="entered in error with a status",
        ),
    ],
)
def test_a_message_carrying_an_allergy_breaking_its_invariants_is_refused_as_not_valid_fhir(
    world: World,  # noqa: F811
    allergy: dict[str, Any],
    rule: str,
) -> None:
    resource = {
        "resourceType": "AllergyIntolerance",
        "code": {"text": "Penicillin"},
        **allergy,
    }
    before = RecordResource.objects.count()
    status, code, _, text = _sent_in_message(world, [resource])
    assert (status, code) == (400, "message.invalid_fhir")
    assert rule in text
    assert RecordResource.objects.count() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "rule"),
    [
        pytest.param({"identifier": []}, "ele-1", id="empty list"),
        pytest.param(
            {"verificationStatus": IN_ERROR, "clinicalStatus": _status("active")},
            "con-5",
            id="con-5",
        ),
    ],
)
def test_r9_a_write_refused_for_an_empty_list_or_an_invariant_is_on_the_citizens_log(
    world: World,  # noqa: F811
    change: dict[str, Any],
    rule: str,
) -> None:
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    body = {**bodies.diagnosis(world.person.pk), **change}
    response = post(f.client_for(world.nurse), "/fhir/Condition", body)
    assert rule in response.json()["issue"][0]["diagnostics"]
    added = [
        (e.outcome, e.reason_code, e.citizen_id, e.resource_type)
        for e in AuditEntry.objects.filter(id__gt=before).order_by("id")
    ]
    assert added == [("denied", "fhir.invalid", world.person.pk, "Condition")]


@pytest.mark.django_db
def test_what_the_platform_gives_back_holds_no_empty_list(
    world: World,  # noqa: F811
) -> None:
    """A client echoes a read back as an update: what it reads is what the
    platform itself takes."""
    nurse = f.client_for(world.nurse)
    reads = [
        nurse.get(f"/fhir/Condition/{world.diagnosis.pk}"),
        nurse.get(f"/fhir/Patient/{world.person.pk}"),
        nurse.get(f"/fhir/Condition?patient={world.person.pk}"),
        nurse.get(f"/fhir/Patient/{world.person.pk}/$everything"),
    ]
    for response in reads:
        assert response.status_code == 200, response.content[:300]
        assert empty_element(response.json()) == ("", ""), response.json()
