"""While a nurse is on her way to or with a citizen, what she is doing is
decided by that visit: the board shows her busy, not free, on a break or gone
home, and the episode is not closed from under her. Every door (API, her shift
page, the coordinator) meets the same rule in the service."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from acute import services, signals
from acute.models import Episode, NurseShift, Visit
from consent.models import CareRelationship
from core.actors import Actor
from core.models import Role
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator():
    return f.staff(Role.COORDINATOR, f.acute_function())


def _visit(coordinator, nurse_shift, *, steps: tuple[str, ...]) -> Visit:
    nurse, shift = nurse_shift
    referral = f.acute_referral(by=coordinator)
    visit = services.visit_assign(
        referral=referral, shift=shift, actor=Actor.for_membership(coordinator)
    )
    step = {
        "accept": services.visit_accept,
        "set_off": services.visit_set_off,
        "arrive": services.visit_arrive,
    }
    for name in steps:
        visit = step[name](visit=visit, actor=Actor.for_membership(nurse))
    return visit


def _status_of(shift: NurseShift) -> str:
    shift.refresh_from_db()
    return shift.status


@pytest.mark.parametrize(
    ("steps", "busy"),
    [(("accept", "set_off"), "en_route"), (("accept", "set_off", "arrive"), "on_visit")],
)
@pytest.mark.parametrize("asked", ["available", "on_break", "off"])
def test_her_status_follows_a_visit_under_way_through_the_api(coordinator, steps, busy, asked):
    """Set by hand while she drives to or sits with a citizen, the board showed
    her free (dispatch sent her more) or on a break or gone home."""
    nurse, shift = nurse_shift = f.acute_nurse_on_shift()
    _visit(coordinator, nurse_shift, steps=steps)
    for who in (nurse, coordinator):
        refused = f.client_for(who).post(
            f"/api/acute/shifts/{shift.pk}/status", {"status": asked}, format="json"
        )
        assert refused.status_code == 409, refused.content
        assert refused.json()["error"]["code"] == "shift.visit_under_way"
        assert refused.json()["error"]["field"] == "status"
        assert _status_of(shift) == busy


def test_her_shift_page_says_so_in_danish(coordinator):
    nurse, shift = nurse_shift = f.acute_nurse_on_shift()
    _visit(coordinator, nurse_shift, steps=("accept", "set_off", "arrive"))
    client = Client()
    assert f.log_in(client, nurse).status_code == 302
    page = client.post("/nurse/shift/status/", {"status": "available"})
    assert page.status_code == 409
    html = page.content.decode()
    assert 'data-code="shift.visit_under_way"' in html
    assert "Sygeplejersken er på vej til eller hos en borger" in html
    assert _status_of(shift) == NurseShift.Status.ON_VISIT


def test_visits_not_yet_started_leave_her_a_break_but_not_the_end_of_her_shift(coordinator):
    """A break before she sets off is hers to take; going off with visits
    assigned to her would leave them with nobody."""
    nurse, shift = nurse_shift = f.acute_nurse_on_shift()
    visit = _visit(coordinator, nurse_shift, steps=("accept",))
    client = f.client_for(nurse)
    url = f"/api/acute/shifts/{shift.pk}/status"
    assert client.post(url, {"status": "on_break"}, format="json").status_code == 200
    refused = client.post(url, {"status": "off"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "shift.visits_assigned"
    assert _status_of(shift) == NurseShift.Status.ON_BREAK
    services.visit_withdraw(visit=visit, actor=Actor.for_membership(coordinator))
    assert client.post(url, {"status": "off"}, format="json").status_code == 200


def test_completing_a_visit_with_the_next_one_not_yet_started_makes_her_available(coordinator):
    """She was left 'on a visit' until she set off for the next one."""
    nurse_shift = f.acute_nurse_on_shift()
    _nurse, shift = nurse_shift
    first = _visit(coordinator, nurse_shift, steps=("accept", "set_off", "arrive"))
    _visit(coordinator, nurse_shift, steps=("accept",))
    services.visit_complete(
        visit=first, outcome="treated_at_home", actor=Actor.for_membership(nurse_shift[0])
    )
    assert _status_of(shift) == NurseShift.Status.AVAILABLE


def test_a_cancelled_visit_leaves_her_on_the_visit_she_is_at(coordinator):
    nurse_shift = f.acute_nurse_on_shift()
    _nurse, shift = nurse_shift
    _visit(coordinator, nurse_shift, steps=("accept", "set_off", "arrive"))
    queued = _visit(coordinator, nurse_shift, steps=("accept", "set_off"))
    assert _status_of(shift) == NurseShift.Status.EN_ROUTE
    services.visit_withdraw(visit=queued, actor=Actor.for_membership(coordinator))
    assert _status_of(shift) == NurseShift.Status.ON_VISIT


def test_the_episode_is_not_closed_while_a_nurse_is_with_the_citizen(coordinator):
    """Closing it cancelled her visit on site and ended her access to the
    record mid-visit, though withdrawing that visit is refused; and the
    hand-back (R11) went out before she had found anything."""
    nurse, _shift = nurse_shift = f.acute_nurse_on_shift()
    visit = _visit(coordinator, nurse_shift, steps=("accept", "set_off", "arrive"))
    sent = []

    def receiver(**kwargs):
        sent.append(kwargs["episode"].pk)

    signals.episode_completed.connect(receiver)
    try:
        refused = f.client_for(coordinator).post(
            f"/api/acute/episodes/{visit.episode_id}/complete",
            {"outcome": "treated_at_home"},
            format="json",
        )
    finally:
        signals.episode_completed.disconnect(receiver)
    assert refused.status_code == 409, refused.content
    assert refused.json()["error"]["code"] == "episode.visit_on_site"
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ON_SITE
    assert Episode.objects.get(pk=visit.episode_id).status == Episode.Status.OPEN
    assert CareRelationship.objects.filter(
        user=nurse.user, source_id=str(visit.pk), ended_at__isnull=True
    ).exists()
    assert sent == []
    # She ends it herself, with what she found.
    services.visit_complete(
        visit=visit, outcome="treated_at_home", actor=Actor.for_membership(nurse)
    )
    assert Episode.objects.get(pk=visit.episode_id).status == Episode.Status.COMPLETED


def test_two_nurses_with_the_citizen_each_end_their_own_visit(coordinator):
    """The first to finish is not held by her colleague's visit at the door,
    nor does she cancel it: the episode ends with the last visit."""
    person = f.citizen()
    nurses, visits = [], []
    for _ in range(2):
        nurse, shift = f.acute_nurse_on_shift()
        referral = f.acute_referral(person=person, by=coordinator)
        # The second nurse confirmed by the coordinator: both go.
        visit = services.visit_assign(
            referral=referral, shift=shift, actor=Actor.for_membership(coordinator), also=True
        )
        for step in (services.visit_accept, services.visit_set_off, services.visit_arrive):
            visit = step(visit=visit, actor=Actor.for_membership(nurse))
        nurses.append(nurse)
        visits.append(visit)
    assert visits[0].episode_id == visits[1].episode_id

    first = f.client_for(nurses[0]).post(
        f"/api/acute/visits/{visits[0].pk}/complete", {"outcome": "admitted"}, format="json"
    )
    assert first.status_code == 200, first.content
    visits[1].refresh_from_db()
    assert visits[1].status == Visit.Status.ON_SITE
    assert Episode.objects.get(pk=visits[0].episode_id).status == Episode.Status.OPEN
    assert not CareRelationship.objects.filter(
        user=nurses[0].user, source_id=str(visits[0].pk), ended_at__isnull=True
    ).exists()

    services.visit_complete(
        visit=visits[1], outcome="admitted", actor=Actor.for_membership(nurses[1])
    )
    episode = Episode.objects.get(pk=visits[0].episode_id)
    assert episode.status == Episode.Status.COMPLETED


@pytest.mark.postgres  # two writers waiting on each other's row lock
@pytest.mark.django_db(transaction=True)
def test_two_nurses_ending_their_visits_at_once_close_the_episode(coordinator):
    """Each must not see the other still with the citizen and leave the
    episode open for good: the second waits for the first's turn and then
    sees her visit ended."""
    person = f.citizen()
    nurses, visits = [], []
    for _ in range(2):
        nurse, shift = f.acute_nurse_on_shift()
        visit = services.visit_assign(
            referral=f.acute_referral(person=person, by=coordinator),
            shift=shift,
            actor=Actor.for_membership(coordinator),
            also=True,
        )
        for step in (services.visit_accept, services.visit_set_off, services.visit_arrive):
            visit = step(visit=visit, actor=Actor.for_membership(nurse))
        nurses.append(nurse)
        visits.append(visit)
    ended, go_on = threading.Event(), threading.Event()
    statuses: list[int] = []

    def first_ends_but_has_not_committed() -> None:
        try:
            with transaction.atomic():
                services.visit_complete(
                    visit=visits[0],
                    outcome="treated_at_home",
                    actor=Actor.for_membership(nurses[0]),
                )
                ended.set()
                go_on.wait(timeout=30)
        finally:
            connection.close()

    def second_ends() -> None:
        try:
            statuses.append(
                f.client_for(nurses[1])
                .post(
                    f"/api/acute/visits/{visits[1].pk}/complete",
                    {"outcome": "treated_at_home"},
                    format="json",
                )
                .status_code
            )
        finally:
            connection.close()

    first = threading.Thread(target=first_ends_but_has_not_committed)
    first.start()
    assert ended.wait(timeout=30)
    second = threading.Thread(target=second_ends)
    second.start()
    second.join(timeout=1)  # it waits for the first's turn, or has run past it
    go_on.set()
    first.join(timeout=60)
    second.join(timeout=60)
    assert statuses == [200]
    assert Episode.objects.get(pk=visits[0].episode_id).status == Episode.Status.COMPLETED


def test_the_episode_closes_with_a_nurse_still_on_her_way(coordinator):
    """Before the door she may be called back, as a withdrawal allows."""
    nurse_shift = f.acute_nurse_on_shift()
    visit = _visit(coordinator, nurse_shift, steps=("accept", "set_off"))
    answer = f.client_for(coordinator).post(
        f"/api/acute/episodes/{visit.episode_id}/complete",
        {"outcome": "declined_by_citizen"},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED
    assert _status_of(nurse_shift[1]) == NurseShift.Status.AVAILABLE


def test_a_follow_up_is_not_planned_for_a_nurse_who_has_gone_off(coordinator):
    """A first visit to her was refused (dispatch.not_available), a follow-up
    was planned for her all the same and waited with nobody to make it."""
    nurse, shift = nurse_shift = f.acute_nurse_on_shift()
    first = _visit(coordinator, nurse_shift, steps=("accept", "set_off", "arrive"))
    services.visit_complete(
        visit=first,
        outcome="treated_at_home",
        close_episode=False,
        actor=Actor.for_membership(nurse),
    )
    services.shift_status_set(shift=shift, status="off", actor=Actor.for_membership(nurse))
    url = f"/api/acute/episodes/{first.episode_id}/follow-ups"
    body = {"shift": shift.pk, "planned_for": timezone.now() + dt.timedelta(hours=1)}
    refused = f.client_for(coordinator).post(url, body, format="json")
    assert refused.status_code == 412, refused.content
    assert refused.json()["error"]["code"] == "dispatch.not_available"
    assert not Visit.objects.filter(episode_id=first.episode_id, kind="follow_up").exists()
    services.shift_status_set(shift=shift, status="available", actor=Actor.for_membership(nurse))
    assert f.client_for(coordinator).post(url, body, format="json").status_code == 201


def test_her_shift_page_offers_no_status_while_her_visit_is_under_way(coordinator):
    nurse, _shift = nurse_shift = f.acute_nurse_on_shift()
    client = Client()
    assert f.log_in(client, nurse).status_code == 302
    visit = _visit(coordinator, nurse_shift, steps=("accept", "set_off"))
    html = client.get("/nurse/shift/").content.decode()
    assert 'name="status"' not in html
    assert "Din status følger dit besøg, indtil det er afsluttet." in html
    services.visit_arrive(visit=visit, actor=Actor.for_membership(nurse))
    services.visit_complete(visit=visit, outcome="died", actor=Actor.for_membership(nurse))
    assert 'name="status" value="on_break"' in client.get("/nurse/shift/").content.decode()


def test_the_coordinator_setting_her_off_is_told_to_move_the_visits_herself(coordinator):
    """The refusal names who moves the visits: to the nurse, the coordinator;
    to the coordinator, she does (never "the coordinator reassigns them")."""
    nurse, shift = nurse_shift = f.acute_nurse_on_shift()
    _visit(coordinator, nurse_shift, steps=("accept",))
    url = f"/api/acute/shifts/{shift.pk}/status"
    as_coordinator = f.client_for(coordinator).post(
        url, {"status": "off"}, format="json", HTTP_ACCEPT_LANGUAGE="da"
    )
    assert as_coordinator.status_code == 409
    said = as_coordinator.json()["error"]
    assert said["code"] == "shift.visits_assigned"
    assert said["message"] == (
        "Sygeplejersken har stadig tildelte besøg; omfordel dem eller træk dem tilbage,"
        " før hun går fri."
    )
    as_nurse = f.client_for(nurse).post(
        url, {"status": "off"}, format="json", HTTP_ACCEPT_LANGUAGE="da"
    )
    assert "vagthavende omfordeler" in as_nurse.json()["error"]["message"]
