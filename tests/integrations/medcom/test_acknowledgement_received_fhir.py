"""A partner's MedCom Acknowledgement is read as FHIR R4 before it settles
the message it answers, as every other message is: one that keeps every
rule MedCom's FSH spells out but is not FHIR R4 (a Bundle.timestamp that is
no instant) is refused naming the element, and the message it answers still
awaits its acknowledgement (it is resent, then raised to a person)."""

from __future__ import annotations

import json

import pytest

from integrations.medcom.envelope import AckCode
from integrations.models import OutboundMessage
from tests.integrations.medcom.conftest import acknowledgement_of, awaiting_ack
from tests.integrations.medcom.peers import post_signed

pytestmark = pytest.mark.django_db


def test_an_acknowledgement_that_is_not_fhir_r4_settles_nothing(hospital, citizen):
    message = awaiting_ack(hospital, citizen, "care-communication")
    ack = acknowledgement_of(message, AckCode.OK)
    ack["timestamp"] = "yesterday"
    status, body = post_signed(hospital, ack)
    assert status == 400
    assert body["resourceType"] == "OperationOutcome"
    assert "timestamp" in json.dumps(body)
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.AWAITING_ACK
