"""R4 on the way out: a hand-off to a recipient the citizen has refused is
withheld — kept, shown to the coordinator with a machine-readable reason, and
audited as a denied disclosure — at the moment it is written and again just
before it is sent. Through a real worker, Redis and the simulators' HTTP inboxes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from acute import services as acute
from acute.models import Episode
from consent.audit.models import Action, AuditEntry, Outcome, Purpose
from consent.services import break_glass_open, consent_create, consent_withdraw
from core.actors import Actor
from core.models import Citizen, Organisation, Role
from integrations.messages import Event
from integrations.models import OutboundMessage, Partner
from integrations.outbound import message_send
from integrations.outbox import enqueue, outbox_deliver, resend
from integrations.receivers import admission_handoff_send, episode_end_send
from tests import factories as f
from tests.conftest import wait_for
from tests.consent import bodies
from tests.integrations.helpers import referral_from_1813, visit_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _refuse(citizen: Citizen, organisation: Organisation, acute_org: Organisation):
    """The citizen refuses disclosure to ``organisation`` (recorded by staff)."""
    admin = Actor.for_membership(f.staff(Role.ADMINISTRATOR, acute_org))
    return consent_create(
        actor=admin,
        data=bodies.refusal(citizen.pk, organisations=[organisation.pk]),
        purpose=Purpose.OPERATIONS,
    )


def _note(partner: Partner, citizen: Citizen, *, by: Actor | None = None) -> OutboundMessage:
    """The partner's CareCommunication about the citizen's episode (the
    outcome to a GP, the hand-back to home nursing)."""
    episode = (
        Episode.objects.filter(citizen=citizen).first() or f.acute_referral(person=citizen).episode
    )
    with transaction.atomic():
        message = message_send(
            partner=partner, event=Event.CARE_COMMUNICATION, about=episode, by=by
        )
    assert message is not None
    return message


def _denied(citizen: Citizen) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            citizen_id=citizen.pk, action=Action.DISCLOSE, outcome=Outcome.DENIED
        )
    )


def _visit(acute_org: Organisation, citizen: Citizen):
    """A referral accepted and a nurse's visit under way, as the coordinator makes it."""
    visit = visit_for(citizen, acute_org)
    return acute.visit_accept(
        visit=visit, actor=Actor.for_membership(visit.shift.nurse.memberships.get())
    )


def _status(message: OutboundMessage) -> str:
    return OutboundMessage.objects.get(pk=message.pk).status


def test_r4_a_refused_recipient_gets_nothing_the_message_is_withheld_shown_and_audited(
    network, celery_worker
) -> None:
    gp_org = network.gp.organisation
    citizen = f.citizen(gp=gp_org)
    _refuse(citizen, gp_org, network.acute)

    to_gp = _note(network.gp, citizen)
    to_home_nursing = _note(network.home_nursing, citizen)

    # The recipient she did not refuse gets its message; the refused one nothing.
    assert wait_for(lambda: _status(to_home_nursing) == OutboundMessage.Status.ACKNOWLEDGED)
    assert _status(to_gp) == OutboundMessage.Status.WITHHELD
    assert network.sims["gp"].state.requests == 0

    # The coordinator's board shows it with a machine-readable reason.
    coordinator = f.staff(Role.COORDINATOR, network.acute)
    board = f.client_for(coordinator).get("/api/integrations/outbox").json()["results"]
    [row] = [r for r in board if r["id"] == to_gp.pk]
    assert row["status"] == "withheld"
    assert row["reason_code"] == "consent.refused"
    assert "refused" in row["reason"]

    # Audited as a denied disclosure to the GP's organisation; the other as a disclosure.
    [denied] = _denied(citizen)
    assert denied.reason_code == "refused"
    assert denied.partner_organisation_id == gp_org.pk
    assert denied.resource_id == str(to_gp.bundle_id)
    assert denied.detail["checked_at"] == "enqueue"
    permitted = AuditEntry.objects.filter(
        citizen_id=citizen.pk, action=Action.DISCLOSE, outcome=Outcome.PERMITTED
    )
    assert list(permitted.values_list("partner_organisation_id", flat=True)) == [
        network.home_nursing.organisation_id
    ]


def test_r4_a_refusal_recorded_after_the_message_was_written_stops_its_delivery(network) -> None:
    gp_org = network.gp.organisation
    citizen = f.citizen(gp=gp_org)
    with transaction.atomic():
        message = _note(network.gp, citizen)
        # Not due yet: the refusal comes between writing and sending.
        OutboundMessage.objects.filter(pk=message.pk).update(
            next_attempt_at=timezone.now() + dt.timedelta(days=1)
        )
    _refuse(citizen, gp_org, network.acute)
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())

    assert outbox_deliver(message_pks=[message.pk]) == {message.pk: "withheld"}

    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.WITHHELD
    assert message.last_error_code == "consent.refused"
    assert message.deliveries.count() == 0  # no attempt: nothing left the platform
    assert network.sims["gp"].state.requests == 0
    [denied] = _denied(citizen)
    assert denied.detail["checked_at"] == "delivery"
    # A later claim does not send it either: it is no longer pending.
    assert outbox_deliver(message_pks=[message.pk]) == {}


