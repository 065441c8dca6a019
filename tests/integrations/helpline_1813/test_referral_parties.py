"""Whom a partner's referral is about and who asks for it are read from the
references of its ServiceRequest, never guessed from the order of the
message's entries (R12, R1): a referral naming someone other than the
message's Patient is refused, nothing written, the attempt denied on her
record (R9); the responsible physician (*behandlingsansvar*) is the
Practitioner the request names, wherever it sits in the message."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.utils import translation

from acute.models import Referral
from consent.audit.models import AuditEntry
from core.fhir.patient import patient_resource
from core.models import Citizen, Organisation
from integrations.models import InboundMessage, Partner
from integrations.simulators import helpline_referral
from tests import factories as f
from tests.integrations.helpers import new_citizen_patient, received_answer

pytestmark = pytest.mark.django_db


@pytest.fixture
def helpline() -> Partner:
    f.acute_function()
    organisation = f.organisation(Organisation.Kind.HELPLINE_1813, "Akuttelefonen 1813")
    return f.integration_partner(Partner.Kind.HELPLINE_1813, organisation)


def _referral(partner: Partner, patient: dict[str, Any]) -> dict[str, Any]:
    return helpline_referral(
        sender_code=partner.code, patient=patient, reason="Feber", case_id="1813-77"
    )


def _request(message: dict[str, Any]) -> dict[str, Any]:
    return next(
        e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == "ServiceRequest"
    )


@pytest.mark.parametrize(
    "subject",
    [
        {"reference": "Patient/another-patient"},
        {"reference": f"urn:uuid:{uuid.uuid4()}"},
        {"identifier": {"system": "urn:oid:1.2.208.176.1.2", "value": "0101010000"}},
    ],
)
def test_r12_a_referral_about_someone_other_than_the_message_patient_is_refused(
    helpline: Partner, subject: dict[str, Any]
) -> None:
    citizen = f.citizen()
    message = _referral(helpline, patient_resource(citizen))
    _request(message)["subject"] = subject

    answer, code, issues = received_answer(helpline, message)

    assert (answer.status, code) == (400, "fatal-error")
    assert issues == ["referral.subject_not_message_patient"]
    assert not Referral.objects.exists()
    [entry] = AuditEntry.objects.filter(citizen_id=citizen.pk)
    assert (entry.outcome, entry.reason_code) == ("denied", "referral.subject_not_message_patient")
    refused = InboundMessage.objects.get()
    assert refused.reason_code == "referral.subject_not_message_patient"
    # On the coordinator's board of refused messages, in Danish.
    with translation.override("da"):
        assert refused.reason_display() == "Henvisningen angår en anden end borgeren i meddelelsen"


def test_r12_a_new_citizen_is_not_registered_from_a_referral_about_someone_else(
    helpline: Partner,
) -> None:
    cpr, patient = new_citizen_patient()
    message = _referral(helpline, patient)
    _request(message)["subject"] = {"reference": "Patient/another-patient"}

    _, code, issues = received_answer(helpline, message)

    assert (code, issues) == ("fatal-error", ["referral.subject_not_message_patient"])
    assert not Citizen.objects.filter(cpr=cpr).exists()


@pytest.mark.parametrize(
    "subject",
    [
        None,  # as sent: the Patient's entry, urn:uuid:<id>
        "Patient/{id}",
        "https://1813.example.dk/fhir/Patient/{id}",
        "cpr",
    ],
)
def test_r12_a_referral_naming_the_message_patient_in_any_form_is_taken(
    helpline: Partner, subject: str | None
) -> None:
    citizen = f.citizen()
    message = _referral(helpline, patient_resource(citizen))
    patient = next(
        e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    if subject == "cpr":
        _request(message)["subject"] = {"identifier": dict(patient["identifier"][0])}
    elif subject is not None:
        _request(message)["subject"] = {"reference": subject.format(id=patient["id"])}
    if subject and subject.startswith("https:"):
        # An absolute reference names the entry with that fullUrl (FHIR R4).
        for entry in message["entry"]:
            if entry["resource"] is patient:
                entry["fullUrl"] = subject.format(id=patient["id"])

    _, code, _ = received_answer(helpline, message)

    assert code == "ok"
    assert Referral.objects.get().citizen_id == citizen.pk


def _practitioner(name: str, phone: str = "") -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(uuid.uuid4()),
        "name": [{"text": name}],
    }
    if phone:
        resource["telecom"] = [{"system": "phone", "value": phone}]
    return resource


def _add(message: dict[str, Any], resource: dict[str, Any], *, at: int) -> None:
    message["entry"].insert(at, {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource})


def test_r12_the_responsible_physician_is_the_practitioner_the_request_names(
    helpline: Partner,
) -> None:
    """Another Practitioner before the 1813 physician in the message (the
    nurse who took the call) is not made responsible for the visit."""
    citizen = f.citizen()
    message = _referral(helpline, patient_resource(citizen))
    _add(message, _practitioner("Sygeplejerske Olsen, 1813", "+4570131800"), at=2)

    _, code, _ = received_answer(helpline, message)

    assert code == "ok"
    referral = Referral.objects.get()
    assert referral.responsible_physician_name == "Læge Hansen, 1813"
    assert referral.responsible_physician_phone == "+4570131813"


def test_r12_the_physician_named_through_a_practitioner_role_is_responsible(
    helpline: Partner,
) -> None:
    citizen = f.citizen()
    message = _referral(helpline, patient_resource(citizen))
    doctor = _practitioner("Læge Mortensen, 1813", "+4570131899")
    role = {
        "resourceType": "PractitionerRole",
        "id": str(uuid.uuid4()),
        "practitioner": {"reference": f"urn:uuid:{doctor['id']}"},
    }
    _add(message, _practitioner("Sygeplejerske Olsen, 1813", "+4570131800"), at=2)
    _add(message, role, at=3)
    _add(message, doctor, at=4)
    _request(message)["requester"] = {"reference": f"urn:uuid:{role['id']}"}

    _, code, _ = received_answer(helpline, message)

    assert code == "ok"
    assert Referral.objects.get().responsible_physician_name == "Læge Mortensen, 1813"


def test_r12_several_practitioners_none_named_by_the_request_is_refused(
    helpline: Partner,
) -> None:
    citizen = f.citizen()
    message = _referral(helpline, patient_resource(citizen))
    _add(message, _practitioner("Sygeplejerske Olsen, 1813", "+4570131800"), at=2)
    del _request(message)["requester"]

    _, code, issues = received_answer(helpline, message)

    assert (code, issues) == ("fatal-error", ["referral.physician_missing"])
    assert not Referral.objects.exists()
