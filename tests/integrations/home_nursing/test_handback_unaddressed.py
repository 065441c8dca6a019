"""R11 when nobody is configured to receive what an ended episode owes: the
hand-back to the citizen's own municipality's home nursing, and the outcome
to the referrer. It is raised on the coordinator's board, never dropped
without a word, and never sent to another municipality's home nursing."""

from __future__ import annotations

import pytest

from acute.models import DeadlineWarning, Outcome, Referral
from acute.services import referral_accept, referral_create
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.models import Membership, Organisation, Role
from integrations.messages import Event
from integrations.models import OutboundMessage, Partner
from tests import factories as f

pytestmark = pytest.mark.django_db


def _referral(
    coordinator: Membership, *, citizen, source: str, organisation: Organisation | None
) -> Referral:
    actor = Actor.for_membership(coordinator)
    referral = referral_create(
        citizen=citizen,
        source=source,
        channel=Referral.Channel.PHONE,
        source_organisation=organisation,
        referrer_name="Henviser",
        referrer_phone="+4539000000",
        reason="Feber",
        clinical_picture="Temp 39",
        requested_actions="Vurdering",
        urgency="within_2_hours",
        responsible_physician_name="Læge Hansen",
        responsible_physician_phone="+4539000000",
        actor=actor,
    )
    return referral_accept(referral=referral, actor=actor)


def _end_through_the_api(coordinator: Membership, referral: Referral) -> None:
    response = f.client_for(coordinator).post(
        f"/api/acute/episodes/{referral.episode_id}/complete",
        {"outcome": Outcome.TREATED_AT_HOME},
        format="json",
    )
    assert response.status_code == 200, response.content


def _board(coordinator: Membership) -> list[dict]:
    response = f.client_for(coordinator).get("/api/acute/warnings")
    assert response.status_code == 200
    return response.json()["results"]


def test_r11_no_home_nursing_for_the_citizens_municipality_is_raised_on_the_board() -> None:
    citizen = f.citizen(municipality_code="159")
    # Only another municipality's home nursing is configured: it must not get
    # this citizen's hand-back.
    other = f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("157"))
    gp = f.gp_practice()
    f.integration_partner(Partner.Kind.GP, gp)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = _referral(coordinator, citizen=citizen, source="gp", organisation=gp)

    _end_through_the_api(coordinator, referral)

    assert not OutboundMessage.objects.filter(partner=other).exists()
    board = _board(coordinator)
    assert [(w["kind"], w["referral"]) for w in board] == [
        (DeadlineWarning.Kind.HANDBACK_UNSENT, referral.pk)
    ]
    assert board[0]["detail"] == {"episode": referral.episode_id, "municipality": "159"}
    # The hand-back withheld from everyone is a denied disclosure (R9).
    [denied] = AuditEntry.objects.filter(citizen_id=citizen.pk, reason_code="no_recipient")
    assert (denied.action, denied.outcome) == ("disclose", "denied")
    assert (denied.resource_type, denied.resource_id) == ("EpisodeOfCare", str(referral.episode_id))
    assert denied.detail["event"] == Event.CARE_COMMUNICATION
    assert denied.actor_user_id == coordinator.user_id
    # Once she has phoned it through, the coordinator acknowledges it.
    ack = f.client_for(coordinator).post(f"/api/acute/warnings/{board[0]['id']}/acknowledge")
    assert ack.status_code == 200, ack.content
    assert _board(coordinator) == []


def test_r11_a_switched_off_home_nursing_partner_is_raised_too() -> None:
    citizen = f.citizen(municipality_code="173")
    f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("173"), is_active=False)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = _referral(
        coordinator, citizen=citizen, source="home_nursing", organisation=f.home_nursing("173")
    )

    _end_through_the_api(coordinator, referral)

    assert not OutboundMessage.objects.filter(event=Event.CARE_COMMUNICATION).exists()
    assert [w["kind"] for w in _board(coordinator)] == [DeadlineWarning.Kind.HANDBACK_UNSENT]


def test_r11_a_configured_hand_back_and_referrer_raise_nothing() -> None:
    citizen = f.citizen(municipality_code="230")
    own = f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("230"))
    gp = f.gp_practice()
    practice = f.integration_partner(Partner.Kind.GP, gp)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = _referral(coordinator, citizen=citizen, source="gp", organisation=gp)

    _end_through_the_api(coordinator, referral)

    sent_to = set(
        OutboundMessage.objects.filter(event=Event.CARE_COMMUNICATION).values_list(
            "partner", flat=True
        )
    )
    assert sent_to == {own.pk, practice.pk}
    assert _board(coordinator) == []


