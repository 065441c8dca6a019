"""MedCom's rule for a message received twice holds for an acknowledgement
too: the same acknowledgement (its MessageHeader.id) settles our message
once, and a repeat is answered as the first was, whatever has happened to
the message since. A transient-error received again after the resend it
asked for went out asks for no second resend; a different acknowledgement
(a new MessageHeader.id) of a message already settled is judged by the
partner's first answer, as before."""

from __future__ import annotations

import copy
import json
import uuid

import pytest

from consent.audit.models import AuditEntry
from integrations.medcom.envelope import AckCode, Issue
from integrations.models import OutboundMessage, ReceivedAcknowledgement
from tests.integrations.medcom.conftest import acknowledgement_of, awaiting_ack
from tests.integrations.medcom.peers import post_signed

pytestmark = pytest.mark.django_db

BUSY = [Issue("MSG_LOCAL_FAIL", "Indbakken er optaget", code="transient")]


def _delivered_again(message: OutboundMessage) -> None:
    """Our resend reached the partner: waiting for its acknowledgement again."""
    OutboundMessage.objects.filter(pk=message.pk).update(status=OutboundMessage.Status.AWAITING_ACK)


def test_a_transient_error_received_again_after_the_resend_went_does_not_resend_again(
    hospital, citizen
):
    message = awaiting_ack(hospital, citizen)
    ack = acknowledgement_of(message, AckCode.TRANSIENT, BUSY)

    first = post_signed(hospital, ack)
    message.refresh_from_db()
    assert (message.status, message.resends) == (OutboundMessage.Status.PENDING, 1)
    renewed_bundle = message.bundle_id
    _delivered_again(message)

    again = post_signed(hospital, copy.deepcopy(ack))

    assert again == first  # answered as the first was
    message.refresh_from_db()
    assert (message.status, message.resends) == (OutboundMessage.Status.AWAITING_ACK, 1)
    assert message.bundle_id == renewed_bundle  # no new envelope either
    assert ReceivedAcknowledgement.objects.filter(partner=hospital).count() == 1


def test_a_transient_error_in_a_new_envelope_is_the_same_acknowledgement(hospital, citizen):
    """MedCom: a resend keeps its MessageHeader.id and gets a new Bundle.id."""
    message = awaiting_ack(hospital, citizen)
    ack = acknowledgement_of(message, AckCode.TRANSIENT, BUSY)
    post_signed(hospital, ack)
    _delivered_again(message)
    anew = {**copy.deepcopy(ack), "id": str(uuid.uuid4())}

    status, _ = post_signed(hospital, anew)

    assert status == 200
    message.refresh_from_db()
    assert (message.status, message.resends) == (OutboundMessage.Status.AWAITING_ACK, 1)


def test_an_ok_acknowledgement_sent_twice_settles_once_and_is_answered_alike(hospital, citizen):
    message = awaiting_ack(hospital, citizen)
    ack = acknowledgement_of(message, AckCode.OK)

    first = post_signed(hospital, ack)
    message.refresh_from_db()
    settled_at = message.acknowledged_at
    again = post_signed(hospital, ack)

    assert first[0] == 200 and again == first
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.ACKNOWLEDGED
    assert message.acknowledged_at == settled_at
    assert not AuditEntry.objects.filter(resource_type="Bundle", outcome="denied").exists()


def test_another_acknowledgement_after_an_ok_is_judged_by_the_first_answer(hospital, citizen):
    message = awaiting_ack(hospital, citizen)
    post_signed(hospital, acknowledgement_of(message, AckCode.OK))

    # A new MessageHeader.id: another acknowledgement, not a repeat.
    status, body = post_signed(hospital, acknowledgement_of(message, AckCode.TRANSIENT, BUSY))

    assert status == 409
    assert "ack.contradicts_earlier" in json.dumps(body)
    message.refresh_from_db()
    assert (message.status, message.resends) == (OutboundMessage.Status.ACKNOWLEDGED, 0)
    [entry] = AuditEntry.objects.filter(resource_type="Bundle", outcome="denied")
    assert entry.reason_code == "ack.contradicts_earlier"


def test_a_refused_acknowledgement_received_again_is_refused_and_recorded_again(hospital, citizen):
    stray = OutboundMessage(partner=hospital, event="x", bundle={}, message_id=uuid.uuid4())
    ack = acknowledgement_of(stray, AckCode.OK)

    first = post_signed(hospital, ack)
    again = post_signed(hospital, ack)

    assert first[0] == 404 and again == first
    entries = AuditEntry.objects.filter(resource_type="Bundle", outcome="denied")
    assert [e.reason_code for e in entries] == ["ack.unknown_message"] * 2


def test_an_acknowledgement_reusing_another_ones_bundle_id_settles_nothing(hospital, citizen):
    settled = awaiting_ack(hospital, citizen)
    first = acknowledgement_of(settled, AckCode.OK)
    post_signed(hospital, first)
    open_one = awaiting_ack(hospital, citizen)
    reusing = {**acknowledgement_of(open_one, AckCode.FATAL, BUSY), "id": first["id"]}

    status, body = post_signed(hospital, reusing)

    assert status == 400
    assert "message.bundle_id_reused" in json.dumps(body)
    open_one.refresh_from_db()
    assert open_one.status == OutboundMessage.Status.AWAITING_ACK
