"""Shared-record updates from a municipality's care record system (EOJ), over
real HTTP from its simulator."""

from __future__ import annotations

import json

import pytest

from consent.models import RecordResource
from core.fhir.patient import patient_resource
from integrations.simulators import shared_record_update
from tests import factories as f
from tests.integrations.helpers import ack_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_r2_a_psychiatric_diagnosis_from_a_municipal_record_system_is_refused(live_network) -> None:
    citizen = f.citizen()
    sim = live_network.sims["eoj"]
    condition = {
        "resourceType": "Condition",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "F32.1"}]},
    }
    [reply] = sim.send(
        shared_record_update(
            sender_code=sim.code, patient=patient_resource(citizen), resources=[condition]
        )
    )
    code, _, outcome = ack_of(reply)
    assert code == "fatal-error"
    assert "R2" in json.dumps(outcome) or "psychiatric" in json.dumps(outcome).lower()


def _somatic_condition(code: str = "I50.9", tags: list[dict[str, str]] | None = None) -> dict:
    condition: dict = {
        "resourceType": "Condition",
        "id": "eoj-condition-17",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": code}]},
    }
    if tags is not None:
        condition["meta"] = {"versionId": "eoj-9", "tag": tags}
    return condition


def test_a_municipal_record_update_is_loaded_with_its_categories(live_network) -> None:
    """The sender's ids and versions are dropped, its data category is kept,
    and a type held under one category only gets that category."""
    citizen = f.citizen()
    sim = live_network.sims["eoj"]
    somatic = _somatic_condition(
        tags=[{"system": "urn:tvaerakut:data-category", "code": "somatic-diagnosis"}]
    )
    municipal_help = {
        "resourceType": "EpisodeOfCare",
        "id": "eoj-help-3",
        "meta": {"versionId": "eoj-2"},
        "status": "active",
        "type": [
            {"coding": [{"system": "urn:tvaerakut:municipal-service", "code": "home-nursing"}]}
        ],
    }
    [reply] = sim.send(
        shared_record_update(
            sender_code=sim.code,
            patient=patient_resource(citizen),
            resources=[somatic, municipal_help],
        )
    )
    code, _, outcome = ack_of(reply)
    assert code == "ok", outcome
    stored = RecordResource.objects.filter(citizen=citizen)
    assert sorted(stored.values_list("category", flat=True)) == [
        "municipal-help",
        "somatic-diagnosis",
    ]
    assert all("eoj" not in json.dumps(r.body) for r in stored)


def test_an_untagged_condition_from_a_municipal_record_is_refused_whole(live_network) -> None:
    """A Condition may be a diagnosis or a nursing problem: without its category
    nothing of the message is written."""
    citizen = f.citizen()
    sim = live_network.sims["eoj"]
    tagged = _somatic_condition(
        tags=[{"system": "urn:tvaerakut:data-category", "code": "somatic-diagnosis"}]
    )
    [reply] = sim.send(
        shared_record_update(
            sender_code=sim.code,
            patient=patient_resource(citizen),
            resources=[tagged, _somatic_condition("J18.9")],
        )
    )
    code, _, outcome = ack_of(reply)
    assert code == "fatal-error"
    assert "record.category_missing" in json.dumps(outcome)
    assert not RecordResource.objects.filter(citizen=citizen).exists()