@pytest.mark.parametrize("source", ["gp", "hospital", "helpline_1813"])
def test_r11_a_referrer_no_partner_speaks_for_is_raised_for_the_coordinator_to_tell(
    source: str,
) -> None:
    """A GP, a hospital department or 1813 whose organisation has no partner
    configured (a phone referral with no organisation at all, for a GP): the
    outcome cannot be sent, so the coordinator is asked to tell them."""
    citizen = f.citizen(municipality_code="157")
    f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("157"))
    organisation = {
        "gp": None,
        "hospital": f.hospital_department(),
        "helpline_1813": f.organisation(Organisation.Kind.HELPLINE_1813),
    }[source]
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = _referral(coordinator, citizen=citizen, source=source, organisation=organisation)

    _end_through_the_api(coordinator, referral)

    assert [
        (w["kind"], w["referral"])
        for w in _board(coordinator)
        if w["kind"] != DeadlineWarning.Kind.STATUS_UNSENT  # 1813's accept, unsent too
    ] == [(DeadlineWarning.Kind.REFERRER_UNTOLD, referral.pk)]
    withheld = AuditEntry.objects.filter(
        citizen_id=citizen.pk, reason_code="no_recipient", resource_type="EpisodeOfCare"
    )
    assert [(e.action, e.outcome) for e in withheld] == [("disclose", "denied")]


def test_r11_an_1813_referrer_with_its_partner_is_told_and_nothing_is_raised() -> None:
    citizen = f.citizen(municipality_code="157")
    f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("157"))
    helpline = f.organisation(Organisation.Kind.HELPLINE_1813)
    partner = f.integration_partner(Partner.Kind.HELPLINE_1813, helpline)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = _referral(
        coordinator, citizen=citizen, source="helpline_1813", organisation=helpline
    )

    _end_through_the_api(coordinator, referral)

    assert OutboundMessage.objects.filter(partner=partner, event=Event.REFERRAL_STATUS).exists()
    assert _board(coordinator) == []


def test_r11_an_episode_ended_twice_hands_back_once() -> None:
    citizen = f.citizen(municipality_code="159")
    own = f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("159"))
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)

    _end_through_the_api(coordinator, referral)
    again = f.client_for(coordinator).post(
        f"/api/acute/episodes/{referral.episode_id}/complete",
        {"outcome": Outcome.ADMITTED},
        format="json",
    )

    # The acute function's care relationship ended with the episode: to the
    # coordinator a closed episode is no longer there to end.
    assert again.status_code == 404, again.content
    assert OutboundMessage.objects.filter(partner=own).count() == 1


@pytest.mark.parametrize("partner_state", ["switched_off", "none"])
def test_r11_the_outcome_her_own_gp_cannot_be_sent_is_audited_as_withheld(
    partner_state: str,
) -> None:
    """Another GP referred her; her own practice is told the outcome where a
    partner carries it. Where none does, the withheld outcome is on her audit
    log (R9), and the board is not given a phone task R11 does not ask for."""
    own_gp = f.gp_practice()
    if partner_state == "switched_off":
        f.integration_partner(Partner.Kind.GP, own_gp, is_active=False)
    citizen = f.citizen(municipality_code="157", gp=own_gp)
    f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("157"))
    referring_gp = f.gp_practice()
    f.integration_partner(Partner.Kind.GP, referring_gp)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = _referral(coordinator, citizen=citizen, source="gp", organisation=referring_gp)

    _end_through_the_api(coordinator, referral)

    [withheld] = AuditEntry.objects.filter(citizen_id=citizen.pk, reason_code="no_recipient")
    assert (withheld.action, withheld.outcome) == ("disclose", "denied")
    assert withheld.detail == {
        "event": Event.CARE_COMMUNICATION,
        "episode": referral.episode_id,
        "recipient": "gp",
    }
    assert _board(coordinator) == []
    assert OutboundMessage.objects.filter(partner__organisation=referring_gp).exists()


def test_r11_her_gp_told_as_the_referrer_is_not_withheld_twice() -> None:
    own_gp = f.gp_practice()
    citizen = f.citizen(municipality_code="157", gp=own_gp)
    f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("157"))
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = _referral(coordinator, citizen=citizen, source="gp", organisation=own_gp)

    _end_through_the_api(coordinator, referral)

    # Her GP referred her and has no partner: one phone task, one withheld entry.
    assert [w["kind"] for w in _board(coordinator)] == [DeadlineWarning.Kind.REFERRER_UNTOLD]
    assert AuditEntry.objects.filter(citizen_id=citizen.pk, reason_code="no_recipient").count() == 1
