"""Two writes on one citizen's record at the same moment, on PostgreSQL with
real concurrent transactions: one wins, the other is a clear 409/412, and
nothing is half-written — never a deadlock that PostgreSQL breaks by failing
one of them (a 500 for the coordinator's screen or the nurse's tablet).

Each write used to take its row locks in its own order: ending an episode
locked the episode and her row before its referrals, a withdrawal, a
re-triage and an assignment the referral before her row, a nurse's arrival
her referrals before her row, a death her row before her referrals, the
expiry of an unanswered assignment the visit before her row. Now every write
takes her row first, then her referrals, the episode, its visits
(``core.locks``), and they queue on her row instead."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from acute import services
from acute.models import Episode, Referral, Visit
from core.actors import Actor
from core.errors import Conflict, PlatformError, PreconditionFailed
from core.models import Role
from tests import factories as f
from tests.acute.test_concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = range(8)


def one_wins(results: list[object]) -> list[PlatformError]:
    """Every result is a write done or a clear refusal (409/412), at least
    one is done; returns the refusals."""
    failed = [r for r in results if isinstance(r, Exception) and not isinstance(r, PlatformError)]
    assert not failed, results
    refused = [r for r in results if isinstance(r, PlatformError)]
    assert all(isinstance(r, Conflict | PreconditionFailed) for r in refused), results
    assert len(refused) < len(results), results
    return refused


def later(seconds: float, call: Callable[[], object]) -> Callable[[], object]:
    """``call`` a moment after the other side of the race has started: a
    sweep of such moments over the rounds meets the other write at each of
    its steps, not only at its first."""

    def run() -> object:
        time.sleep(seconds)
        return call()

    return run


def _coordinators() -> tuple[Actor, Actor]:
    return (
        Actor.for_membership(f.staff(Role.COORDINATOR, f.acute_function())),
        Actor.for_membership(f.staff(Role.COORDINATOR, f.acute_function())),
    )


def _sent(coordinator: Actor, *, steps: int = 0) -> tuple[Actor, Referral, Visit]:
    """An accepted referral with a nurse sent, taken ``steps`` further
    (accepted, on her way, at the door)."""
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator.membership)
    visit = services.visit_assign(referral=referral, shift=shift, actor=coordinator)
    as_nurse = Actor.for_membership(nurse)
    for step in (services.visit_accept, services.visit_set_off, services.visit_arrive)[:steps]:
        visit = step(visit=visit, actor=as_nurse)
    return as_nurse, referral, visit


@pytest.mark.parametrize("_round", ROUNDS)
def test_r9_ending_the_episode_as_its_referral_is_withdrawn_one_wins(_round: int) -> None:
    one, other = _coordinators()
    referral = f.acute_referral(by=one.membership)
    episode = Episode.objects.get(pk=referral.episode_id)

    one_wins(
        race(
            lambda: services.episode_complete(
                episode=episode, outcome="treated_at_home", actor=one
            ),
            lambda: services.referral_withdraw(referral=referral, reason="called_off", actor=other),
        )
    )

    referral.refresh_from_db()
    assert referral.status in (Referral.Status.CLOSED, Referral.Status.WITHDRAWN)


@pytest.mark.parametrize("_round", ROUNDS)
def test_r10_ending_the_episode_as_its_referral_is_retriaged_one_wins(_round: int) -> None:
    one, other = _coordinators()
    referral = f.acute_referral(by=one.membership)
    episode = Episode.objects.get(pk=referral.episode_id)

    refused = one_wins(
        race(
            lambda: services.episode_complete(
                episode=episode, outcome="treated_at_home", actor=one
            ),
            lambda: services.referral_retriage(
                referral=referral, urgency="within_shift", reason="Har det bedre", actor=other
            ),
        )
    )

    episode.refresh_from_db()
    referral.refresh_from_db()
    assert episode.status == Episode.Status.COMPLETED
    assert referral.status == Referral.Status.CLOSED
    assert [r.code for r in refused] in (
        [],
        ["referral.retriage_not_accepted"],
    ), refused


@pytest.mark.parametrize("_round", ROUNDS)
def test_r1_ending_the_episode_as_a_nurse_is_sent_leaves_no_nurse_on_the_way(_round: int) -> None:
    one, other = _coordinators()
    _nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=one.membership)
    episode = Episode.objects.get(pk=referral.episode_id)

    one_wins(
        race(
            lambda: services.episode_complete(
                episode=episode, outcome="treated_at_home", actor=one
            ),
            lambda: services.visit_assign(referral=referral, shift=shift, actor=other),
        )
    )

    episode.refresh_from_db()
    assert episode.status == Episode.Status.COMPLETED
    assert not Visit.objects.filter(episode=episode, status__in=Visit.ACTIVE_STATUSES).exists()


@pytest.mark.parametrize("_round", ROUNDS)
def test_r1_a_nurse_declining_as_the_referral_is_withdrawn_one_wins(_round: int) -> None:
    coordinator, _other = _coordinators()
    nurse, referral, visit = _sent(coordinator)

    one_wins(
        race(
            lambda: services.visit_decline(visit=visit, reason="Optaget", actor=nurse),
            lambda: services.referral_withdraw(
                referral=referral, reason="called_off", actor=coordinator
            ),
        )
    )

    assert not Visit.objects.filter(referral=referral, status__in=Visit.ACTIVE_STATUSES).exists()


@pytest.mark.parametrize("_round", ROUNDS)
def test_r1_an_unanswered_assignment_expiring_as_the_referral_is_withdrawn_one_wins(
    _round: int, settings: Any
) -> None:
    """The expiry job locked the visit, then (moving on to the next nurse)
    her row; the withdrawal her row, then the visit."""
    coordinator, _other = _coordinators()
    f.acute_nurse_on_shift()  # the next nurse the job would send
    _nurse, referral, visit = _sent(coordinator)
    Visit.objects.filter(pk=visit.pk).update(respond_by=timezone.now() - dt.timedelta(seconds=1))
    settings.ACUTE_AUTO_ASSIGN = True

    one_wins(
        race(
            lambda: services.referral_withdraw(
                referral=referral, reason="called_off", actor=coordinator
            ),
            services.visits_expire_unanswered,
        )
    )

    referral.refresh_from_db()
    if referral.status == Referral.Status.WITHDRAWN:
        assert not Visit.objects.filter(
            referral=referral, status__in=Visit.ACTIVE_STATUSES
        ).exists()
    else:
        assert (
            Visit.objects.filter(referral=referral, status__in=Visit.ACTIVE_STATUSES).count() <= 1
        )


@pytest.mark.parametrize("_round", ROUNDS)
def test_r12_a_nurse_arriving_as_the_citizen_is_reported_dead_one_wins(_round: int) -> None:
    coordinator, _other = _coordinators()
    nurse, referral, visit = _sent(coordinator, steps=2)

    arrived, death = race(
        lambda: services.visit_arrive(visit=visit, actor=nurse),
        lambda: services.citizen_death_register(
            citizen_id=referral.citizen_id,
            died_at=timezone.now(),
            admission="",
            actor=Actor.system("hospital.notification"),
        ),
    )

    assert isinstance(death, dict), death
    visit.refresh_from_db()
    if isinstance(arrived, Visit):
        assert visit.status == Visit.Status.ON_SITE  # finished and documented by her
    else:
        assert isinstance(arrived, PlatformError), arrived
        assert arrived.code in ("visit.citizen_deceased", "visit.transition_not_allowed")
        assert visit.status == Visit.Status.CANCELLED


@pytest.mark.parametrize("_round", range(16))
def test_r8_a_phone_order_on_the_way_as_the_referral_is_withdrawn_one_wins(_round: int) -> None:
    """The order locked the visit and, at its commit, waited for her row (a
    foreign key to her) that the withdrawal held while waiting for the
    visit. The withdrawal starts a little later each round."""
    from tests.acute.clinical.conftest import visit_scene

    scene = visit_scene(on_site=False)
    nurse, coordinator = Actor.for_membership(scene.nurse), Actor.for_membership(scene.coordinator)
    visit = services.visit_set_off(
        visit=services.visit_accept(visit=scene.visit, actor=nurse), actor=nurse
    )

    ordered, withdrawn = race(
        lambda: f.phone_order(nurse, visit),
        later(
            _round * 0.004,
            lambda: services.referral_withdraw(
                referral=scene.referral, reason="called_off", actor=coordinator
            ),
        ),
    )

    one_wins([ordered, withdrawn])
    visit.refresh_from_db()
    if isinstance(withdrawn, Referral):
        assert visit.status == Visit.Status.CANCELLED
