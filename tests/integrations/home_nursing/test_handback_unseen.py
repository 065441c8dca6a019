"""R11 when the citizen was not seen. Not found: her own home nursing gets the
hand-back — they should know nobody met her. A referral that lapsed before any
nurse reached her leaves home nursing nothing to take over: no hand-back, and
nothing raised as unsent; a home nursing that referred her is told the
outcome as any referrer. Once a nurse was at the door there is a visit to
hand back, lapsed or not."""

from __future__ import annotations

import pytest

from acute import services as acute
from acute.models import DeadlineWarning, Visit
from core.actors import Actor
from core.models import Role
from integrations.models import OutboundMessage, Partner
from tests import factories as f
from tests.integrations.home_nursing.test_handback_unaddressed import _board, _referral

pytestmark = pytest.mark.django_db

HAND_BACK, OUTCOME = "acute.episode.handback", "acute.episode"


def _sent(partner: Partner) -> list[tuple[str, str]]:
    return list(OutboundMessage.objects.filter(partner=partner).values_list("event", "source_type"))


def _text(partner: Partner) -> str:
    [message] = OutboundMessage.objects.filter(partner=partner)
    communication = next(
        e["resource"]
        for e in message.bundle["entry"]
        if e["resource"]["resourceType"] == "Communication"
    )
    return communication["payload"][0]["contentString"]


def _end(coordinator, referral, outcome: str) -> None:
    response = f.client_for(coordinator).post(
        f"/api/acute/episodes/{referral.episode_id}/complete",
        {"outcome": outcome, "note": "Oplyst af den vagthavende"},
        format="json",
    )
    assert response.status_code == 200, response.content


def test_r11_home_nursing_is_handed_back_a_citizen_not_found() -> None:
    citizen = f.citizen(municipality_code="157")
    own = f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("157"))
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)

    _end(coordinator, referral, "citizen_not_found")

    assert _sent(own) == [("care-communication", HAND_BACK)]
    assert _text(own).startswith("Akut forløb afsluttet: Borgeren blev ikke truffet.")


def test_r11_a_referral_lapsed_before_anyone_came_sends_home_nursing_no_hand_back() -> None:
    citizen = f.citizen(municipality_code="157")
    own = f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("157"))
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)

    _end(coordinator, referral, "referral_lapsed")

    assert _sent(own) == []
    assert not DeadlineWarning.objects.filter(kind=DeadlineWarning.Kind.HANDBACK_UNSENT).exists()


def test_r11_no_home_nursing_configured_is_not_raised_when_nothing_is_handed_back() -> None:
    citizen = f.citizen(municipality_code="159")
    gp = f.gp_practice()
    f.integration_partner(Partner.Kind.GP, gp)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = _referral(coordinator, citizen=citizen, source="gp", organisation=gp)

    _end(coordinator, referral, "referral_lapsed")

    assert _board(coordinator) == []


def test_r11_the_own_home_nursing_that_referred_is_told_a_lapsed_referral_once() -> None:
    citizen = f.citizen(municipality_code="157")
    referring = f.home_nursing("157")
    own = f.integration_partner(Partner.Kind.HOME_NURSING, referring)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = _referral(
        coordinator, citizen=citizen, source="home_nursing", organisation=referring
    )

    _end(coordinator, referral, "referral_lapsed")

    assert _sent(own) == [("care-communication", OUTCOME)]
    assert _text(own) == "Akut forløb afsluttet: Henvisningen bortfaldt.\nOplyst af den vagthavende"
    assert _board(coordinator) == []


def test_r11_a_referral_lapsed_after_a_nurse_was_at_the_door_is_handed_back() -> None:
    citizen = f.citizen(municipality_code="157")
    own = f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("157"))
    nurse, shift = f.acute_nurse_on_shift()
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)
    visit = acute.visit_assign(
        referral=referral, shift=shift, actor=Actor.for_membership(coordinator)
    )
    client = f.client_for(nurse)
    for step in ("accept", "en-route", "on-site"):
        assert client.post(f"/api/acute/visits/{visit.pk}/{step}").status_code == 200

    done = client.post(
        f"/api/acute/visits/{visit.pk}/complete",
        {"outcome": "referral_lapsed", "assessment": "Naboen oplyser: indlagt via 112 i nat"},
        format="json",
    )

    assert done.status_code == 200, done.content
    assert Visit.objects.get(pk=visit.pk).outcome == "referral_lapsed"
    assert _sent(own) == [("care-communication", HAND_BACK)]
    text = _text(own)
    assert text.startswith("Akut forløb afsluttet: Henvisningen bortfaldt.")
    assert "Naboen oplyser: indlagt via 112 i nat" in text
