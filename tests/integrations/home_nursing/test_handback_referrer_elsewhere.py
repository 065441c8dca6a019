"""R11 when the home nursing that referred the citizen is not her own
municipality's — she lives elsewhere, or moved during the episode: the
hand-back goes to the home nursing of the municipality she lives in when the
episode ends, and the referring home nursing is told the outcome as any
referrer is (not the hand-back: R3), or the coordinator is warned."""

from __future__ import annotations

import pytest

from acute.models import DeadlineWarning
from core.models import Organisation, Role
from integrations.models import OutboundMessage, Partner
from tests import factories as f
from tests.integrations.home_nursing.test_handback_unaddressed import (
    _board,
    _end_through_the_api,
    _referral,
)

pytestmark = pytest.mark.django_db

HAND_BACK, OUTCOME = "acute.episode.handback", "acute.episode"


def _sent(partner: Partner) -> list[tuple[str, str]]:
    return list(OutboundMessage.objects.filter(partner=partner).values_list("event", "source_type"))


def test_r11_home_nursing_of_another_municipality_that_referred_is_told_the_outcome() -> None:
    citizen = f.citizen(municipality_code="159")
    referring = f.home_nursing("157")
    referrer = f.integration_partner(Partner.Kind.HOME_NURSING, referring)
    own = f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("159"))
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = _referral(
        coordinator, citizen=citizen, source="home_nursing", organisation=referring
    )

    _end_through_the_api(coordinator, referral)

    assert _sent(own) == [("care-communication", HAND_BACK)]
    assert _sent(referrer) == [("care-communication", OUTCOME)]
    assert _board(coordinator) == []


def test_r11_a_citizen_who_moved_during_the_episode_is_handed_back_where_she_lives_now() -> None:
    citizen = f.citizen(municipality_code="157")
    referring = f.home_nursing("157")
    old = f.integration_partner(Partner.Kind.HOME_NURSING, referring)
    new = f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("159"))
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = _referral(
        coordinator, citizen=citizen, source="home_nursing", organisation=referring
    )
    citizen.municipality = Organisation.objects.get(
        kind=Organisation.Kind.MUNICIPALITY, municipality_code="159"
    )
    citizen.save(update_fields=["municipality"])

    _end_through_the_api(coordinator, referral)

    assert _sent(new) == [("care-communication", HAND_BACK)]
    assert _sent(old) == [("care-communication", OUTCOME)]


def test_r11_the_citizens_own_home_nursing_that_referred_gets_the_hand_back_only() -> None:
    citizen = f.citizen(municipality_code="157")
    referring = f.home_nursing("157")
    own = f.integration_partner(Partner.Kind.HOME_NURSING, referring)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = _referral(
        coordinator, citizen=citizen, source="home_nursing", organisation=referring
    )

    _end_through_the_api(coordinator, referral)

    assert _sent(own) == [("care-communication", HAND_BACK)]
    assert _board(coordinator) == []


def test_r11_a_referring_home_nursing_nobody_speaks_for_is_raised_on_the_board() -> None:
    citizen = f.citizen(municipality_code="159")
    referring = f.home_nursing("157")  # no partner configured for it
    own = f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("159"))
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = _referral(
        coordinator, citizen=citizen, source="home_nursing", organisation=referring
    )

    _end_through_the_api(coordinator, referral)

    assert _sent(own) == [("care-communication", HAND_BACK)]
    assert [(w["kind"], w["referral"]) for w in _board(coordinator)] == [
        (DeadlineWarning.Kind.REFERRER_UNTOLD, referral.pk)
    ]
