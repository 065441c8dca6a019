"""The MedCom envelope and Acknowledgement the platform builds keep MedCom's
rules (checked by the validator read from MedCom's FSH)."""

from __future__ import annotations

import uuid

import pytest

from core.models import Organisation
from integrations.medcom import envelope
from integrations.medcom.envelope import AckCode, Issue, MedComEvent
from integrations.medcom.validation import validate_message, validator
from tests import factories as f

pytestmark = pytest.mark.django_db

ENDPOINT = "https://sor2.sum.dsdn.dk/#id=265161000016000"


def _orgs() -> tuple[Organisation, Organisation]:
    acute = f.acute_function()
    acute.sor_code, acute.ean = "1234561000016001", "5790001382445"
    acute.save(update_fields=["sor_code", "ean"])
    hospital = f.organisation(
        Organisation.Kind.HOSPITAL,
        "Herlev Hospital",
        sor_code="265161000016000",
        ean="5790000209354",
    )
    return acute, hospital


def _resources(bundle, kind):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_the_patient_follows_dk_core_and_medcom_core():
    citizen = f.citizen(municipality_code="157")
    patient = envelope.patient(citizen)
    assert validator().validate(patient, "medcom-core-patient", "Patient") == []
    assert patient["identifier"] == [
        {"use": "official", "system": "urn:oid:1.2.208.176.1.2", "value": citizen.cpr}
    ]
    assert patient["name"][0]["use"] == "official"
    extension = patient["address"][0]["extension"][0]
    assert (
        extension["url"] == "http://hl7.dk/fhir/core/StructureDefinition/dk-core-municipalityCodes"
    )
    assert extension["valueCodeableConcept"]["coding"][0] == {
        "system": "http://hl7.dk/fhir/core/CodeSystem/dk-core-municipality-codes",
        "code": "0157",
    }
    assert patient["text"]["status"] == "generated"


def test_a_message_keeps_the_envelope_rules():
    acute, hospital = _orgs()
    citizen = f.citizen()
    bundle = envelope.message(
        event=MedComEvent.EMPTY,
        sender=acute,
        receiver=hospital,
        receiver_endpoint=ENDPOINT,
        sender_endpoint="https://sor2.sum.dsdn.dk/#id=1234561000016001",
        supporting=[envelope.patient(citizen)],
    )
    assert validate_message(bundle) == []
    uuid.UUID(bundle["id"])
    assert all(
        entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}" for entry in bundle["entry"]
    )
    header = bundle["entry"][0]["resource"]
    assert header["eventCoding"]["system"].endswith("medcom-messaging-eventCodes")
    assert header["destination"][0]["extension"][0]["valueCoding"]["code"] == "primary"
    (provenance,) = _resources(bundle, "Provenance")
    assert (
        provenance["occurredDateTime"]
        and provenance["activity"]["coding"][0]["code"] == "new-message"
    )
    for organization in _resources(bundle, "Organization"):
        assert {i["system"] for i in organization["identifier"]} == {
            "urn:oid:1.2.208.176.1.1",
            "http://www.gs1.org/gln",
        }
        assert organization["text"]["div"]


def test_an_organisation_without_ean_would_break_the_rules():
    acute, hospital = _orgs()
    hospital.ean = None
    hospital.save(update_fields=["ean"])
    bundle = envelope.message(
        event=MedComEvent.EMPTY,
        sender=acute,
        receiver=hospital,
        receiver_endpoint=ENDPOINT,
        sender_endpoint=ENDPOINT,
    )
    assert ("medcom-messaging-organization", "identifier[EAN-ID]", "cardinality") in {
        (v.profile, v.path, v.rule) for v in validate_message(bundle)
    }


@pytest.mark.parametrize("code", [AckCode.OK, AckCode.TRANSIENT, AckCode.FATAL])
def test_acknowledgements_keep_medcoms_rules(code):
    acute, hospital = _orgs()
    answering = str(uuid.uuid4())
    issues = (
        [] if code == AckCode.OK else [Issue("MSG_VALUESET_VALUE_UNKNOWN", "activity: binding")]
    )
    ack = envelope.acknowledgement(
        answering=answering,
        code=code,
        sender=acute,
        receiver=hospital,
        receiver_endpoint=ENDPOINT,
        sender_endpoint=ENDPOINT,
        issues=issues,
    )
    assert validate_message(ack) == []
    header = ack["entry"][0]["resource"]
    assert header["response"]["identifier"] == answering and header["response"]["code"] == code
    provenances = _resources(ack, "Provenance")
    assert len(provenances) == 2
    assert provenances[0]["target"][0]["reference"] == f"MessageHeader/{answering}"
    assert provenances[1]["activity"]["coding"][0]["code"] == "acknowledgement"
    assert provenances[1]["entity"][0]["what"]["reference"] == f"MessageHeader/{answering}"
    outcomes = _resources(ack, "OperationOutcome")
    assert bool(outcomes) == (code != AckCode.OK)


def test_a_negative_acknowledgement_without_its_outcome_breaks_medcom_acknowledgement_1():
    acute, hospital = _orgs()
    ack = envelope.acknowledgement(
        answering=str(uuid.uuid4()),
        code=AckCode.FATAL,
        sender=acute,
        receiver=hospital,
        receiver_endpoint=ENDPOINT,
        sender_endpoint=ENDPOINT,
        issues=[Issue("MSG_NO_MATCH", "Borgeren kendes ikke")],
    )
    ack["entry"] = [e for e in ack["entry"] if e["resource"]["resourceType"] != "OperationOutcome"]
    assert ("medcom-messaging-acknowledgement", "", "invariant:medcom-acknowledgement-1") in {
        (v.profile, v.path, v.rule) for v in validate_message(ack)
    }


@pytest.mark.parametrize("code", [AckCode.FATAL, AckCode.TRANSIENT])
def test_a_negative_acknowledgement_names_what_was_wrong_or_is_not_built(code):
    # MedCom: a negative acknowledgement's details say what was wrong; an
    # OperationOutcome with no issue is not FHIR (issue 1..*).
    acute, hospital = _orgs()
    with pytest.raises(ValueError, match="at least one issue"):
        envelope.acknowledgement(
            answering=str(uuid.uuid4()),
            code=code,
            sender=acute,
            receiver=hospital,
            receiver_endpoint=ENDPOINT,
            sender_endpoint=ENDPOINT,
        )


def test_a_gp_practice_is_named_by_sor_ean_and_provider_number():
    acute, _ = _orgs()
    gp = f.gp_practice()
    gp.sor_code, gp.ean = "378631000016009", "5790000121526"
    gp.save(update_fields=["sor_code", "ean"])
    bundle = envelope.message(
        event=MedComEvent.EMPTY,
        sender=acute,
        receiver=gp,
        receiver_endpoint=ENDPOINT,
        sender_endpoint=ENDPOINT,
    )
    assert validate_message(bundle) == []
    receiver = _resources(bundle, "Organization")[1]
    assert {(i["system"], i["value"]) for i in receiver["identifier"]} == {
        ("urn:oid:1.2.208.176.1.1", "378631000016009"),
        ("http://www.gs1.org/gln", "5790000121526"),
        ("urn:oid:1.2.208.176.1.4", gp.provider_number),
    }
