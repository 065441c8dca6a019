"""The hand-back to home nursing when an acute episode ends (R11)."""

from __future__ import annotations

import pytest

from acute import services as acute
from acute.models import Outcome
from core.actors import Actor
from core.models import Role
from integrations.messages import Event
from integrations.models import OutboundMessage, Partner
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
    assert communication["category"][0]["coding"][0]["code"] == "hand-back"
    assert communication["identifier"][0]["value"] == f"episode-{referral.episode_id}"
    text = communication["payload"][0]["contentString"]
    assert text.startswith("Acute episode Handed back to home nursing.")
    assert "Væskebehandlet; drikker nu selv" in text
