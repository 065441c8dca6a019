"""The coordinator's board says in Danish why a message to a partner needs
her: a message given up after its attempts quotes the receiver's own words
after the Danish reason, never the platform's English note about retrying."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone, translation

from core.models import Role
from integrations.adapters import DeliveryAnswer
from integrations.models import DeliveryAttempt, OutboundMessage
from integrations.outbox.delivery import _settle
from tests import factories as f
from tests.core.test_danish_pages import _read
from tests.integrations.test_outbox_api import _message

pytestmark = pytest.mark.django_db


def test_a_message_given_up_on_a_partners_transient_error_reads_in_danish_on_the_board():
    message = _message(
        status=OutboundMessage.Status.SENDING,
        lease_until=timezone.now() + dt.timedelta(minutes=1),
    )
    message = OutboundMessage.objects.select_related("partner").get(pk=message.pk)
    message.attempts = message.partner.max_attempts
    answer = DeliveryAnswer(
        outcome=DeliveryAttempt.Outcome.TRANSIENT,
        http_status=200,
        error_code="partner.transient_error",
        detail="Systemet er lukket for vedligehold",
    )
    assert _settle(message, answer, timezone.now()) is None
    message.save()
    assert message.status == OutboundMessage.Status.FAILED

    with translation.override("da"):
        reason = message.reason_display()
    assert reason == (
        f"Opgivet efter {message.attempts} forsøg. "
        "Modtageren kunne ikke modtage meddelelsen lige nu: Systemet er lukket for vedligehold"
    )

    client = Client()
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    f.log_in(client, coordinator)
    text, _links = _read(client.get("/coordinator/", HTTP_ACCEPT_LANGUAGE="da").content.decode())
    assert "Systemet er lukket for vedligehold" in text
    assert "gave up" not in text and "partner.transient_error" not in text
