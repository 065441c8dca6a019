"""Referrals, triage, dispatch and the visit state machine, through the services."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import override_settings
from django.utils import timezone

from acute import services, signals
from acute.models import DeadlineWarning, Episode, NurseShift, Referral, Visit
from consent.audit.models import AuditEntry
from consent.gate import access_decide
from consent.models import CareRelationship
from core.actors import Actor
from core.errors import Conflict, Forbidden, InvalidInput, NotFoundOrNotAllowed, PreconditionFailed
from core.models import Role
from tests import factories as f

pytestmark = pytest.mark.django_db


def actor(membership) -> Actor:
    return Actor.for_membership(membership)


@pytest.fixture
def coordinator():
    return f.staff(Role.COORDINATOR, f.acute_function())


def test_referral_without_responsible_physician_is_refused(coordinator):
    """A referral must name the physician holding treatment responsibility (behandlingsansvar)."""
    person = f.citizen()
    with pytest.raises(InvalidInput) as caught:
        services.referral_create(
            citizen=person,
            source="gp",
            channel="phone",
            referrer_name="Læge Hansen",
            referrer_phone="+4539000000",
            reason="Feber",
            clinical_picture="Temp 39",
            requested_actions="Vurdering",
            urgency="within_2_hours",
            responsible_physician_name="  ",
            responsible_physician_phone="+4539000000",
            actor=actor(coordinator),
        )
    assert caught.value.code == "referral.responsible_physician_required"
    assert not Referral.objects.exists()
    assert not Episode.objects.exists()


def test_second_referral_joins_the_open_episode_and_opens_the_acute_function_relationship(
    coordinator,
):
    """R1: an active referral gives the acute function a care relationship with the citizen."""
    person = f.citizen()
    first = f.acute_referral(person=person, by=coordinator)
    second = f.acute_referral(person=person, by=coordinator, accepted=False)
    assert first.episode_id == second.episode_id
    assert Episode.objects.count() == 1
    relationship = CareRelationship.objects.get(citizen=person, ended_at__isnull=True)
    assert relationship.basis == CareRelationship.Basis.REFERRAL
    assert relationship.user is None
    assert (
        AuditEntry.objects.filter(
            citizen_id=person.pk, action="create", resource_type="ServiceRequest"
        ).count()
        == 2
    )


def test_deadline_follows_the_urgency_class(coordinator):
    """R10: "within 2 hours" is two hours after receipt by default."""
    referral = f.acute_referral(by=coordinator)
    assert referral.deadline_at - referral.received_at == dt.timedelta(hours=2)
    tomorrow = f.acute_referral(by=coordinator, urgency="next_day")
    assert tomorrow.deadline_at > tomorrow.received_at + dt.timedelta(hours=8)


def test_decline_sends_the_reason_and_ends_a_lone_episode(coordinator):
    received = []

    def listener(sender, **kwargs):
        received.append(kwargs)

    signals.referral_declined.connect(listener)
    try:
        referral = f.acute_referral(by=coordinator, accepted=False)
        services.referral_decline(
            referral=referral, reason="Skal indlægges", actor=actor(coordinator)
        )
    finally:
        signals.referral_declined.disconnect(listener)
    assert received[0]["reason"] == "Skal indlægges"
    referral.refresh_from_db()
    assert referral.status == Referral.Status.DECLINED
    assert referral.episode.status == Episode.Status.CANCELLED
    assert not CareRelationship.objects.filter(ended_at__isnull=True).exists()


def test_ranking_prefers_the_nurse_who_arrives_in_time():
    _near, near_shift = f.acute_nurse_on_shift(latitude=55.751, longitude=12.546)
    _far, far_shift = f.acute_nurse_on_shift(latitude=55.87, longitude=12.40)
    _off, off_shift = f.acute_nurse_on_shift(latitude=55.750, longitude=12.545)
    off_shift.status = NurseShift.Status.OFF
    off_shift.save(update_fields=["status"])
    _unskilled, _ = f.acute_nurse_on_shift(skills=(), latitude=55.750, longitude=12.545)
    referral = f.acute_referral(required_skills=("iv_treatment",))
    ranked = services.dispatch_rank(referral=referral)
    assert [s.shift_id for s in ranked] == [near_shift.pk, far_shift.pk]
    assert ranked[0].meets_deadline
    assert ranked[0].travel_minutes < ranked[1].travel_minutes


def test_busy_nurse_is_planned_from_the_end_of_her_current_visit():
    busy, busy_shift = f.acute_nurse_on_shift(latitude=55.750, longitude=12.545)
    f.acute_nurse_on_shift(latitude=55.752, longitude=12.547)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    first = f.acute_referral(by=coordinator)
    services.visit_assign(referral=first, shift=busy_shift, actor=actor(coordinator))
    second = f.acute_referral(by=coordinator)
    ranked = services.dispatch_rank(referral=second)
    # The free nurse close by comes first; the busy one is still eligible, later.
    assert ranked[0].nurse_id != busy.user_id
    busy_row = next(s for s in ranked if s.nurse_id == busy.user_id)
    assert busy_row.load == 1
    assert busy_row.estimated_arrival_at > timezone.now() + dt.timedelta(minutes=40)


def test_full_visit_from_assignment_to_outcome_ends_the_episode_and_access(coordinator):
    """R1 and R11: the nurse sees the citizen while assigned; completing the episode
    ends every care relationship and sends episode_completed."""
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    visit = services.visit_assign(referral=referral, shift=shift, actor=actor(coordinator))
    decision = access_decide(
        actor=actor(nurse),
        citizen=referral.citizen,
        action="read",
        category="patient",
        purpose="treatment",
    )
    assert decision.permitted
    completed = []

    def listener(sender, **kwargs):
        completed.append(kwargs)

    signals.episode_completed.connect(listener)
    try:
        services.visit_accept(visit=visit, actor=actor(nurse))
        services.visit_set_off(visit=visit, actor=actor(nurse))
        shift.refresh_from_db()
        assert shift.status == NurseShift.Status.EN_ROUTE
        services.visit_arrive(visit=visit, actor=actor(nurse))
        services.vital_signs_record(
            visit=visit, measurements=[("8867-4", 92), ("8310-5", "38.6")], actor=actor(nurse)
        )
        services.visit_note_add(
            visit=visit, kind="note", text="Drikker dårligt", actor=actor(nurse)
        )
        services.visit_complete(
            visit=visit, outcome="treated_at_home", assessment="UVI, behandlet", actor=actor(nurse)
        )
    finally:
        signals.episode_completed.disconnect(listener)
    visit.refresh_from_db()
    referral.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED
    assert visit.accepted_at and visit.en_route_at and visit.on_site_at and visit.completed_at
    assert referral.reached_at == visit.on_site_at
    assert referral.status == Referral.Status.CLOSED
    assert referral.episode.outcome == "treated_at_home"
    assert completed and completed[0]["outcome"] == "treated_at_home"
    assert not CareRelationship.objects.filter(ended_at__isnull=True).exists()
    assert not access_decide(
        actor=actor(nurse),
        citizen=referral.citizen,
        action="read",
        category="patient",
        purpose="treatment",
    ).permitted
    shift.refresh_from_db()
    assert shift.status == NurseShift.Status.AVAILABLE


def test_out_of_order_transitions_and_wrong_people_are_refused(coordinator):
    nurse, shift = f.acute_nurse_on_shift()
    other_nurse, _ = f.acute_nurse_on_shift()
    visit = services.visit_assign(
        referral=f.acute_referral(by=coordinator), shift=shift, actor=actor(coordinator)
    )
    with pytest.raises(Conflict) as caught:
        services.visit_arrive(visit=visit, actor=actor(nurse))
    assert caught.value.code == "visit.transition_not_allowed"
    with pytest.raises(NotFoundOrNotAllowed):
        services.visit_accept(visit=visit, actor=actor(other_nurse))
    with pytest.raises(Forbidden):
        services.visit_accept(visit=visit, actor=actor(coordinator))
    with pytest.raises(Conflict):
        services.vital_signs_record(visit=visit, measurements=[("8867-4", 80)], actor=actor(nurse))
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ASSIGNED


def test_second_assignment_of_a_referral_is_refused(coordinator):
    _n1, shift1 = f.acute_nurse_on_shift()
    _n2, shift2 = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    services.visit_assign(referral=referral, shift=shift1, actor=actor(coordinator))
    with pytest.raises(Conflict) as caught:
        services.visit_assign(referral=referral, shift=shift2, actor=actor(coordinator))
    assert caught.value.code == "referral.already_assigned"


def test_load_limit_applies():
    _nurse, shift = f.acute_nurse_on_shift(max_load=1)
    services.visit_assign(referral=f.acute_referral(), shift=shift, actor=Actor.system("test"))
    with pytest.raises(Conflict) as caught:
        services.visit_assign(referral=f.acute_referral(), shift=shift, actor=Actor.system("test"))
    assert caught.value.code == "dispatch.load_limit"


def test_nurse_off_shift_cannot_be_assigned():
    _nurse, shift = f.acute_nurse_on_shift(hours_before=10, hours_after=-2)
    with pytest.raises(PreconditionFailed) as caught:
        services.visit_assign(referral=f.acute_referral(), shift=shift, actor=Actor.system("test"))
    assert caught.value.code == "dispatch.not_on_shift"


@override_settings(ACUTE_AUTO_ASSIGN=True)
def test_decline_moves_on_to_the_next_nurse_when_auto_assigning():
    first, _first_shift = f.acute_nurse_on_shift(latitude=55.7501, longitude=12.5451)
    second, _second_shift = f.acute_nurse_on_shift(latitude=55.80, longitude=12.50)
    referral = f.acute_referral()  # accepted -> auto-assigned to the nearest
    visit = Visit.objects.get(referral=referral, status="assigned")
    assert visit.nurse_id == first.user_id
    assert visit.assigned_by is None
    services.visit_decline(visit=visit, reason="Bilen er i stykker", actor=actor(first))
    nxt = Visit.objects.get(referral=referral, status="assigned")
    assert nxt.nurse_id == second.user_id
    assert not CareRelationship.objects.filter(user=first.user, ended_at__isnull=True).exists()


@override_settings(ACUTE_AUTO_ASSIGN=True)
def test_no_answer_in_time_moves_on():
    first, _ = f.acute_nurse_on_shift(latitude=55.7501, longitude=12.5451)
    second, _ = f.acute_nurse_on_shift(latitude=55.80, longitude=12.50)
    referral = f.acute_referral()
    visit = Visit.objects.get(referral=referral, status="assigned")
    assert services.visits_expire_unanswered(now=timezone.now()) == 0
    assert services.visits_expire_unanswered(now=visit.respond_by + dt.timedelta(seconds=1)) == 1
    visit.refresh_from_db()
    assert visit.cancel_reason == Visit.CancelReason.NO_ANSWER
    assert Visit.objects.get(referral=referral, status="assigned").nurse_id == second.user_id
    with pytest.raises(Conflict):
        services.visit_accept(visit=visit, actor=actor(first))


def test_follow_up_visit_in_the_same_episode_keeps_continuity(coordinator):
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    visit = services.visit_assign(referral=referral, shift=shift, actor=actor(coordinator))
    for step in (services.visit_accept, services.visit_set_off, services.visit_arrive):
        step(visit=visit, actor=actor(nurse))
    services.visit_complete(
        visit=visit, outcome="treated_at_home", close_episode=False, actor=actor(nurse)
    )
    episode = Episode.objects.get(pk=referral.episode_id)
    assert episode.status == Episode.Status.OPEN
    follow_up = services.visit_plan_follow_up(
        episode=episode,
        shift=shift,
        planned_for=timezone.now() + dt.timedelta(hours=2),
        actor=actor(coordinator),
    )
    assert follow_up.kind == Visit.Kind.FOLLOW_UP
    # A new referral in the episode ranks the nurse who has seen the citizen.
    f.acute_nurse_on_shift(
        latitude=float(referral.citizen.latitude), longitude=float(referral.citizen.longitude)
    )
    again = f.acute_referral(person=referral.citizen, by=coordinator)
    assert again.episode_id == episode.pk
    ranked = services.dispatch_rank(referral=again)
    assert any(s.continuity for s in ranked)
    with pytest.raises(InvalidInput):
        services.visit_complete(
            visit=visit, outcome="admitted", close_episode=False, actor=actor(nurse)
        )


def test_a_follow_up_planned_for_a_time_gone_by_is_refused(coordinator):
    """Within the shift, but past: the nurse would get a visit already late."""
    _, shift = f.acute_nurse_on_shift(hours_before=4)
    referral = f.acute_referral(by=coordinator)
    episode = Episode.objects.get(pk=referral.episode_id)
    with pytest.raises(InvalidInput) as refused:
        services.visit_plan_follow_up(
            episode=episode,
            shift=shift,
            planned_for=timezone.now() - dt.timedelta(hours=1),
            actor=actor(coordinator),
        )
    assert (refused.value.code, refused.value.field) == ("follow_up.in_past", "planned_for")
    assert not Visit.objects.filter(episode=episode).exists()
    response = f.client_for(coordinator).post(
        f"/api/acute/episodes/{episode.pk}/follow-ups",
        {"shift": shift.pk, "planned_for": (timezone.now() - dt.timedelta(hours=1)).isoformat()},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "follow_up.in_past"


def test_no_nurse_is_sent_to_a_citizen_registered_dead_until_the_death_is_corrected(coordinator):
    """A citizen registered dead (the hospital's notification, or her Patient)
    gets no first visit and no follow-up, on the coordinator's API and by
    automatic dispatch: refused with a precise code, audited as a denied
    attempt (R9), nothing written. A corrected death lifts it."""
    from core.models import Citizen

    _nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    Citizen.objects.filter(pk=referral.citizen_id).update(
        deceased_at=timezone.now() - dt.timedelta(hours=1)
    )
    client = f.client_for(coordinator)
    refused = client.post(
        f"/api/acute/referrals/{referral.pk}/assign", {"shift": shift.pk}, format="json"
    )
    assert refused.status_code == 412, refused.json()
    assert refused.json()["error"]["code"] == "visit.citizen_deceased"
    assert services.dispatch_auto_assign(referral=referral, actor=actor(coordinator)) is None
    follow_up = client.post(
        f"/api/acute/episodes/{referral.episode_id}/follow-ups",
        {"shift": shift.pk, "planned_for": (timezone.now() + dt.timedelta(hours=1)).isoformat()},
        format="json",
    )
    assert follow_up.status_code == 412, follow_up.json()
    assert follow_up.json()["error"]["code"] == "visit.citizen_deceased"
    assert not Visit.objects.exists()
    denied = AuditEntry.objects.filter(
        citizen_id=referral.citizen_id, outcome="denied", reason_code="visit.citizen_deceased"
    )
    assert denied.count() == 3 and {d.resource_type for d in denied} == {"Task"}

    Citizen.objects.filter(pk=referral.citizen_id).update(deceased_at=None)
    assigned = client.post(
        f"/api/acute/referrals/{referral.pk}/assign", {"shift": shift.pk}, format="json"
    )
    assert assigned.status_code == 201, assigned.json()


# One code, one sentence: whether the referral is sent or accepted.
REFERRAL_DECEASED_DA = (
    "Borgeren er registreret som død, så henvisningen hverken modtages eller accepteres."
)
REFERRAL_DECEASED_EN = (
    "The citizen is registered deceased, so the referral is neither received nor accepted."
)


def test_a_referral_for_a_citizen_registered_dead_is_refused_and_audited(coordinator):
    """Refused on every door (here the coordinator's API and a hospital
    physician's FHIR ServiceRequest; partners' messages in
    tests/integrations), each attempt on her record (R9)."""
    from core.models import Citizen, Organisation

    person = f.citizen()
    Citizen.objects.filter(pk=person.pk).update(deceased_at=timezone.now() - dt.timedelta(days=1))
    response = f.client_for(coordinator).post(
        "/api/acute/referrals",
        {
            "citizen_id": person.pk,
            "source": "gp",
            "referrer_name": "Læge Hansen",
            "referrer_phone": "+4539000000",
            "reason": "Feber",
            "urgency": "within_2_hours",
            "responsible_physician_name": "Læge Hansen",
            "responsible_physician_phone": "+4539000000",
        },
        format="json",
    )
    assert response.status_code == 412, response.json()
    assert response.json()["error"] == {
        "code": "referral.citizen_deceased",
        "message": REFERRAL_DECEASED_DA,
    }
    assert not Referral.objects.exists() and not Episode.objects.exists()
    denied = AuditEntry.objects.get(citizen_id=person.pk, outcome="denied")
    assert (denied.resource_type, denied.reason_code) == ("ServiceRequest", "citizen_deceased")

    hospital = f.organisation(Organisation.Kind.HOSPITAL, "Herlev og Gentofte Hospital")
    physician = f.client_for(f.staff(Role.PHYSICIAN, hospital))
    service_request = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "priority": "asap",
        "subject": {"identifier": {"system": "urn:oid:1.2.208.176.1.2", "value": person.cpr}},
        "requester": {
            "display": "Overlæge Berg",
            "extension": [
                {
                    "url": "https://tvaerakut.dk/fhir/StructureDefinition/referrer-callback",
                    "valueContactPoint": {"system": "phone", "value": "+4538680000"},
                }
            ],
        },
        "reasonCode": [{"text": "Udskrevet, behov for iv-antibiotika"}],
        "note": [{"text": "Pneumoni, stabil"}],
        "orderDetail": [{"text": "IV antibiotika x2 dagligt"}],
        "extension": [
            {
                "url": "https://tvaerakut.dk/fhir/StructureDefinition/responsible-physician",
                "extension": [
                    {"url": "name", "valueString": "Overlæge Berg"},
                    {"url": "phone", "valueString": "+4538680000"},
                ],
            }
        ],
    }
    fhir = physician.post("/fhir/ServiceRequest", service_request, format="json")
    assert fhir.status_code == 412, fhir.content
    issue = fhir.json()["issue"][0]
    assert fhir.json()["resourceType"] == "OperationOutcome"
    assert "referral.citizen_deceased" in json.dumps(issue)
    assert person.cpr not in fhir.content.decode()
    assert not Referral.objects.exists()
    assert AuditEntry.objects.filter(citizen_id=person.pk, outcome="denied").count() == 2


def test_deadline_watch_warns_and_escalates():
    """R10: warn when nobody available can arrive in time; escalate after the deadline."""
    referral = f.acute_referral()  # no nurse on shift at all
    counts = services.deadline_watch()
    assert counts == {"at_risk": 1, "overdue": 0}
    assert services.deadline_watch() == {"at_risk": 0, "overdue": 0}  # once per kind
    later = referral.deadline_at + dt.timedelta(minutes=1)
    assert services.deadline_watch(now=later)["overdue"] == 1
    kinds = set(DeadlineWarning.objects.values_list("kind", flat=True))
    assert kinds == {"at_risk", "overdue"}


def test_deadline_watch_also_escalates_untriaged_referrals():
    """R10: a referral still awaiting triage when its deadline passes is escalated."""
    referral = f.acute_referral(accepted=False)
    later = referral.deadline_at + dt.timedelta(minutes=1)
    assert services.deadline_watch(now=later)["overdue"] == 1


def test_deadline_watch_is_quiet_when_a_nurse_can_make_it():
    f.acute_nurse_on_shift(latitude=55.751, longitude=12.546)
    f.acute_referral()
    assert services.deadline_watch() == {"at_risk": 0, "overdue": 0}


def test_shift_checker_answers_for_nurses_only():
    nurse, shift = f.acute_nurse_on_shift()
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    assert services.nurse_on_shift(nurse.user_id, timezone.now()) is True
    assert services.nurse_on_shift(nurse.user_id, shift.ends_at + dt.timedelta(hours=1)) is False
    assert services.nurse_on_shift(coordinator.user_id, timezone.now()) is None


def test_vital_signs_out_of_range_are_refused_whole(coordinator):
    nurse, shift = f.acute_nurse_on_shift()
    visit = services.visit_assign(
        referral=f.acute_referral(by=coordinator), shift=shift, actor=actor(coordinator)
    )
    for step in (services.visit_accept, services.visit_set_off, services.visit_arrive):
        step(visit=visit, actor=actor(nurse))
    with pytest.raises(InvalidInput) as caught:
        services.vital_signs_record(
            visit=visit, measurements=[("8867-4", 80), ("59408-5", 140)], actor=actor(nurse)
        )
    assert caught.value.code == "vital_signs.value_out_of_range"
    assert not visit.vital_signs.exists()


def test_a_referral_for_a_citizen_registered_dead_since_it_came_is_not_accepted(coordinator):
    """Triage of a referral that came before the death was registered: it is
    not accepted (nobody is to go) — 412, audited as denied (R9), still
    awaiting triage — and the coordinator declines it with the reason."""
    from core.models import Citizen

    referral = f.acute_referral(by=coordinator, accepted=False)
    Citizen.objects.filter(pk=referral.citizen_id).update(
        deceased_at=timezone.now() - dt.timedelta(hours=1)
    )
    client = f.client_for(coordinator)
    refused = client.post(f"/api/acute/referrals/{referral.pk}/accept")
    assert refused.status_code == 412, refused.json()
    # The same code reads the same as when the referral is sent.
    assert refused.json()["error"] == {
        "code": "referral.citizen_deceased",
        "message": REFERRAL_DECEASED_DA,
    }
    english = client.post(
        f"/api/acute/referrals/{referral.pk}/accept", HTTP_ACCEPT_LANGUAGE="en"
    ).json()["error"]
    assert english == {"code": "referral.citizen_deceased", "message": REFERRAL_DECEASED_EN}
    referral.refresh_from_db()
    assert referral.status == Referral.Status.RECEIVED and not Visit.objects.exists()
    assert AuditEntry.objects.filter(
        citizen_id=referral.citizen_id,
        resource_type="ServiceRequest",
        outcome="denied",
        reason_code="referral.citizen_deceased",
    ).exists()
    declined = client.post(
        f"/api/acute/referrals/{referral.pk}/decline",
        {"reason": "Borgeren er død."},
        format="json",
    )
    assert declined.status_code == 200, declined.json()


@pytest.mark.parametrize(
    ("status", "step"),
    [
        (Visit.Status.ASSIGNED, "accept"),
        (Visit.Status.ACCEPTED, "en-route"),
        (Visit.Status.EN_ROUTE, "on-site"),
    ],
)
def test_a_visit_to_a_citizen_registered_dead_since_it_was_assigned_is_not_moved_on(
    coordinator, status, step
):
    """Accepting, setting off and arriving are refused once the citizen is
    registered dead (412, the attempt on her record); the visit is left for
    the coordinator to withdraw."""
    from core.models import Citizen

    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    visit = services.visit_assign(referral=referral, shift=shift, actor=actor(coordinator))
    Visit.objects.filter(pk=visit.pk).update(status=status)
    Citizen.objects.filter(pk=referral.citizen_id).update(
        deceased_at=timezone.now() - dt.timedelta(minutes=10)
    )
    refused = f.client_for(nurse).post(f"/api/acute/visits/{visit.pk}/{step}")
    assert refused.status_code == 412, refused.json()
    assert refused.json()["error"]["code"] == "visit.citizen_deceased"
    visit.refresh_from_db()
    assert visit.status == status
    assert AuditEntry.objects.filter(
        citizen_id=referral.citizen_id,
        resource_type="Encounter",
        outcome="denied",
        reason_code="visit.citizen_deceased",
    ).exists()


def test_a_visit_on_site_when_the_death_is_registered_is_still_completed(coordinator):
    """The nurse with the citizen when she dies documents up to the time of
    death and completes the visit."""
    from core.models import Citizen

    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    visit = services.visit_assign(referral=referral, shift=shift, actor=actor(coordinator))
    for step in (services.visit_accept, services.visit_set_off, services.visit_arrive):
        visit = step(visit=visit, actor=actor(nurse))
    Citizen.objects.filter(pk=referral.citizen_id).update(deceased_at=timezone.now())
    # Her episode ends as died: the only outcome that does not contradict it.
    done = services.visit_complete(visit=visit, outcome="died", actor=actor(nurse))
    assert done.status == Visit.Status.COMPLETED
