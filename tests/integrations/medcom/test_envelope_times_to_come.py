"""A message reports what has already happened: a time in its envelope
(``Bundle.timestamp``, a Provenance's ``occurredDateTime`` or ``recorded``)
that lies ahead of our clock beyond the clocks' skew is untrue, whichever
message type carries it and in whichever envelope. The message is refused
whole with a fatal-error naming the element, nothing written, a denied
attempt on the citizen it names (R9); an acknowledgement so stamped settles
nothing."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from acute.models import Referral
from consent.audit.models import AuditEntry
from core.fhir.patient import patient_resource
from core.models import Citizen
from integrations.medcom.envelope import AckCode
from integrations.medcom.validation import validate_message
from integrations.models import (
    CareMessage,
    CareThread,
    InboundMessage,
    OutboundMessage,
    Partner,
)
from integrations.simulators import helpline_referral
from tests import factories as f
from tests.integrations.medcom.conftest import acknowledgement_of, awaiting_ack
from tests.integrations.medcom.peers import ack_parts, example, header_id, post_signed
from tests.integrations.medcom.test_hospital_notification import (
    STIN,
    _example,
)
from tests.integrations.medcom.test_stay_order import _open_stays

pytestmark = pytest.mark.django_db

CARE = "carecommunication"
FIRST = "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"  # a new CareCommunication


def _ahead() -> str:
    return (timezone.now() + dt.timedelta(days=2)).isoformat(timespec="seconds")


def _resources(message: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == kind]


def _stamped_ahead(message: dict[str, Any]) -> dict[str, Any]:
    message["timestamp"] = _ahead()
    return message


def _occurred_ahead(message: dict[str, Any]) -> dict[str, Any]:
    for provenance in _resources(message, "Provenance"):
        provenance["occurredDateTime"] = _ahead()
    return message


def _recorded_ahead(message: dict[str, Any]) -> dict[str, Any]:
    for provenance in _resources(message, "Provenance"):
        provenance["recorded"] = _ahead()
    return message


@pytest.mark.parametrize(
    ("change", "element"),
    [
        (_stamped_ahead, "Bundle.timestamp"),
        (_occurred_ahead, "Provenance.occurredDateTime"),
        (_recorded_ahead, "Provenance.recorded"),
    ],
    ids=["timestamp", "occurred", "recorded"],
)
def test_a_care_communication_whose_envelope_reports_a_time_to_come_is_refused_whole(
    hospital: Partner, citizen: Citizen, change, element
) -> None:
    f.acute_referral(person=citizen)
    message = change(copy.deepcopy(example(CARE, FIRST)))
    assert validate_message(message) == []  # MedCom's rules alone take it
    status, body = post_signed(hospital, message)
    assert (status, ack_parts(body)[0]) == (400, "fatal-error")
    assert ack_parts(body)[2] == ["MSG_PARAM_INVALID"]
    assert element in str(body)
    refused = InboundMessage.objects.get(partner=hospital, header_id=header_id(message))
    assert refused.reason_code == "carecommunication.time_in_future"
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, outcome="denied", reason_code="carecommunication.time_in_future"
    ).exists()
    assert not CareThread.objects.exists() and not CareMessage.objects.exists()


def test_a_hospital_notification_stamped_ahead_is_refused_and_opens_no_stay(
    hospital: Partner, citizen: Citizen
) -> None:
    message = _stamped_ahead(_example(STIN))
    status, body = post_signed(hospital, message)
    assert (status, ack_parts(body)[0]) == (400, "fatal-error")
    assert ack_parts(body)[2] == ["MSG_PARAM_INVALID"]
    assert "Bundle.timestamp" in str(body)
    refused = InboundMessage.objects.get(partner=hospital, header_id=header_id(message))
    assert refused.reason_code == "hospital.occurred_in_future"
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, outcome="denied", reason_code="hospital.occurred_in_future"
    ).exists()
    assert not _open_stays(citizen, hospital).exists()


def test_a_message_stamped_within_the_clocks_skew_is_kept(
    hospital: Partner, citizen: Citizen
) -> None:
    f.acute_referral(person=citizen)
    message = example(CARE, FIRST)
    message["timestamp"] = (timezone.now() + dt.timedelta(minutes=2)).isoformat()
    status, body = post_signed(hospital, message)
    assert (status, ack_parts(body)[0]) == (200, "ok")
    assert CareThread.objects.count() == 1


def test_an_acknowledgement_stamped_ahead_settles_nothing(
    hospital: Partner, citizen: Citizen
) -> None:
    ours = awaiting_ack(hospital, citizen)
    ack = _stamped_ahead(acknowledgement_of(ours, AckCode.OK))
    status, body = post_signed(hospital, ack)
    assert (status, body["resourceType"]) == (400, "OperationOutcome")
    assert "message.time_in_future" in str(body) and "Bundle.timestamp" in str(body)
    ours.refresh_from_db()
    assert (ours.status, ours.acknowledged_at) == (OutboundMessage.Status.AWAITING_ACK, None)


@pytest.mark.parametrize("change", [_stamped_ahead, _recorded_ahead], ids=["timestamp", "recorded"])
def test_a_referral_in_the_platforms_own_envelope_reporting_a_time_to_come_is_refused(
    helpline: Partner, citizen: Citizen, change
) -> None:
    message = change(
        helpline_referral(
            sender_code=helpline.code,
            patient=patient_resource(citizen),
            reason="Feber og konfusion",
            case_id="1813-7002",
        )
    )
    status, body = post_signed(helpline, message)
    assert status == 400
    assert body["entry"][0]["resource"]["response"]["code"] == "fatal-error"
    assert "message.time_in_future" in str(body)
    refused = InboundMessage.objects.get(partner=helpline, header_id=header_id(message))
    assert refused.reason_code == "message.time_in_future"
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, outcome="denied", reason_code="message.time_in_future"
    ).exists()
    assert not Referral.objects.filter(citizen=citizen).exists()
