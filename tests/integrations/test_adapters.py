"""The partner adapters: each kind of partner declares what the platform
receives from it and sends it, and how its messages travel; inbound
processing, outbound messages and delivery all go by that declaration."""

from __future__ import annotations

import pytest
from django.db import transaction

from consent.audit.models import Action, AuditEntry
from core.errors import PreconditionFailed
from core.models import Role
from integrations.adapters import DeliveryAnswer, PartnerAdapter, Transport
from integrations.gp.adapter import GeneralPractice
from integrations.medcom.envelope import MedComEvent
from integrations.messages import Event
from integrations.models import DeliveryAttempt, OutboundMessage, Partner
from integrations.outbound import message_send
from integrations.outbox import outbox_deliver
from integrations.partners import ADAPTERS
from integrations.transport import SIGNED_HTTP
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_every_kind_of_partner_declares_what_it_receives_and_is_sent() -> None:
    """The table of docs/handoffs.md, as the adapters declare it."""
    declared = {
        kind: (set(adapter.receives), set(adapter.sends)) for kind, adapter in ADAPTERS.items()
    }
    assert declared == {
        Partner.Kind.HELPLINE_1813: (
            {Event.REFERRAL},
            {Event.REFERRAL_STATUS, Event.ORDER_CONFIRMATION_REQUEST},
        ),
        Partner.Kind.HOSPITAL: (
            {
                Event.HOSPITAL_NOTIFICATION,
                MedComEvent.HOSPITAL_NOTIFICATION,
                MedComEvent.CARE_COMMUNICATION,
            },
            {
                Event.ADMISSION_HANDOFF,
                Event.CARE_COMMUNICATION,
                Event.CARE_COMMUNICATION_REPLY,
                Event.ORDER_CONFIRMATION_REQUEST,
            },
        ),
        Partner.Kind.GP: (
            {MedComEvent.CARE_COMMUNICATION},
            {
                Event.HOME_CARE_OBSERVATION,
                Event.CARE_COMMUNICATION,
                Event.CARE_COMMUNICATION_REPLY,
                Event.ORDER_CONFIRMATION_REQUEST,
            },
        ),
        Partner.Kind.HOME_NURSING: (
            {MedComEvent.CARE_COMMUNICATION},
            {Event.CARE_COMMUNICATION, Event.CARE_COMMUNICATION_REPLY},
        ),
        Partner.Kind.MUNICIPAL_RECORDS: ({Event.SHARED_RECORD_UPDATE}, set()),
    }
    assert all(adapter.transport is SIGNED_HTTP for adapter in ADAPTERS.values())


def test_a_partner_is_never_sent_a_message_its_adapter_does_not_declare() -> None:
    """A municipal care record system sends to the platform and is sent
    nothing: writing it a care communication is refused, and nothing is queued."""
    municipality = f.municipality("157")
    records = f.integration_partner(Partner.Kind.MUNICIPAL_RECORDS, municipality)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(by=coordinator)
    with pytest.raises(PreconditionFailed) as refused, transaction.atomic():
        message_send(
            partner=records, event=Event.CARE_COMMUNICATION, about=referral.episode, by=None
        )
    assert refused.value.code == "handoff.event_not_sent"
    assert not OutboundMessage.objects.exists()


class _Gateway(Transport):
    """A transport that is not HTTP (as a VANS gateway would be): it takes the
    message and says the acknowledgement will follow."""

    def __init__(self) -> None:
        self.carried: list[str] = []

    def deliver(self, *, partner: Partner, message: OutboundMessage) -> DeliveryAnswer:
        self.carried.append(str(message.message_id))
        return DeliveryAnswer(DeliveryAttempt.Outcome.ACCEPTED, None, "", "")


def test_r9_delivery_goes_by_the_transport_the_partner_declares(monkeypatch) -> None:
    """The outbox does not know HTTP: a partner whose adapter declares another
    transport is delivered through it, and the disclosure is audited all the same."""
    gateway = _Gateway()
    monkeypatch.setattr(GeneralPractice, "transport", gateway)
    practice = f.gp_practice()
    partner = f.integration_partner(Partner.Kind.GP, practice)  # no HTTP endpoint at all
    citizen = f.citizen(gp=practice)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)
    with transaction.atomic():
        message = message_send(
            partner=partner, event=Event.CARE_COMMUNICATION, about=referral.episode, by=None
        )
    assert message is not None

    assert outbox_deliver(message_pks=[message.pk]) == {message.pk: "accepted"}

    assert gateway.carried == [str(message.message_id)]
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.AWAITING_ACK
    assert message.disclosed_at is not None
    disclosure = AuditEntry.objects.get(citizen_id=citizen.pk, action=Action.DISCLOSE)
    assert disclosure.partner_organisation_id == practice.pk


@pytest.mark.parametrize(
    "declaration",
    [
        {"kind": "fax_machine", "transport": SIGNED_HTTP},  # no such kind of partner
        {"kind": Partner.Kind.GP},  # no transport
    ],
)
def test_adapter_declarations_are_checked_when_the_platform_starts(declaration) -> None:
    with pytest.raises(TypeError):
        type("Misdeclared", (PartnerAdapter,), declaration)
    assert ADAPTERS[Partner.Kind.GP] is GeneralPractice
