"""R11: the GP who referred is told in Danish when the citizen was not seen —
not found at the door, or the referral lapsed — in one CareCommunication,
never as the outcome of a visit that did not take place."""

from __future__ import annotations

import pytest

from acute.models import Referral
from acute.services import referral_accept, referral_create
from core.actors import Actor
from core.models import Role
from integrations.medcom.validation import validate_message
from integrations.messages import Event
from integrations.models import OutboundMessage, Partner
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("outcome", "said"),
    [
        ("citizen_not_found", "Akut forløb afsluttet: Borgeren blev ikke truffet."),
        ("referral_lapsed", "Akut forløb afsluttet: Henvisningen bortfaldt."),
    ],
)
def test_r11_the_referring_gp_is_told_once_in_danish_that_the_citizen_was_not_seen(
    outcome: str, said: str
) -> None:
    gp = f.gp_practice()
    partner = f.integration_partner(Partner.Kind.GP, gp, endpoint_url="http://127.0.0.1:8679/in")
    citizen = f.citizen(municipality_code="157", gp=gp)
    f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("157"))
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    actor = Actor.for_membership(coordinator)
    referral = referral_accept(
        referral=referral_create(
            citizen=citizen,
            source=Referral.Source.GP,
            channel=Referral.Channel.PHONE,
            source_organisation=gp,
            referrer_name="Læge Hansen",
            referrer_phone="+4539000000",
            reason="Feber",
            clinical_picture="Temp 39",
            requested_actions="Vurdering",
            urgency="within_2_hours",
            responsible_physician_name="Læge Hansen",
            responsible_physician_phone="+4539000000",
            actor=actor,
        ),
        actor=actor,
    )

    response = f.client_for(coordinator).post(
        f"/api/acute/episodes/{referral.episode_id}/complete",
        {"outcome": outcome, "note": "Oplyst af den vagthavende"},
        format="json",
    )
    assert response.status_code == 200, response.content

    # Referrer and the citizen's own GP are one practice: one message.
    [message] = OutboundMessage.objects.filter(partner=partner)
    assert message.event == Event.CARE_COMMUNICATION
    assert validate_message(message.bundle) == []
    communication = next(
        e["resource"]
        for e in message.bundle["entry"]
        if e["resource"]["resourceType"] == "Communication"
    )
    assert communication["category"][0]["coding"][0]["code"] == "carecoordination"
    text = communication["payload"][0]["contentString"]
    assert text == f"{said}\nOplyst af den vagthavende"
    assert outcome not in text
