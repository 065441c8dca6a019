"""R2 beyond the codes: what a resource may carry beside its permitted data.
A hospital contact is the department, period, class and status — nothing in
an extension, no class of another system; municipal help is only the permitted
services, every one of them; a record resource contains only the conditions
and goals it addresses; and a CPR number names the citizen in the subject
only. Refused at every door that writes (POST, PUT, transaction), audited,
nothing written."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from consent.audit.models import AuditEntry
from consent.models import RecordResource, RecordVersion
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, post, put

ICD10 = bodies.ICD10
SERVICE = "urn:tvaerakut:municipal-service"
CPR = "urn:oid:1.2.208.176.1.2"


def _refused(response: Any, code: str, expression: str) -> None:
    assert response.status_code == 400, response.content
    issue = response.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == code, issue
    assert [c["code"] for c in issue["details"]["coding"][1:]] == ["R2"], issue
    # Danish (no Accept-Language); in a transaction, after the entry it is in.
    assert "R2 (kun tilladte data): " in issue["diagnostics"], issue
    assert issue["expression"] == [expression], issue


def _contact(world: World, **change: Any) -> dict[str, Any]:
    return {**bodies.hospital_contact(world.person.pk, world.department.pk), **change}


def _somatic_reason() -> dict[str, Any]:
    return {"coding": [{"system": ICD10, "code": "I21.9"}]}


CONTACTS = [
    # The reason for the contact, as an extension: a diagnosis beside the count.
    (
        lambda w: _contact(
            w,
            extension=[
                {"url": "http://example.org/reason", "valueCodeableConcept": _somatic_reason()}
            ],
        ),
        "Encounter.extension[0]",
    ),
    (
        lambda w: _contact(
            w, extension=[{"url": "http://example.org/note", "valueString": "Indlagt pga. fald"}]
        ),
        "Encounter.extension[0]",
    ),
    # On an element the contact may hold.
    (
        lambda w: _contact(
            w,
            period={
                "start": "2025-06-01",
                "extension": [
                    {"url": "http://example.org/reason", "valueCodeableConcept": _somatic_reason()}
                ],
            },
        ),
        "Encounter.period.extension",
    ),
    # A class that is a diagnosis code, not the kind of contact.
    (lambda w: _contact(w, **{"class": {"system": ICD10, "code": "I21"}}), "Encounter.class"),
]


@pytest.mark.parametrize(("make", "expression"), CONTACTS)
def test_r2_a_hospital_contact_carries_nothing_beside_department_period_class(
    world: World, make: Any, expression: str
) -> None:
    client = f.client_for(world.nurse)
    before = RecordResource.objects.count()
    response = post(client, "/fhir/Encounter", make(world))
    _refused(response, "record.contact_detail_not_permitted", expression)
    assert RecordResource.objects.count() == before
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk, outcome="denied").latest("id")
    assert (entry.action, entry.reason_code) == ("create", "record.contact_detail_not_permitted")


def test_r2_a_plain_hospital_contact_is_still_taken(world: World) -> None:
    client = f.client_for(world.nurse)
    contact = _contact(world)
    contact["class"]["system"] = "https://terminology.hl7.org/CodeSystem/v3-ActCode"
    assert post(client, "/fhir/Encounter", contact).status_code == 201


@pytest.mark.parametrize(
    ("types", "expression"),
    [
        # A second service beside a permitted one.
        (
            [
                {"coding": [{"system": SERVICE, "code": "home-nursing"}]},
                {"coding": [{"system": SERVICE, "code": "social-psychiatry"}]},
            ],
            "EpisodeOfCare.type[1]",
        ),
        (
            [
                {
                    "coding": [
                        {"system": SERVICE, "code": "home-nursing"},
                        {"system": SERVICE, "code": "social-psychiatry"},
                    ]
                }
            ],
            "EpisodeOfCare.type[0]",
        ),
        # A help of another system only (the Social Services Act's § 85 support).
        (
            [
                {"coding": [{"system": SERVICE, "code": "home-help"}]},
                {"coding": [{"system": "http://example.org/fsiii", "code": "SEL-85"}]},
            ],
            "EpisodeOfCare.type[1]",
        ),
    ],
)
def test_r2_municipal_help_is_only_the_permitted_services(
    world: World, types: list[dict[str, Any]], expression: str
) -> None:
    body = bodies.municipal_help(world.person.pk, org_id=world.home.pk)
    body["type"] = types
    before = RecordResource.objects.count()
    response = post(f.client_for(world.nurse), "/fhir/EpisodeOfCare", body)
    _refused(response, "record.service_not_permitted", expression)
    assert RecordResource.objects.count() == before


def test_r2_a_permitted_service_may_carry_its_own_coding_beside(world: World) -> None:
    body = bodies.municipal_help(world.person.pk, org_id=world.home.pk)
    body["type"][0]["coding"].append({"system": "http://example.org/fsiii", "code": "hjsy"})
    assert post(f.client_for(world.nurse), "/fhir/EpisodeOfCare", body).status_code == 201


@pytest.mark.parametrize(
    "contained",
    [
        {
            "resourceType": "MedicationRequest",
            "id": "m",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "#p"},
            "medicationCodeableConcept": {
                "coding": [{"system": "http://www.whocc.no/atc", "code": "N06AB06"}]
            },
        },
        {
            "resourceType": "Observation",
            "id": "o",
            "status": "final",
            "code": {"text": "PHQ-9"},
            "valueInteger": 22,
        },
        # A relative, the citizen herself: persons other than staff.
        {"resourceType": "RelatedPerson", "id": "r", "patient": {"reference": "Patient/1"}},
        {"resourceType": "Patient", "id": "p", "name": [{"family": "Hansen"}]},
    ],
)
def test_r2_a_record_resource_contains_only_what_it_addresses(
    world: World, contained: dict[str, Any]
) -> None:
    plan = {**bodies.care_plan(world.person.pk), "contained": [contained]}
    before = RecordResource.objects.count()
    response = post(f.client_for(world.nurse), "/fhir/CarePlan", plan)
    _refused(response, "record.contained_not_permitted", "CarePlan.contained[0]")
    assert RecordResource.objects.count() == before


def test_r2_a_plan_still_contains_what_it_addresses_and_who_wrote_it(world: World) -> None:
    pid = world.person.pk
    plan = {
        **bodies.care_plan(pid),
        "contained": [
            {"resourceType": "Condition", "id": "c", "subject": {"reference": f"Patient/{pid}"}},
            {
                "resourceType": "Goal",
                "id": "g",
                "lifecycleStatus": "active",
                "description": {"text": "Sår helet"},
                "subject": {"reference": f"Patient/{pid}"},
            },
        ],
        "addresses": [{"reference": "#c"}],
        "goal": [{"reference": "#g"}],
    }
    # Who wrote it is staff, not the citizen.
    plan["contained"].append(
        {"resourceType": "Practitioner", "id": "a", "name": [{"family": "Hansen"}]}
    )
    plan["author"] = {"reference": "#a"}
    assert post(f.client_for(world.nurse), "/fhir/CarePlan", plan).status_code == 201


def test_r2_a_cpr_number_names_the_citizen_in_the_subject_only(world: World) -> None:
    """A CPR number elsewhere in a resource would be stored and shown to every
    reader of the record; in the subject it is resolved to the citizen."""
    client = f.client_for(world.nurse)
    cpr = str(world.person.cpr)
    by_cpr = bodies.care_plan(world.person.pk)
    by_cpr["subject"] = {"identifier": {"system": CPR, "value": cpr}}
    assert post(client, "/fhir/CarePlan", by_cpr).status_code == 201
    before = RecordResource.objects.count()
    contained = {
        **bodies.care_plan(world.person.pk),
        "contained": [
            {
                "resourceType": "Goal",
                "id": "g",
                "lifecycleStatus": "active",
                "description": {"text": "Tryg i eget hjem"},
                "subject": {"identifier": {"system": CPR, "value": "0101011234"}},
            }
        ],
    }
    response = post(client, "/fhir/CarePlan", contained)
    _refused(response, "record.cpr_not_permitted", "CarePlan.contained[0].subject.identifier")
    assert "0101011234" not in response.content.decode()
    author = {
        **bodies.care_plan(world.person.pk),
        "author": {"identifier": {"system": f" {CPR} ", "value": "0101011234"}},
    }
    _refused(
        post(client, "/fhir/CarePlan", author),
        "record.cpr_not_permitted",
        "CarePlan.author.identifier",
    )
    assert RecordResource.objects.count() == before


def test_r2_elements_are_refused_on_update_and_in_a_transaction(world: World) -> None:
    client = f.client_for(world.nurse)
    created = post(client, "/fhir/Encounter", _contact(world))
    assert created.status_code == 201, created.content
    rid = created.json()["id"]
    changed = copy.deepcopy(created.json())
    changed["extension"].append(
        {"url": "http://example.org/reason", "valueCodeableConcept": _somatic_reason()}
    )
    response = put(client, f"/fhir/Encounter/{rid}", changed, HTTP_IF_MATCH='W/"1"')
    _refused(response, "record.contact_detail_not_permitted", "Encounter.extension[0]")
    assert RecordVersion.objects.filter(resource_id=int(rid)).count() == 1
    # The refused update is on the citizen's trail, naming the resource (R9).
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk, outcome="denied").latest("id")
    assert (entry.action, entry.resource_type, entry.resource_id) == ("update", "Encounter", rid)

    before = RecordResource.objects.count()
    plan = bodies.care_plan(world.person.pk)
    help_ = bodies.municipal_help(world.person.pk, org_id=world.home.pk)
    help_["type"].append({"coding": [{"system": SERVICE, "code": "social-psychiatry"}]})
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": plan, "request": {"method": "POST", "url": "CarePlan"}},
            {"resource": help_, "request": {"method": "POST", "url": "EpisodeOfCare"}},
        ],
    }
    response = post(client, "/fhir/", bundle)
    _refused(response, "record.service_not_permitted", "Bundle.entry[1].resource.type[1]")
    assert RecordResource.objects.count() == before


@pytest.mark.parametrize(
    ("system", "code"),
    [
        # A code pasted from a document: a zero-width non-joiner or joiner, a
        # soft hyphen (a zero-width space is refused at the door).
        ("urn:oid:1.2.208.176.2.4", "\u200cDF321"),
        ("urn:oid:1.2.208.176.2.4.12", "D\u00adF32"),
        (ICD10, "F\u200d32.1"),
        # A full-width letter is the letter.
        ("urn:oid:1.2.208.176.2.4", "\uff24\uff26321"),
        (ICD10, "\uff2632"),
        # The system as a canonical with its version.
        ("http://hl7.org/fhir/sid/icd-10|2019", "F32"),
        ("urn:oid:1.2.208.176.2.4|2024", "DF321"),
    ],
)
def test_r2_a_psychiatric_code_is_judged_as_the_reader_sees_it(
    world: World, system: str, code: str
) -> None:
    """Beside a somatic code (so the resource is otherwise acceptable), and as
    a nursing problem's only coding: refused as psychiatric either way."""
    client = f.client_for(world.nurse)
    before = RecordResource.objects.count()
    diagnosis = bodies.diagnosis(world.person.pk, code="I10")
    diagnosis["code"]["coding"].append({"system": system, "code": code})
    _refused(
        post(client, "/fhir/Condition", diagnosis),
        "record.psychiatric_diagnosis",
        "Condition.code.coding[1]",
    )
    problem = bodies.nursing_problem(world.person.pk)
    problem["code"]["coding"] = [{"system": system, "code": code}]
    _refused(
        post(client, "/fhir/Condition", problem),
        "record.psychiatric_diagnosis",
        "Condition.code.coding[0]",
    )
    assert RecordResource.objects.count() == before


def test_r2_an_sks_code_not_shaped_as_one_cannot_be_judged(world: World) -> None:
    diagnosis = bodies.diagnosis(world.person.pk, code="I10")
    diagnosis["code"]["coding"].append({"system": "urn:oid:1.2.208.176.2.4", "code": "+DF32"})
    _refused(
        post(f.client_for(world.nurse), "/fhir/Condition", diagnosis),
        "record.diagnosis_code_invalid",
        "Condition.code.coding[1]",
    )


def test_r2_a_versioned_icd10_system_is_stored_as_icd10(world: World) -> None:
    diagnosis = bodies.diagnosis(world.person.pk, code="i10", system=f"{ICD10}|2019")
    response = post(f.client_for(world.nurse), "/fhir/Condition", diagnosis)
    assert response.status_code == 201, response.content
    stored = RecordResource.objects.get(pk=int(response.json()["id"]))
    assert (stored.code_system, stored.code) == (ICD10, "I10")
