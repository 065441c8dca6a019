"""The hand-back to home nursing when an acute episode ends (R11)."""

from __future__ import annotations

import pytest
from django.test import Client

from acute import services as acute
from acute.models import Outcome
from core.actors import Actor
from core.models import Role
from integrations.medcom.validation import validate_message
from integrations.messages import Event
from integrations.models import OutboundMessage, Partner
from integrations.selectors import outbox_problems
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_r11_the_hand_back_goes_to_the_home_nursing_of_the_citizens_own_municipality() -> None:
    citizen = f.citizen(municipality_code="159")
    own = f.integration_partner(
        Partner.Kind.HOME_NURSING, f.home_nursing("159"), endpoint_url="http://127.0.0.1:8679/in"
    )
    f.integration_partner(
        Partner.Kind.HOME_NURSING, f.home_nursing("157"), endpoint_url="http://127.0.0.1:8678/in"
    )
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)

    acute.episode_complete(
        episode=referral.episode,
        outcome=Outcome.HANDED_BACK,
        note="Væskebehandlet; drikker nu selv",
        actor=Actor.for_membership(coordinator),
    )

    [message] = OutboundMessage.objects.filter(event=Event.CARE_COMMUNICATION)
    assert message.partner == own
    communication = next(
        e["resource"]
        for e in message.bundle["entry"]
        if e["resource"]["resourceType"] == "Communication"
    )
    assert message.status == OutboundMessage.Status.PENDING, message.last_error
    assert validate_message(message.bundle) == []
    header = message.bundle["entry"][0]["resource"]
    assert header["eventCoding"]["code"] == "care-communication-message"
    assert header["definition"].endswith("MedComCareCommunicationMessageDefinition|5.0")
    assert communication["status"] == "unknown"
    assert communication["identifier"][0]["value"].startswith("urn:uuid:")
    extensions = {e["url"].rsplit("/", 1)[1] for e in communication["payload"][0]["extension"]}
    assert extensions == {
        "medcom-core-datetime-extension",
        "medcom-core-identifier-extension",
        "medcom-core-practitioner-extension",
        "medcom-core-contact-extension",
    }
    [practitioner] = [
        e["resource"]
        for e in message.bundle["entry"]
        if e["resource"]["resourceType"] == "Practitioner"
    ]
    assert practitioner["name"][0]["text"] == coordinator.user.get_full_name() or (
        coordinator.user.username
    )
    [provenance] = [
        e["resource"]
        for e in message.bundle["entry"]
        if e["resource"]["resourceType"] == "Provenance"
    ]
    assert provenance["meta"]["profile"][0].endswith("medcom-careCommunication-provenance")
    assert communication["category"][0]["coding"][0]["code"] == "nursing"
    text = communication["payload"][0]["contentString"]
    assert text.startswith("Akut forløb afsluttet: Overdraget til hjemmesygeplejen.")
    assert "Væskebehandlet; drikker nu selv" in text


def test_a_hand_back_that_would_break_medcoms_rules_is_parked_for_a_person_not_sent() -> None:
    citizen = f.citizen(municipality_code="159")
    unit = f.home_nursing("159")
    partner = f.integration_partner(
        Partner.Kind.HOME_NURSING, unit, endpoint_url="http://127.0.0.1:8679/in"
    )
    # Its organisation has lost the SOR code and EAN number MedCom names a receiver by.
    unit.sor_code = unit.ean = None
    unit.save(update_fields=["sor_code", "ean"])
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)

    acute.episode_complete(
        episode=referral.episode,
        outcome=Outcome.HANDED_BACK,
        note="Væskebehandlet",
        actor=Actor.for_membership(coordinator),
    )

    [message] = OutboundMessage.objects.filter(event=Event.CARE_COMMUNICATION, partner=partner)
    assert message.status == OutboundMessage.Status.FAILED
    assert message.sent_at is None and message.attempts == 0
    assert message.last_error_code == "medcom.rule_broken"
    assert "medcom-messaging-organization" in message.last_error
    assert citizen.cpr not in message.last_error
    assert message in outbox_problems()
    # The coordinator's board shows it failed, with the rule it breaks.
    client = Client()
    assert f.log_in(client, coordinator).status_code == 302
    board = client.get("/coordinator/live/").content.decode()
    assert "Overholder ikke MedComs regler:" in board
    assert "medcom-messaging-organization" in board
