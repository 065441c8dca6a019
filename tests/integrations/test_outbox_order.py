"""A partner hears about one citizen in the order things happened: a
message waits while an earlier one to the same partner about the same
citizen is unsent, and is handed on the moment that one is settled."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from core.models import Role
from integrations.adapters import DeliveryAnswer, Transport
from integrations.gp.adapter import GeneralPractice
from integrations.messages import Event
from integrations.models import DeliveryAttempt, OutboundMessage, Partner
from integrations.outbound import message_send
from integrations.outbox import delivery, outbox_deliver
from tests import factories as f

pytestmark = pytest.mark.django_db

DOWN = DeliveryAnswer(DeliveryAttempt.Outcome.NETWORK, None, "network.refused", "refused")
BUSY = DeliveryAnswer(DeliveryAttempt.Outcome.TRANSIENT, 503, "partner.busy", "try later")
OK = DeliveryAnswer(DeliveryAttempt.Outcome.ACKNOWLEDGED, 200, "", "")


class _Peer(Transport):
    """The far side: answers each POST from a script, and keeps what came."""

    def __init__(self) -> None:
        self.answers: list[DeliveryAnswer] = []
        self.carried: list[int] = []

    def deliver(self, *, partner: Partner, message: OutboundMessage) -> DeliveryAnswer:
        self.carried.append(message.pk)
        return self.answers.pop(0) if self.answers else OK


@pytest.fixture
def peer(monkeypatch) -> _Peer:
    peer = _Peer()
    monkeypatch.setattr(GeneralPractice, "transport", peer)
    return peer


@pytest.fixture
def handed_on(monkeypatch) -> list[list[int]]:
    """What is handed to a worker after commit (the broker is the far side)."""
    handed: list[list[int]] = []
    monkeypatch.setattr(delivery, "deliver_later", lambda pks, **_: handed.append(list(pks)))
    return handed


def _messages(partner: Partner, citizen, n: int) -> list[OutboundMessage]:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)
    with transaction.atomic():
        sent = [
            message_send(
                partner=partner, event=Event.CARE_COMMUNICATION, about=referral.episode, by=None
            )
            for _ in range(n)
        ]
    return [m for m in sent if m is not None]


def _due_now(message: OutboundMessage) -> None:
    """The clock moved past the message's back-off."""
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())


def test_r11_a_later_message_about_a_citizen_waits_for_the_earlier_one(
    peer, handed_on, django_capture_on_commit_callbacks
) -> None:
    practice = f.gp_practice()
    partner = f.integration_partner(Partner.Kind.GP, practice)
    first, second, third = _messages(partner, f.citizen(gp=practice), 3)
    [other] = _messages(partner, f.citizen(gp=practice), 1)

    # One batch: the oldest about each citizen goes; the rest wait their turn.
    peer.answers = [BUSY]
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = outbox_deliver(message_pks=[first.pk, second.pk, third.pk, other.pk])
    assert peer.carried == [first.pk, other.pk]
    assert outcomes == {first.pk: "transient", other.pk: "acknowledged"}

    # The first is backing off: asking for the second again sends nothing.
    assert outbox_deliver(message_pks=[second.pk, third.pk]) == {}
    assert OutboundMessage.objects.get(pk=second.pk).status == OutboundMessage.Status.PENDING

    # The first gets through: the second is handed on at once, then the third.
    _due_now(first)
    handed_on.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_deliver(message_pks=[first.pk]) == {first.pk: "acknowledged"}
    assert handed_on == [[second.pk]]
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_deliver(message_pks=[second.pk, third.pk]) == {second.pk: "acknowledged"}
    assert handed_on[-1] == [third.pk]
    assert outbox_deliver(message_pks=[third.pk]) == {third.pk: "acknowledged"}
    assert peer.carried == [first.pk, other.pk, first.pk, second.pk, third.pk]


def test_r11_a_message_given_up_on_no_longer_holds_back_the_next(
    peer, handed_on, django_capture_on_commit_callbacks
) -> None:
    """A message parked for a person (the partner refused it for good) lets
    the next one go: the coordinator sees the failed one on the board."""
    practice = f.gp_practice()
    partner = f.integration_partner(Partner.Kind.GP, practice)
    first, second = _messages(partner, f.citizen(gp=practice), 2)
    peer.answers = [DeliveryAnswer(DeliveryAttempt.Outcome.FATAL, 400, "bundle.invalid", "no")]
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_deliver(message_pks=[first.pk]) == {first.pk: "fatal"}
    assert OutboundMessage.objects.get(pk=first.pk).status == OutboundMessage.Status.FAILED
    assert handed_on == [[second.pk]]
    assert outbox_deliver(message_pks=[second.pk]) == {second.pk: "acknowledged"}


def test_messages_to_other_partners_about_the_citizen_do_not_wait(peer) -> None:
    practice, other_practice = f.gp_practice(), f.gp_practice()
    partner = f.integration_partner(Partner.Kind.GP, practice)
    other_partner = f.integration_partner(Partner.Kind.GP, other_practice)
    citizen = f.citizen(gp=practice)
    [first] = _messages(partner, citizen, 1)
    [elsewhere] = _messages(other_partner, citizen, 1)
    peer.answers = [DOWN]
    assert outbox_deliver(message_pks=[first.pk]) == {first.pk: "network"}
    assert outbox_deliver(message_pks=[elsewhere.pk]) == {elsewhere.pk: "acknowledged"}
