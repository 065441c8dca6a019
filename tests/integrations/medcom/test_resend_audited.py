"""A partner's message received again (the same MessageHeader.id: MedCom's
reliable messaging, or the platform's own envelope from 1813) gets the first
acknowledgement and is applied once. It still reaches for the citizen it
names, so it is on her log (R9): who sent it, that the first answer was sent
again and that nothing was applied twice — permitted where the first copy
was processed, denied where it was refused."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from django.utils import timezone, translation

from acute.models import Referral
from consent.audit.models import AuditEntry
from core.fhir.patient import patient_resource
from core.labels import reason_label
from integrations.models import InboundMessage
from integrations.simulators import helpline_referral
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, example, post_signed
from tests.integrations.medcom.test_hospital_notification import STIN, _example
from tests.integrations.medcom.test_stay_order import _occurred

pytestmark = pytest.mark.django_db

RESENT = "message.resent"
CARE_COMMUNICATION = "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"  # a new message


def _admission() -> dict[str, Any]:
    return _occurred(_example(STIN), timezone.now().isoformat())


def _again(message: dict[str, Any]) -> dict[str, Any]:
    """MedCom: a resend has a new Bundle.id and the same MessageHeader."""
    again = copy.deepcopy(message)
    again["id"] = str(uuid.uuid4())
    return again


def _resent_entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(reason_code=RESENT).order_by("pk"))


def test_r9_an_admission_received_again_is_on_the_citizens_log_applied_once(hospital, citizen):
    f.acute_referral(person=citizen, accepted=False)
    message = _admission()
    assert ack_parts(post_signed(hospital, message)[1])[0] == "ok"
    assert _resent_entries() == []

    status, body = post_signed(hospital, _again(message))

    assert (status, ack_parts(body)[0]) == (200, "ok")
    assert InboundMessage.objects.filter(partner=hospital).count() == 1
    [entry] = _resent_entries()
    assert (entry.citizen_id, entry.outcome, entry.action) == (citizen.pk, "permitted", "create")
    assert entry.actor_organisation_id == hospital.organisation_id
    assert entry.detail == {
        "partner": hospital.code,
        "event": "hospital-notification-message",
        "answered": "ok",
        "done": "acknowledgement_resent",
        "applied": False,
    }
    # The auditor reads it as what it was, not as a refusal.
    with translation.override("da"):
        assert reason_label(entry.reason_code) == (
            "meddelelsen modtaget igen: det første svar sendt igen, intet gjort to gange"
        )


def test_r9_a_refused_message_received_again_is_a_denied_attempt_each_time(hospital, citizen):
    message = _admission()
    for entry in message["entry"]:
        if entry["resource"]["resourceType"] == "Provenance":
            entry["resource"].pop("occurredDateTime")
    assert ack_parts(post_signed(hospital, message)[1])[0] == "fatal-error"

    status, body = post_signed(hospital, message)

    assert (status, ack_parts(body)[0]) == (400, "fatal-error")
    [entry] = _resent_entries()
    assert (entry.citizen_id, entry.outcome) == (citizen.pk, "denied")
    assert entry.detail["answered"] == "fatal-error"
    assert entry.detail["applied"] is False


def test_r9_a_referral_from_1813_received_again_is_on_the_citizens_log(helpline):
    citizen = f.citizen()
    message = helpline_referral(
        sender_code=helpline.code,
        patient=patient_resource(citizen),
        reason="Faldet, kan ikke rejse sig",
        case_id="1813-again",
    )
    assert post_signed(helpline, message)[0] == 200

    status, _body = post_signed(helpline, message)

    assert status == 200
    assert Referral.objects.filter(citizen=citizen).count() == 1
    [entry] = _resent_entries()
    assert (entry.citizen_id, entry.outcome) == (citizen.pk, "permitted")
    assert entry.detail["done"] == "acknowledgement_resent"


def test_a_message_about_no_known_citizen_received_again_audits_no_one(hospital):
    message = example("carecommunication", CARE_COMMUNICATION)
    assert ack_parts(post_signed(hospital, message)[1])[2] == ["MSG_NO_MATCH"]
    before = AuditEntry.objects.count()

    assert post_signed(hospital, message)[0] == 400

    assert AuditEntry.objects.count() == before
