"""A hand-off no partner receives goes to nobody (R3), but never unseen: the
results the GP asked for (HomeCareObservation), the request to confirm a
physician's phone order (R8) and the steps of an 1813 referral (R12) are
raised on the coordinator's board for her to pass on by phone, and the
withheld disclosure is audited as denied (R9)."""

from __future__ import annotations

import pytest
from django.test import Client

from acute.clinical.models import MedicationOrder
from acute.models import DeadlineWarning, Outcome, Referral
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.models import Citizen, Membership, Organisation, Role
from integrations.messages import Event
from integrations.models import OutboundMessage, Partner
from tests import factories as f
from tests.acute.clinical.conftest import PHONE_ORDER, Scene, visit_scene
from tests.core.test_danish_pages import _read
from tests.integrations.helpers import referral_from_1813

pytestmark = pytest.mark.django_db

RESULTS = {
    "results": [
        {"code": "NPU03230", "value": "3.1", "unit": "mmol/L"},
        {"code": "NPU18016", "value": "95", "unit": "umol/L"},
    ]
}


def _board(coordinator: Membership, kind: str) -> list[dict]:
    response = f.client_for(coordinator).get("/api/acute/warnings")
    assert response.status_code == 200, response.content
    return [w for w in response.json()["results"] if w["kind"] == kind]


def _withheld(citizen: Citizen, event: str) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            citizen_id=citizen.pk, reason_code="no_recipient", detail__event=event
        )
    )


def _record_results(scene: Scene) -> None:
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results", RESULTS, format="json"
    )
    assert response.status_code == 201, response.content


def _record_phone_order(scene: Scene) -> MedicationOrder:
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders", PHONE_ORDER, format="json"
    )
    assert response.status_code == 201, response.content
    return MedicationOrder.objects.get(pk=response.json()["id"])


# --- Results to the GP who asked ---------------------------------------------


@pytest.mark.parametrize("practice", ["without_partner", "switched_off", "none_at_all"])
def test_results_no_partner_receives_are_raised_for_the_coordinator_to_tell_the_gp(
    practice: str,
) -> None:
    scene = visit_scene()
    if practice == "switched_off":
        f.integration_partner(Partner.Kind.GP, scene.gp, is_active=False)
    if practice == "none_at_all":
        # A GP's phone referral naming no practice, for a citizen with no GP.
        Referral.objects.filter(pk=scene.referral.pk).update(source_organisation=None)
        Citizen.objects.filter(pk=scene.citizen.pk).update(gp_practice=None)

    _record_results(scene)

    assert not OutboundMessage.objects.filter(event=Event.HOME_CARE_OBSERVATION).exists()
    [warning] = _board(scene.coordinator, DeadlineWarning.Kind.RESULTS_UNSENT)
    assert warning["referral"] == scene.referral.pk
    assert warning["detail"]["visit"] == scene.visit.pk
    # Sodium and creatinine, with the eGFR derived from it.
    assert len(warning["detail"]["results"]) == 3
    [denied] = _withheld(scene.citizen, Event.HOME_CARE_OBSERVATION)
    assert (denied.action, denied.outcome) == ("disclose", "denied")
    assert denied.actor_user_id == scene.nurse.user_id
    assert denied.resource_id == f"visit-{scene.visit.pk}"


def test_results_recorded_twice_on_a_referral_raise_one_warning_until_acknowledged() -> None:
    scene = visit_scene()
    _record_results(scene)
    _record_results(scene)

    [warning] = _board(scene.coordinator, DeadlineWarning.Kind.RESULTS_UNSENT)
    # Each withheld disclosure is audited all the same.
    assert len(_withheld(scene.citizen, Event.HOME_CARE_OBSERVATION)) == 2

    # Once she has phoned the GP, new results not sent are news to her again.
    ack = f.client_for(scene.coordinator).post(f"/api/acute/warnings/{warning['id']}/acknowledge")
    assert ack.status_code == 200, ack.content
    assert _board(scene.coordinator, DeadlineWarning.Kind.RESULTS_UNSENT) == []
    _record_results(scene)
    [again] = _board(scene.coordinator, DeadlineWarning.Kind.RESULTS_UNSENT)
    assert again["id"] == warning["id"]


def test_results_reaching_the_gp_raise_nothing() -> None:
    scene = visit_scene()
    f.integration_partner(Partner.Kind.GP, scene.gp)

    _record_results(scene)

    assert OutboundMessage.objects.filter(event=Event.HOME_CARE_OBSERVATION).count() == 1
    assert _board(scene.coordinator, DeadlineWarning.Kind.RESULTS_UNSENT) == []
    assert _withheld(scene.citizen, Event.HOME_CARE_OBSERVATION) == []


# --- R8: asking the ordering physician to confirm a phone order ---------------


def test_r8_a_phone_order_nobody_can_be_asked_to_confirm_is_raised_on_the_board() -> None:
    scene = visit_scene()

    order = _record_phone_order(scene)

    assert not OutboundMessage.objects.filter(event=Event.ORDER_CONFIRMATION_REQUEST).exists()
    [warning] = _board(scene.coordinator, DeadlineWarning.Kind.ORDER_UNSENT)
    assert warning["referral"] == scene.referral.pk
    assert warning["detail"] == {"visit": scene.visit.pk, "order": order.pk}
    [denied] = _withheld(scene.citizen, Event.ORDER_CONFIRMATION_REQUEST)
    assert (denied.action, denied.outcome) == ("disclose", "denied")
    assert (denied.resource_type, denied.resource_id) == ("MedicationRequest", str(order.pk))
    assert denied.actor_user_id == scene.nurse.user_id


