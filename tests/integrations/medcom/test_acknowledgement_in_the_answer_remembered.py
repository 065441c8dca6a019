"""A partner may acknowledge our message in its answer to the delivery, and
send the same acknowledgement (its Bundle.id and MessageHeader.id) again
later as a message of its own. MedCom 043: a message received twice is
processed once, an acknowledgement too. Whichever way it came first, the
copy is answered as the first was and settles nothing again: a
transient-error asks for one resend, not two, and an answer the message has
since outgrown is not held against the partner."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator

import pytest
from django.utils import timezone

from consent.audit.models import AuditEntry
from integrations.medcom.envelope import AckCode, Issue
from integrations.models import DeliveryAttempt, OutboundMessage, Partner, ReceivedAcknowledgement
from integrations.outbox import outbox_deliver
from tests.integrations.medcom.conftest import acknowledgement_of, awaiting_ack
from tests.integrations.medcom.peers import ScriptedPeer, outbound_to, post_signed, scripted_peer

pytestmark = pytest.mark.django_db

BUSY = [Issue("MSG_LOCAL_FAIL", "Indbakken er optaget", code="transient")]


@pytest.fixture
def peer(hospital: Partner) -> Iterator[ScriptedPeer]:
    with scripted_peer() as state:
        Partner.objects.filter(pk=hospital.pk).update(endpoint_url=state.url)
        yield state


def _deliver_now(message: OutboundMessage) -> OutboundMessage:
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    outbox_deliver(message_pks=[message.pk])
    message.refresh_from_db()
    return message


def test_a_transient_error_in_the_answer_sent_again_as_a_message_asks_for_no_second_resend(
    hospital, citizen, peer
):
    message = outbound_to(hospital, citizen)
    transient = acknowledgement_of(message, AckCode.TRANSIENT, BUSY)
    # Asked to send again in the answer; the resend is taken, its ack to follow.
    peer.answers = [(503, transient), (202, None)]
    assert _deliver_now(message).status == OutboundMessage.Status.PENDING
    message = _deliver_now(message)
    assert message.status == OutboundMessage.Status.AWAITING_ACK
    envelope, resends, attempts = message.bundle_id, message.resends, message.attempts

    # The partner's system sends the same transient-error again, as a message.
    status, body = post_signed(hospital, copy.deepcopy(transient))

    assert status == 200
    assert "ack.received" in json.dumps(body)
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.AWAITING_ACK  # not sent a third time
    assert (message.bundle_id, message.resends, message.attempts) == (envelope, resends, attempts)
    assert ReceivedAcknowledgement.objects.filter(partner=hospital).count() == 1


def test_a_transient_error_in_the_answer_repeated_after_the_ok_is_not_a_contradiction(
    hospital, citizen, peer
):
    message = outbound_to(hospital, citizen)
    transient = acknowledgement_of(message, AckCode.TRANSIENT, BUSY)
    peer.answers = [(503, transient), (200, acknowledgement_of(message, AckCode.OK))]
    _deliver_now(message)
    assert _deliver_now(message).status == OutboundMessage.Status.ACKNOWLEDGED

    first_answer = post_signed(hospital, copy.deepcopy(transient))
    again = post_signed(hospital, copy.deepcopy(transient))

    # Answered as the first time it came (it asked for a resend, and got it).
    assert first_answer[0] == 200 and again == first_answer
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.ACKNOWLEDGED
    assert not AuditEntry.objects.filter(resource_type="Bundle", outcome="denied").exists()
    assert ReceivedAcknowledgement.objects.filter(partner=hospital).count() == 2


def test_an_acknowledgement_received_as_a_message_and_repeated_in_the_answer_settles_nothing(
    hospital, citizen, peer
):
    message = awaiting_ack(hospital, citizen)
    transient = acknowledgement_of(message, AckCode.TRANSIENT, BUSY)
    post_signed(hospital, transient)  # asks for a resend: one
    message.refresh_from_db()
    assert (message.status, message.resends) == (OutboundMessage.Status.PENDING, 1)

    # The partner answers the resend with its earlier answer, copied.
    peer.answers = [(200, copy.deepcopy(transient))]
    message = _deliver_now(message)

    # Not a second transient-error: the answer counts by its status alone.
    assert message.status == OutboundMessage.Status.AWAITING_ACK
    assert message.resends == 1
    attempt = DeliveryAttempt.objects.get(message=message)
    assert (attempt.outcome, attempt.error_code) == (DeliveryAttempt.Outcome.ACCEPTED, "")
    assert ReceivedAcknowledgement.objects.filter(partner=hospital).count() == 1


def test_an_acknowledgement_in_the_answer_reusing_another_ones_bundle_id_is_refused_later(
    hospital, citizen, peer
):
    message = outbound_to(hospital, citizen)
    ok = acknowledgement_of(message, AckCode.OK)
    peer.answers = [(200, ok)]
    assert _deliver_now(message).status == OutboundMessage.Status.ACKNOWLEDGED
    open_one = awaiting_ack(hospital, citizen)

    reusing = {**acknowledgement_of(open_one, AckCode.FATAL, BUSY), "id": ok["id"]}
    status, body = post_signed(hospital, reusing)

    assert status == 400
    assert "message.bundle_id_reused" in json.dumps(body)
    open_one.refresh_from_db()
    assert open_one.status == OutboundMessage.Status.AWAITING_ACK
