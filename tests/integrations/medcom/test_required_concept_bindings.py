"""FHIR R4's required bindings in a partner's MedCom message reach the
CodeableConcept elements (``Condition.clinicalStatus``) and the resources an
entry contains, as they reach the platform's own FHIR writes: a contained
Condition whose clinical status is a text alone, or a contained Organization
whose telephone is ``"telephone"``, breaks FHIR's binding, and the message is
refused with MedCom's ``MSG_VALUESET_VALUE_UNKNOWN``, nothing held."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.medcom.validation import validate_message
from integrations.models import InboundMessage
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, header_id, post_signed
from tests.integrations.medcom.test_hospital_notification import STIN, _example
from tests.integrations.medcom.test_stay_order import _open_stays

CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"


def _resource(message: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == kind)


def _rules(message: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(v.profile, v.path, v.rule) for v in validate_message(message)}


def _contained_condition(status: dict[str, Any]) -> dict[str, Any]:
    message = _example(STIN)
    patient = next(e for e in message["entry"] if e["resource"]["resourceType"] == "Patient")
    _resource(message, "Encounter")["contained"] = [
        {
            "resourceType": "Condition",
            "id": "c1",
            "clinicalStatus": status,
            "code": {"text": "Lungebetændelse"},
            "subject": {"reference": patient["fullUrl"]},
        }
    ]
    return message


def test_a_contained_conditions_clinical_status_as_text_alone_breaks_fhirs_binding():
    broken = validate_message(_contained_condition({"text": "active"}))
    (violation,) = [v for v in broken if v.rule == "binding"]
    assert (violation.profile, violation.path) == ("Condition", "contained.clinicalStatus")
    assert CLINICAL in violation.expected and "resolved" in violation.expected


def test_a_contained_organisations_telecom_system_outside_fhirs_codes_breaks_it():
    message = _example(STIN)
    _resource(message, "Encounter")["contained"] = [
        {
            "resourceType": "Organization",
            "id": "o1",
            "name": "Afdeling",
            "telecom": [{"system": "telephone", "value": "+4538680000"}],
        }
    ]
    assert ("Organization", "contained.telecom.system", "binding") in _rules(message)


def test_a_clinical_status_of_its_value_set_breaks_nothing():
    message = _contained_condition({"coding": [{"system": CLINICAL, "code": "active"}]})
    assert validate_message(message) == []


@pytest.mark.django_db
def test_a_hospital_notification_with_such_a_contained_status_is_refused_and_holds_nothing(
    hospital, citizen
):
    referral = f.acute_referral(person=citizen, accepted=False)
    message = _contained_condition({"coding": [{"system": "http://snomed.info/sct", "code": "1"}]})
    status, body = post_signed(hospital, message)
    assert (status, ack_parts(body)[0]) == (400, "fatal-error")
    assert "MSG_VALUESET_VALUE_UNKNOWN" in ack_parts(body)[2]
    assert InboundMessage.objects.get(header_id=header_id(message)).outcome == "fatal-error"
    referral.refresh_from_db()
    assert referral.on_hold_since is None and not _open_stays(citizen, hospital).exists()