def test_r8_a_second_order_after_the_first_was_handled_is_raised_again() -> None:
    scene = visit_scene()
    _record_phone_order(scene)
    [first] = _board(scene.coordinator, DeadlineWarning.Kind.ORDER_UNSENT)
    ack = f.client_for(scene.coordinator).post(f"/api/acute/warnings/{first['id']}/acknowledge")
    assert ack.status_code == 200, ack.content

    second = _record_phone_order(scene)

    [warning] = _board(scene.coordinator, DeadlineWarning.Kind.ORDER_UNSENT)
    assert warning["detail"]["order"] == second.pk
    assert len(_withheld(scene.citizen, Event.ORDER_CONFIRMATION_REQUEST)) == 2


def test_r8_an_order_the_practice_is_asked_to_confirm_raises_nothing() -> None:
    scene = visit_scene()
    f.integration_partner(Partner.Kind.GP, scene.gp)

    _record_phone_order(scene)

    assert OutboundMessage.objects.filter(event=Event.ORDER_CONFIRMATION_REQUEST).count() == 1
    assert _board(scene.coordinator, DeadlineWarning.Kind.ORDER_UNSENT) == []
    assert _withheld(scene.citizen, Event.ORDER_CONFIRMATION_REQUEST) == []


# --- R12: 1813 told where its referral stands ---------------------------------


def _referral_from_1813(coordinator: Membership, helpline: Organisation) -> Referral:
    return referral_from_1813(
        f.citizen(municipality_code="157"),
        helpline,
        by=Actor.for_membership(coordinator),
        external_id="1813-untold",
    )


@pytest.mark.parametrize("configured", ["none", "switched_off"])
def test_r12_1813_without_a_partner_is_raised_for_the_coordinator_to_tell(
    configured: str,
) -> None:
    helpline = f.organisation(Organisation.Kind.HELPLINE_1813)
    if configured == "switched_off":
        f.integration_partner(Partner.Kind.HELPLINE_1813, helpline, is_active=False)
    f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("157"))
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = _referral_from_1813(coordinator, helpline)

    accepted = f.client_for(coordinator).post(f"/api/acute/referrals/{referral.pk}/accept")
    assert accepted.status_code == 200, accepted.content

    assert not OutboundMessage.objects.filter(event=Event.REFERRAL_STATUS).exists()
    [warning] = _board(coordinator, DeadlineWarning.Kind.STATUS_UNSENT)
    assert (warning["referral"], warning["detail"]) == (referral.pk, {"step": "accepted"})
    [denied] = _withheld(referral.citizen, Event.REFERRAL_STATUS)
    assert (denied.action, denied.outcome) == ("disclose", "denied")
    assert (denied.resource_type, denied.resource_id) == ("ServiceRequest", str(referral.pk))
    assert denied.actor_user_id == coordinator.user_id

    # At the episode's end the outcome is what 1813 must hear: raised once, as
    # the referrer's, not a second time as a step.
    referral.refresh_from_db()
    ended = f.client_for(coordinator).post(
        f"/api/acute/episodes/{referral.episode_id}/complete",
        {"outcome": Outcome.TREATED_AT_HOME},
        format="json",
    )
    assert ended.status_code == 200, ended.content
    assert len(_board(coordinator, DeadlineWarning.Kind.STATUS_UNSENT)) == 1
    [untold] = _board(coordinator, DeadlineWarning.Kind.REFERRER_UNTOLD)
    assert untold["referral"] == referral.pk
    assert len(_withheld(referral.citizen, Event.REFERRAL_STATUS)) == 2


def test_r12_1813_with_its_partner_hears_each_step_and_nothing_is_raised() -> None:
    helpline = f.organisation(Organisation.Kind.HELPLINE_1813)
    f.integration_partner(Partner.Kind.HELPLINE_1813, helpline)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = _referral_from_1813(coordinator, helpline)

    accepted = f.client_for(coordinator).post(f"/api/acute/referrals/{referral.pk}/accept")
    assert accepted.status_code == 200, accepted.content

    assert OutboundMessage.objects.filter(event=Event.REFERRAL_STATUS).count() == 1
    assert _board(coordinator, DeadlineWarning.Kind.STATUS_UNSENT) == []
    assert _withheld(referral.citizen, Event.REFERRAL_STATUS) == []


# --- The coordinator's board reads them in Danish -----------------------------


def test_the_board_page_names_each_hand_off_gone_to_nobody_in_danish() -> None:
    scene = visit_scene()
    _record_results(scene)
    _record_phone_order(scene)
    helpline = f.organisation(Organisation.Kind.HELPLINE_1813)
    referral = _referral_from_1813(scene.coordinator, helpline)
    accepted = f.client_for(scene.coordinator).post(f"/api/acute/referrals/{referral.pk}/accept")
    assert accepted.status_code == 200, accepted.content

    client = Client()
    f.log_in(client, scene.coordinator)
    response = client.get("/coordinator/", HTTP_ACCEPT_LANGUAGE="da")
    assert response.status_code == 200
    text, _links = _read(response.content.decode())
    assert "Ingen praktiserende læge modtager besøgets prøvesvar: giv lægen besked" in text
    assert (
        "Telefonordinationen kan ikke sendes til bekræftelse: "
        "bed den ordinerende læge bekræfte den" in text
    )
    assert "1813 kan ikke få besked om, hvor henvisningen står: giv 1813 besked" in text
    for code in ("results_unsent", "order_unsent", "status_unsent"):
        assert code not in text
