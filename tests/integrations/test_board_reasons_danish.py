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


def test_r11_a_withheld_hand_back_is_named_as_such_on_the_board_not_as_any_message():
    """R4 and R11: the citizen refused disclosure to her home nursing, so the
    hand-back is withheld when the episode ends, while her GP is told the
    outcome. The coordinator reads, in Danish, that it is the hand-back that
    did not go (she phones home nursing), never a code and never the
    outcome's message mistaken for it."""
    from acute.models import Outcome
    from consent.audit.models import Purpose
    from consent.services import consent_create
    from core.actors import Actor
    from integrations.models import Partner
    from tests.consent import bodies

    gp = f.gp_practice()
    citizen = f.citizen(municipality_code="159", gp=gp)
    home_nursing = f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("159"))
    f.integration_partner(Partner.Kind.GP, gp)
    acute_org = f.acute_function()
    consent_create(
        actor=Actor.for_membership(f.staff(Role.ADMINISTRATOR, acute_org)),
        data=bodies.refusal(citizen.pk, organisations=[home_nursing.organisation_id]),
        purpose=Purpose.OPERATIONS,
    )
    coordinator = f.staff(Role.COORDINATOR, acute_org)
    referral = f.acute_referral(person=citizen, by=coordinator)
    ended = f.client_for(coordinator).post(
        f"/api/acute/episodes/{referral.episode_id}/complete",
        {"outcome": Outcome.TREATED_AT_HOME},
        format="json",
        HTTP_ACCEPT_LANGUAGE="da",
    )
    assert ended.status_code == 200, ended.content

    [withheld] = OutboundMessage.objects.filter(status=OutboundMessage.Status.WITHHELD)
    assert withheld.partner == home_nursing
    board = (
        f.client_for(coordinator)
        .get("/api/integrations/outbox", HTTP_ACCEPT_LANGUAGE="da")
        .json()["results"]
    )
    [row] = [r for r in board if r["id"] == withheld.pk]
    assert row["event_text"] == "Tilbagemelding efter akut forløb"
    assert row["reason_text"] == "Borgeren har frabedt sig videregivelse til modtageren"
    with translation.override("da"):
        assert OutboundMessage.objects.exclude(pk=withheld.pk).get().event_display() == (
            "Afslutning af akut forløb"
        )

    client = Client()
    f.log_in(client, coordinator)
    text, _links = _read(client.get("/coordinator/", HTTP_ACCEPT_LANGUAGE="da").content.decode())
    assert "Tilbagemelding efter akut forløb" in text
    assert "consent.refused" not in text and "care-communication" not in text
