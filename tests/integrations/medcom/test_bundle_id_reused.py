"""A partner that reuses a Bundle.id for another message (MedCom 043: "This is
an error - Bundle.id values MUST never be reused"): the new message is
refused in its own name, never answered with the earlier message's
acknowledgement nor processed, and, naming a citizen the platform knows, it
is a denied attempt on her (R9) — on the MedCom door and on the platform's
own messages alike. The same MessageHeader.id in a new Bundle.id (a resend)
is still the first message's duplicate (R12)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from acute.models import Referral
from consent.audit.models import AuditEntry
from core.fhir.patient import patient_resource
from core.models import Citizen
from integrations.models import InboundMessage
from integrations.simulators import helpline_referral
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, header_id, post_signed
from tests.integrations.medcom.test_hospital_notification import SLHJ, STIN, _example, _sent_anew

pytestmark = pytest.mark.django_db

REUSED = "message.bundle_id_reused"


def _denied(citizen: Citizen) -> list[str]:
    return list(
        AuditEntry.objects.filter(
            citizen_id=citizen.pk, action="create", outcome="denied"
        ).values_list("reason_code", flat=True)
    )


def _reusing(earlier: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    again = copy.deepcopy(message)
    again["id"] = earlier["id"]
    return again


def test_r12_a_discharge_reusing_the_admissions_bundle_id_is_refused_and_audited(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    admission = _example(STIN)
    assert ack_parts(post_signed(hospital, admission)[1])[0] == "ok"

    discharge = _reusing(admission, _sent_anew(_example(SLHJ)))
    status, body = post_signed(hospital, discharge)

    assert status == 400
    assert ack_parts(body) == ("fatal-error", header_id(discharge), ["MSG_DUPLICATE_ID"])
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"  # the discharge was not processed
    assert _denied(citizen) == [REUSED]
    # Sent again, refused again: each attempt is on her record.
    assert post_signed(hospital, discharge)[0] == 400
    assert _denied(citizen) == [REUSED, REUSED]


def test_r12_a_resend_with_the_same_header_in_a_new_bundle_is_the_first_messages_duplicate(
    hospital, citizen
):
    referral = f.acute_referral(person=citizen, accepted=False)
    admission = _example(STIN)
    first = ack_parts(post_signed(hospital, admission)[1])
    resend = copy.deepcopy(admission)
    resend["id"] = str(uuid.uuid4())
    status, body = post_signed(hospital, resend)
    assert (status, ack_parts(body)) == (200, first)
    assert InboundMessage.objects.filter(partner=hospital).count() == 1
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"
    assert _denied(citizen) == []


def test_r9_a_referral_reusing_another_referrals_bundle_id_is_refused_in_its_own_name(helpline):
    citizen = f.citizen()
    patient = patient_resource(citizen)
    first = helpline_referral(
        sender_code=helpline.code, patient=patient, reason="Fald", case_id="1813-a"
    )
    status, body = post_signed(helpline, first)
    assert (status, body["entry"][0]["resource"]["response"]["code"]) == (200, "ok")

    second = _reusing(
        first,
        helpline_referral(
            sender_code=helpline.code, patient=patient, reason="Dehydrering", case_id="1813-b"
        ),
    )
    status, body = post_signed(helpline, second)

    response = body["entry"][0]["resource"]["response"]
    assert (status, response["code"]) == (400, "fatal-error")
    assert response["identifier"] == header_id(second)  # answered in its own name
    assert REUSED in str(body)
    assert Referral.objects.filter(citizen=citizen).count() == 1
    assert _denied(citizen) == [REUSED]