@pytest.mark.parametrize(
    ("target", "refusal"),
    [
        # The sender's Encounter, which the message does not carry.
        ("Encounter/424242", "record.reference_unresolved"),
        ("http://127.0.0.1/fhir/Encounter/424242", "fhir.reference_unknown"),
    ],
    ids=["relative", "ours"],
)
def test_a_municipal_record_update_naming_a_resource_not_held_is_refused_whole(
    live_network, target: str, refusal: str
) -> None:
    """The record resources of a message are written as a transaction is:
    one naming a resource of this platform (by its URL) that it does not
    hold is refused (``fhir.reference_unknown``), and one naming by a
    relative reference what the message does not carry is refused too
    (``record.reference_unresolved``); nothing is stored pointing at nothing."""
    citizen = f.citizen()
    sim = live_network.sims["eoj"]
    condition = _somatic_condition(
        tags=[{"system": "urn:tvaerakut:data-category", "code": "somatic-diagnosis"}]
    )
    condition["encounter"] = {"reference": target}
    [reply] = sim.send(
        shared_record_update(
            sender_code=sim.code, patient=patient_resource(citizen), resources=[condition]
        )
    )
    code, _, outcome = ack_of(reply)
    assert code == "fatal-error"
    assert refusal in json.dumps(outcome)
    assert not RecordResource.objects.filter(citizen=citizen).exists()


def test_r2_data_outside_the_categories_in_a_municipal_record_update_is_refused_not_dropped(
    live_network,
) -> None:
    """A medication or an allergy beside a diagnosis is outside the permitted
    categories: the message is refused naming R2, and nothing of it is written —
    the sender is never told "ok" for data the record did not take."""
    citizen = f.citizen()
    sim = live_network.sims["eoj"]
    somatic = _somatic_condition(
        tags=[{"system": "urn:tvaerakut:data-category", "code": "somatic-diagnosis"}]
    )
    medication = {
        "resourceType": "MedicationStatement",
        "status": "active",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.whocc.no/atc", "code": "N06AB06"}]
        },
        "subject": {"reference": "urn:uuid:00000000-0000-0000-0000-000000000001"},
    }
    [reply] = sim.send(
        shared_record_update(
            sender_code=sim.code,
            patient=patient_resource(citizen),
            resources=[somatic, medication],
        )
    )
    code, _, outcome = ack_of(reply)
    assert code == "fatal-error", outcome
    assert "record.type_not_permitted" in json.dumps(outcome)
    assert "R2" in json.dumps(outcome)
    assert not RecordResource.objects.filter(citizen=citizen).exists()


def _tagged(resource: dict, category: str) -> dict:
    return {
        **resource,
        "meta": {"tag": [{"system": "urn:tvaerakut:data-category", "code": category}]},
    }


@pytest.mark.parametrize(
    "subject",
    [
        # Another citizen of the sender's, by her CPR number.
        "other_cpr",
        # Another Patient the message does not carry.
        {"reference": "urn:uuid:5f1d3c1e-0000-4000-8000-000000000042"},
        {"reference": "Patient/eoj-relative-7"},
    ],
)
def test_a_record_resource_about_someone_else_is_not_filed_under_the_citizen(
    live_network, subject
) -> None:
    """The update is about the message's Patient: a diagnosis whose subject
    names someone else (a relative, another citizen) is refused with the
    message, never filed under her — and the other citizen gets nothing either."""
    citizen = f.citizen()
    other = f.citizen()
    if subject == "other_cpr":
        subject = {"identifier": {"system": "urn:oid:1.2.208.176.1.2", "value": other.cpr}}
    sim = live_network.sims["eoj"]
    own = _somatic_condition(
        tags=[{"system": "urn:tvaerakut:data-category", "code": "somatic-diagnosis"}]
    )
    theirs = {**_somatic_condition("C34.9"), "subject": subject}
    theirs = _tagged(theirs, "somatic-diagnosis")
    [reply] = sim.send(
        shared_record_update(
            sender_code=sim.code, patient=patient_resource(citizen), resources=[own, theirs]
        )
    )
    code, _, outcome = ack_of(reply)
    assert code == "fatal-error", outcome
    assert "record.subject_not_message_patient" in json.dumps(outcome)
    # The MessageHeader, the sender, the citizen's own diagnosis, then this one.
    assert "Bundle.entry[3].resource.subject" in json.dumps(outcome)
    assert other.cpr not in json.dumps(outcome)
    assert not RecordResource.objects.filter(citizen__in=[citizen, other]).exists()