@pytest.fixture
def delivered_by_hand(monkeypatch) -> None:
    """A message written or re-sent here is delivered by the test's own call,
    not handed to the broker after commit, where the worker another test left
    running would race it (the broker is the far side)."""
    monkeypatch.setattr(enqueue, "deliver_later", lambda pks, **_: None)
    monkeypatch.setattr(resend, "deliver_later", lambda pks, **_: None)


def test_r4_a_withdrawn_refusal_lets_the_coordinator_resend_the_withheld_message(
    network, delivered_by_hand
) -> None:
    gp_org = network.gp.organisation
    citizen = f.citizen(gp=gp_org)
    refusal = _refuse(citizen, gp_org, network.acute)
    message = _note(network.gp, citizen)
    assert _status(message) == OutboundMessage.Status.WITHHELD

    coordinator = f.staff(Role.COORDINATOR, network.acute)
    client = f.client_for(coordinator)
    # While the refusal stands, a re-send is withheld again.
    assert client.post(f"/api/integrations/outbox/{message.pk}/resend").status_code == 202
    assert outbox_deliver(message_pks=[message.pk]) == {message.pk: "withheld"}
    assert network.sims["gp"].state.requests == 0

    admin = Actor.for_membership(f.staff(Role.ADMINISTRATOR, network.acute))
    consent_withdraw(
        actor=admin, directive_id=refusal.pk, given_how="oral", purpose=Purpose.OPERATIONS
    )
    assert client.post(f"/api/integrations/outbox/{message.pk}/resend").status_code == 202
    assert outbox_deliver(message_pks=[message.pk]) == {message.pk: "acknowledged"}
    assert network.sims["gp"].processed_count(str(message.message_id)) == 1
    assert len(_denied(citizen)) == 2


def test_r4_status_back_to_1813_about_its_own_referral_goes_despite_a_refusal(
    network, delivered_by_hand
) -> None:
    helpline_org = network.helpline.organisation
    citizen = f.citizen()
    coordinator = Actor.for_membership(f.staff(Role.COORDINATOR, network.acute))
    referral = referral_from_1813(citizen, helpline_org, by=coordinator, external_id="1813-4711")
    _refuse(citizen, helpline_org, network.acute)
    acute.referral_accept(referral=referral, actor=coordinator)

    [message] = OutboundMessage.objects.filter(event=Event.REFERRAL_STATUS)
    assert outbox_deliver(message_pks=[message.pk]) == {message.pk: "acknowledged"}
    assert network.sims["1813"].processed_count(str(message.message_id)) == 1
    [disclosure] = AuditEntry.objects.filter(citizen_id=citizen.pk, action=Action.DISCLOSE)
    assert disclosure.outcome == Outcome.PERMITTED
    assert disclosure.reason_code == "reply_to_referrer"
    assert disclosure.detail["despite_refusal"] == "reply_to_referrer"


def _admission_hand_off_withheld(network) -> tuple[Any, Actor, OutboundMessage]:
    """A citizen who refused the hospital; her nurse sends her in, and the
    hand-off is withheld."""
    citizen = f.citizen()
    _refuse(citizen, network.hospital.organisation, network.acute)
    visit = _visit(network.acute, citizen)
    nurse = Actor.for_membership(visit.shift.nurse.memberships.get())
    with transaction.atomic():
        withheld = admission_handoff_send(visit=visit, by=nurse, reason="Sepsis, faldende BT")
    assert withheld is not None
    assert _status(withheld) == OutboundMessage.Status.WITHHELD
    return citizen, nurse, withheld


def test_r4_an_admission_hand_off_overrides_a_refusal_only_under_break_the_glass(
    network, delivered_by_hand
) -> None:
    citizen, nurse, withheld = _admission_hand_off_withheld(network)
    assert network.sims["hospital"].state.requests == 0

    # Life-threatening: the nurse breaks the glass; the coordinator re-sends.
    glass = break_glass_open(
        actor=nurse,
        citizen_id=citizen.pk,
        reason="Bevidstløs, kan ikke spørges; indlægges akut",
        basis="cannot_be_asked",
    )
    coordinator = f.staff(Role.COORDINATOR, network.acute)
    response = f.client_for(coordinator).post(f"/api/integrations/outbox/{withheld.pk}/resend")
    assert response.status_code == 202
    assert outbox_deliver(message_pks=[withheld.pk]) == {withheld.pk: "acknowledged"}
    assert network.sims["hospital"].processed_count(str(withheld.message_id)) == 1
    disclosure = AuditEntry.objects.get(
        citizen_id=citizen.pk, action=Action.DISCLOSE, outcome=Outcome.PERMITTED
    )
    assert disclosure.purpose == Purpose.EMERGENCY
    assert disclosure.reason_code == "break_glass"
    assert disclosure.detail["break_glass_id"] == glass.pk

    # Break-the-glass does not lift the refusal for what is no emergency.
    to_gp_refused = _refuse(citizen, network.gp.organisation, network.acute)
    assert to_gp_refused is not None
    note = _note(network.gp, citizen, by=nurse)
    assert _status(note) == OutboundMessage.Status.WITHHELD


