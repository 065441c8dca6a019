"""A reply in a CareCommunication thread answers the latest message the
partner has: one of ours that never reached it (parked before it left,
withheld, refused) is neither answered nor repeated in the reply's history,
or the partner would be sent a reply to a message it never received. One
the partner refused and a person sent again is a new message, and the
thread knows its segment by the new message's id."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from core.actors import Actor
from core.models import Role
from integrations.models import CareThread, OutboundMessage, Partner
from integrations.outbox import outbox_acknowledge, outbox_resend
from tests import factories as f
from tests.integrations.medcom.peers import example, header_id, post_signed

pytestmark = pytest.mark.django_db

FIRST = "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"  # MedCom's example: a new message


def _login(membership) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def _provenances(message: OutboundMessage) -> list[dict[str, Any]]:
    return [
        entry["resource"]
        for entry in message.bundle["entry"]
        if entry["resource"]["resourceType"] == "Provenance"
    ]


def _answers(message: OutboundMessage) -> str:
    """The MessageHeader.id the message's own Provenance says it answers."""
    own = next(
        p
        for p in _provenances(message)
        if p["target"][0]["reference"].endswith(str(message.message_id))
    )
    revision = next(e for e in own["entity"] if e["role"] == "revision")
    return str(revision["what"]["reference"]).rsplit("/", 1)[-1]


def _reply(client: Client, thread: CareThread, referral, text: str) -> OutboundMessage:
    done = client.post(
        f"/care-threads/{thread.pk}/reply/", {"text": text, "on": f"referral-{referral.pk}"}
    )
    assert done.status_code == 302
    return OutboundMessage.objects.filter(event="care-communication-reply").latest("pk")


def test_r11_a_reply_after_one_parked_answers_the_partners_message(hospital, citizen):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)
    incoming = example("carecommunication", FIRST)
    post_signed(hospital, incoming)
    thread = CareThread.objects.get()
    client = _login(coordinator)
    Partner.objects.filter(pk=hospital.pk).update(is_active=False)
    parked = _reply(client, thread, referral, "Blodprøverne tages i aften.")
    assert parked.status == OutboundMessage.Status.FAILED
    Partner.objects.filter(pk=hospital.pk).update(is_active=True)

    second = _reply(client, thread, referral, "Vi kommer kl. 18.")

    assert second.status != OutboundMessage.Status.FAILED
    assert _answers(second) == header_id(incoming)
    mentioned = {p["target"][0]["reference"].rsplit("/", 1)[-1] for p in _provenances(second)}
    assert str(parked.message_id) not in mentioned


def test_r11_a_refused_reply_sent_again_is_answered_by_its_new_id(hospital, citizen):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)
    post_signed(hospital, example("carecommunication", FIRST))
    thread = CareThread.objects.get()
    client = _login(coordinator)
    first = _reply(client, thread, referral, "Blodprøverne tages i aften.")
    outbox_acknowledge(partner=hospital, answering=str(first.message_id), code="fatal-error")
    again = outbox_resend(
        message=OutboundMessage.objects.get(pk=first.pk), by=Actor.for_membership(coordinator)
    )
    assert again.message_id != first.message_id  # a new message (MedCom 043, scenario 5)
    assert thread.messages.filter(header_id=str(again.message_id)).exists()

    second = _reply(client, thread, referral, "Vi kommer kl. 18.")

    assert _answers(second) == str(again.message_id)