def test_a_record_resource_naming_the_citizen_by_her_cpr_number_is_hers(live_network) -> None:
    citizen = f.citizen()
    sim = live_network.sims["eoj"]
    condition = _somatic_condition(
        tags=[{"system": "urn:tvaerakut:data-category", "code": "somatic-diagnosis"}]
    )
    condition["subject"] = {
        "identifier": {"system": "urn:oid:1.2.208.176.1.2", "value": citizen.cpr}
    }
    [reply] = sim.send(
        shared_record_update(
            sender_code=sim.code, patient=patient_resource(citizen), resources=[condition]
        )
    )
    code, _, outcome = ack_of(reply)
    assert code == "ok", outcome
    stored = RecordResource.objects.get(citizen=citizen)
    assert citizen.cpr not in json.dumps(stored.body)


def test_r2_a_municipal_plan_naming_a_medicine_or_a_contact_with_a_reason_is_refused(
    live_network,
) -> None:
    """What rides along with permitted data is judged at the partner door as
    at /fhir/: a plan's medicine, a contact's department display."""
    citizen = f.citizen()
    department = f.medcom_identified(f.hospital_department())
    sim = live_network.sims["eoj"]
    plan = {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "activity": [
            {"detail": {"status": "in-progress", "productCodeableConcept": {"text": "Olanzapin"}}}
        ],
    }
    # The department as the message carries it: by its SOR code.
    unit = {
        "resourceType": "Organization",
        "id": "5e0c2b1a-6f43-4c5e-9d1e-3a7b8c9d0e1f",
        "identifier": [{"system": "urn:oid:1.2.208.176.1.1", "value": department.sor_code}],
        "name": department.name,
    }
    contact = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "serviceProvider": {
            "reference": f"urn:uuid:{unit['id']}",
            "display": "Psykiatrisk afsnit",
        },
        "period": {"start": "2025-06-01"},
    }
    for resource, carried, refusal in (
        (plan, None, "record.medication_not_permitted"),
        (contact, unit, "record.contact_detail_not_permitted"),
    ):
        message = shared_record_update(
            sender_code=sim.code, patient=patient_resource(citizen), resources=[resource]
        )
        if carried is not None:
            message["entry"].insert(1, {"fullUrl": f"urn:uuid:{unit['id']}", "resource": unit})
        [reply] = sim.send(message)
        code, _, outcome = ack_of(reply)
        assert code == "fatal-error", outcome
        assert refusal in json.dumps(outcome)
        assert "R2" in json.dumps(outcome)
    assert not RecordResource.objects.filter(citizen=citizen).exists()


def test_r2_a_psychiatric_diagnosis_under_an_sks_sub_system_in_a_municipal_update_is_refused(
    live_network,
) -> None:
    """SKS codes are sent under the SKS root and its sub-systems
    (urn:oid:1.2.208.176.2.4.<n>): a DF… under any of them is chapter F, as
    the code or as the evidence of a somatic diagnosis, and nothing of the
    message is written."""
    citizen = f.citizen()
    sim = live_network.sims["eoj"]
    tags = [{"system": "urn:tvaerakut:data-category", "code": "somatic-diagnosis"}]
    sks = {"system": "urn:oid:1.2.208.176.2.4.13", "code": "DF32"}
    as_evidence = {**_somatic_condition(tags=tags), "evidence": [{"code": [{"coding": [sks]}]}]}
    as_code = _somatic_condition(tags=tags)
    as_code["code"]["coding"].append(sks)
    for condition in (as_evidence, as_code):
        [reply] = sim.send(
            shared_record_update(
                sender_code=sim.code, patient=patient_resource(citizen), resources=[condition]
            )
        )
        code, _, outcome = ack_of(reply)
        assert code == "fatal-error", outcome
        assert "record.psychiatric_diagnosis" in json.dumps(outcome)
        assert not RecordResource.objects.filter(citizen=citizen).exists()