def test_r4_a_break_the_glass_that_has_expired_no_longer_lifts_the_refusal(
    network, delivered_by_hand
) -> None:
    """The override is short (R4): a hand-off withheld before it was opened
    goes only while it is open, not after it has run out."""
    citizen, nurse, withheld = _admission_hand_off_withheld(network)
    now = timezone.now()
    OutboundMessage.objects.filter(pk=withheld.pk).update(created_at=now - dt.timedelta(hours=3))
    # Opened after the hand-off was withheld, and run out an hour ago.
    glass = break_glass_open(
        actor=nurse,
        citizen_id=citizen.pk,
        reason="Bevidstløs, kan ikke spørges; indlægges akut",
        basis="cannot_be_asked",
    )
    type(glass).objects.filter(pk=glass.pk).update(
        started_at=now - dt.timedelta(hours=2), expires_at=now - dt.timedelta(hours=1)
    )

    coordinator = f.staff(Role.COORDINATOR, network.acute)
    response = f.client_for(coordinator).post(f"/api/integrations/outbox/{withheld.pk}/resend")
    assert response.status_code == 202
    assert outbox_deliver(message_pks=[withheld.pk]) == {withheld.pk: "withheld"}
    assert _status(withheld) == OutboundMessage.Status.WITHHELD
    assert network.sims["hospital"].state.requests == 0
    assert not AuditEntry.objects.filter(
        citizen_id=citizen.pk, action=Action.DISCLOSE, outcome=Outcome.PERMITTED
    ).exists()
    assert [e.detail["checked_at"] for e in _denied(citizen)] == ["enqueue", "delivery"]


def test_r4_a_refused_department_gets_nothing_through_its_hospitals_partner(network) -> None:
    """The outcome to a referring hospital department goes through the
    partner that speaks for its hospital; the citizen's refusal of the
    department is asked for the department, when the message is written and
    again when it is sent."""
    hospital_org = network.hospital.organisation
    department = f.organisation(
        Organisation.Kind.HOSPITAL_DEPARTMENT, "Medicinsk afdeling", parent=hospital_org
    )
    other_department = f.organisation(
        Organisation.Kind.HOSPITAL_DEPARTMENT, "Ortopædkirurgisk afdeling", parent=hospital_org
    )
    refused, later, other = f.citizen(), f.citizen(), f.citizen()
    _refuse(refused, department, network.acute)
    _refuse(other, other_department, network.acute)

    messages = {}
    with transaction.atomic():
        for citizen in (refused, later, other):
            referral = f.acute_referral(person=citizen)
            type(referral).objects.filter(pk=referral.pk).update(
                source=type(referral).Source.HOSPITAL, source_organisation=department
            )
            referral.refresh_from_db()
            episode_end_send(episode=referral.episode, by=None)
            messages[citizen.pk] = OutboundMessage.objects.get(
                citizen=citizen, partner=network.hospital
            )
        # Not due yet: a refusal of the department comes before the send.
        OutboundMessage.objects.filter(pk=messages[later.pk].pk).update(
            next_attempt_at=timezone.now() + dt.timedelta(days=1)
        )

    assert _status(messages[refused.pk]) == OutboundMessage.Status.WITHHELD
    assert [(e.detail["partner"], e.detail["checked_at"]) for e in _denied(refused)] == [
        (network.hospital.code, "enqueue")
    ]
    # A refusal of another department of the hospital does not stop it.
    assert _status(messages[other.pk]) != OutboundMessage.Status.WITHHELD
    assert _denied(other) == []

    _refuse(later, department, network.acute)
    OutboundMessage.objects.filter(pk=messages[later.pk].pk).update(next_attempt_at=timezone.now())
    assert outbox_deliver(message_pks=[messages[later.pk].pk]) == {
        messages[later.pk].pk: "withheld"
    }
    assert [e.detail["checked_at"] for e in _denied(later)] == ["delivery"]
    assert network.sims["hospital"].processed_count(str(messages[refused.pk].message_id)) == 0
    assert network.sims["hospital"].processed_count(str(messages[later.pk].message_id)) == 0
