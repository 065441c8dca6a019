"""A reply in a CareCommunication thread whose partner has been deactivated:
it is kept and parked for a person with the reason, and the one who wrote it
is told it was not sent; a message written while the partner was active and
still waiting when it was deactivated is parked the same way at delivery,
never posted to the old endpoint."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from core.models import Role
from integrations.models import CareThread, DeliveryAttempt, OutboundMessage, Partner
from integrations.outbox.delivery import outbox_deliver
from tests import factories as f
from tests.integrations.medcom.peers import example, post_signed

pytestmark = pytest.mark.django_db

FIRST = "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"  # MedCom's example: a new message


def _login(membership) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def _thread(hospital, citizen):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)
    post_signed(hospital, example("carecommunication", FIRST))
    return coordinator, referral, CareThread.objects.get()


def test_a_reply_to_a_deactivated_partner_is_parked_for_a_person_and_she_is_told(hospital, citizen):
    coordinator, referral, thread = _thread(hospital, citizen)
    Partner.objects.filter(pk=hospital.pk).update(is_active=False)
    client = _login(coordinator)
    done = client.post(
        f"/care-threads/{thread.pk}/reply/",
        {"text": "Blodprøverne tages i aften.", "on": f"referral-{referral.pk}"},
    )
    assert done.status_code == 302
    page = client.get(done["Location"]).content.decode()
    assert "Svaret er gemt og er på vej" not in page
    assert (
        "Svaret er gemt, men ikke sendt: Herlev og Gentofte er ikke længere en aktiv "
        "samarbejdspartner." in page
    )
    sent = OutboundMessage.objects.get(event="care-communication-reply")
    assert sent.status == OutboundMessage.Status.FAILED
    assert sent.last_error_code == "partner.inactive"
    with translation.override("da"):
        assert sent.reason_display() == "Modtageren er ikke længere en aktiv samarbejdspartner"
    assert thread.messages.filter(direction="out").count() == 1  # kept, not lost


def test_a_message_waiting_when_its_partner_is_deactivated_is_parked_not_posted(hospital, citizen):
    coordinator, referral, thread = _thread(hospital, citizen)
    _login(coordinator).post(
        f"/care-threads/{thread.pk}/reply/",
        {"text": "Jeg ringer.", "on": f"referral-{referral.pk}"},
    )
    waiting = OutboundMessage.objects.get(event="care-communication-reply")
    assert waiting.status == OutboundMessage.Status.PENDING
    Partner.objects.filter(pk=hospital.pk).update(is_active=False)

    outcomes = outbox_deliver(message_pks=[waiting.pk])

    waiting.refresh_from_db()
    assert outcomes == {waiting.pk: "failed"}
    assert waiting.status == OutboundMessage.Status.FAILED
    assert waiting.last_error_code == "partner.inactive"
    assert not DeliveryAttempt.objects.filter(message=waiting).exists()  # never posted
