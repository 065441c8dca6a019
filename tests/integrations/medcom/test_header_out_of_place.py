"""A message whose MessageHeader is not its first entry is refused (MedCom's
rule and FHIR's), and yet it names the citizen it reached for: about a
citizen the platform knows, the refusal is a denied attempt on her (R9), on
the MedCom door and on the platform's own messages alike."""

from __future__ import annotations

import pytest

from acute.models import Referral
from consent.audit.models import AuditEntry
from core.fhir.patient import patient_resource
from core.models import Citizen
from integrations.simulators import helpline_referral
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, header_id, post_signed
from tests.integrations.medcom.test_hospital_notification import STIN, _example

pytestmark = pytest.mark.django_db


def _denied(citizen: Citizen) -> list[str]:
    return list(
        AuditEntry.objects.filter(
            citizen_id=citizen.pk, action="create", outcome="denied"
        ).values_list("reason_code", flat=True)
    )


def _header_last(message: dict) -> dict:
    message["entry"].append(message["entry"].pop(0))
    return message


def test_r9_a_hospital_notification_with_its_header_out_of_place_is_a_denied_attempt(
    hospital, citizen
):
    referral = f.acute_referral(person=citizen, accepted=False)
    message = _example(STIN)
    answering = header_id(message)
    status, body = post_signed(hospital, _header_last(message))
    assert (status, ack_parts(body)) == (400, ("fatal-error", answering, ["MSG_BAD_FORMAT"]))
    referral.refresh_from_db()
    assert referral.on_hold_since is None
    assert _denied(citizen) == ["medcom.rule_broken"]


def test_r9_a_referral_with_its_header_out_of_place_is_a_denied_attempt(helpline):
    citizen = f.citizen()
    message = helpline_referral(
        sender_code=helpline.code,
        patient=patient_resource(citizen),
        reason="Fald",
        case_id="1813-header",
    )
    status, body = post_signed(helpline, _header_last(message))
    assert (status, body["entry"][0]["resource"]["response"]["code"]) == (400, "fatal-error")
    assert not Referral.objects.filter(citizen=citizen).exists()
    assert _denied(citizen) == ["message.header_not_first"]
