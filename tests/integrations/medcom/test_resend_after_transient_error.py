"""A partner that answers our message with MedCom's transient-error at once
(in its answer to the delivery, not later as its own message) has received
it: what goes next is a resend, and MedCom's reliable messaging (043,
scenario 3) says a resend goes in a new envelope — a new Bundle.id and
timestamp, the same MessageHeader.id — as one sent again for a missing or
later acknowledgement does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import timezone

from consent.audit.models import AuditEntry
from integrations.medcom.envelope import AckCode, Issue
from integrations.models import OutboundMessage, Partner
from integrations.outbox import outbox_deliver
from tests.integrations.medcom.conftest import acknowledgement_of
from tests.integrations.medcom.peers import ScriptedPeer, outbound_to, scripted_peer

pytestmark = pytest.mark.django_db


@pytest.fixture
def peer() -> Iterator[ScriptedPeer]:
    with scripted_peer() as state:
        yield state


def _deliver_now(message: OutboundMessage) -> None:
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    outbox_deliver(message_pks=[message.pk])


def test_after_a_transient_error_in_the_answer_the_message_goes_in_a_new_envelope(
    hospital, citizen, peer
):
    Partner.objects.filter(pk=hospital.pk).update(endpoint_url=peer.url)
    message = outbound_to(hospital, citizen)
    header_id = message.message_id
    busy = [Issue("MSG_LOCAL_FAIL", "Indbakken er optaget", code="transient")]
    peer.answers = [
        (503, acknowledgement_of(message, AckCode.TRANSIENT, busy)),
        (200, acknowledgement_of(message, AckCode.OK)),
    ]

    _deliver_now(message)
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.PENDING
    _deliver_now(message)

    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.ACKNOWLEDGED
    first, again = peer.received
    assert again["id"] != first["id"]  # a new Bundle.id
    assert again["timestamp"] != first["timestamp"]  # sent at a new time
    assert again["id"] == str(message.bundle_id)
    assert message.message_id == header_id  # the same message: the same MessageHeader.id
    # The disclosure names the Bundle the partner received first (R9).
    disclosure = AuditEntry.objects.get(citizen_id=citizen.pk, action="disclose")
    assert disclosure.resource_id == first["id"]
