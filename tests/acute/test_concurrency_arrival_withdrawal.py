"""A nurse arrives at the door, or completes her visit, at the moment the
coordinator withdraws the referral (PostgreSQL, real concurrent
transactions). The arrival locked the
visit and then the referral, the withdrawal the referral and then the
visit: PostgreSQL broke the deadlock by failing one of them, a 500 for the
nurse's tablet or the coordinator, and no denied attempt on the citizen's
record. Now one wins, the other gets a clear 409, and nothing is
half-written: either she is at the door and the referral stands (reached),
or the referral is withdrawn and her visit cancelled (R1: her access ends)."""

from __future__ import annotations

import pytest

from acute import services
from acute.models import Referral, Visit
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.errors import Conflict
from core.models import Role
from tests import factories as f
from tests.acute.test_concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("_round", range(5))
def test_r1_r9_a_nurse_arriving_as_the_referral_is_withdrawn_one_wins_the_other_409(
    _round: int,
) -> None:
    nurse, shift = f.acute_nurse_on_shift()
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(by=coordinator)
    as_coordinator, as_nurse = Actor.for_membership(coordinator), Actor.for_membership(nurse)
    visit = services.visit_assign(referral=referral, shift=shift, actor=as_coordinator)
    services.visit_accept(visit=visit, actor=as_nurse)
    services.visit_set_off(visit=visit, actor=as_nurse)

    arrived, withdrawn = race(
        lambda: services.visit_arrive(visit=visit, actor=as_nurse),
        lambda: services.referral_withdraw(
            referral=referral, reason="called_off", actor=as_coordinator
        ),
    )

    referral.refresh_from_db()
    visit.refresh_from_db()
    if isinstance(arrived, Visit):
        assert isinstance(withdrawn, Conflict), withdrawn
        assert withdrawn.code == "referral.nurse_on_site"
        assert (referral.status, visit.status) == (Referral.Status.ACCEPTED, "on_site")
        assert referral.reached_at is not None
        denied = ("ServiceRequest", "referral.nurse_on_site")
    else:
        assert isinstance(withdrawn, Referral), withdrawn
        assert isinstance(arrived, Conflict), arrived
        assert arrived.code == "visit.transition_not_allowed"
        assert (referral.status, visit.status) == (Referral.Status.WITHDRAWN, "cancelled")
        assert referral.reached_at is None and visit.on_site_at is None
        denied = ("Encounter", "visit.transition_not_allowed")
    assert AuditEntry.objects.filter(
        citizen_id=referral.citizen_id,
        outcome="denied",
        resource_type=denied[0],
        reason_code=denied[1],
    ).exists()


@pytest.mark.parametrize("_round", range(5))
def test_r9_r11_a_nurse_completing_as_the_referral_is_withdrawn_completes_and_the_other_409(
    _round: int,
) -> None:
    """Her completion locked the episode and then her visit (with the
    citizen's row), the withdrawal the referral (with the citizen's row) and
    then the episode: a deadlock, a 500 for the coordinator. Her visit ends
    with its outcome (R11: the hand-back goes); the withdrawal is refused
    with a clear 409 and is a denied attempt on the citizen's record."""
    nurse, shift = f.acute_nurse_on_shift()
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(by=coordinator)
    as_coordinator, as_nurse = Actor.for_membership(coordinator), Actor.for_membership(nurse)
    visit = services.visit_assign(referral=referral, shift=shift, actor=as_coordinator)
    services.visit_accept(visit=visit, actor=as_nurse)
    services.visit_set_off(visit=visit, actor=as_nurse)
    services.visit_arrive(visit=visit, actor=as_nurse)

    completed, withdrawn = race(
        lambda: services.visit_complete(visit=visit, outcome="treated_at_home", actor=as_nurse),
        lambda: services.referral_withdraw(
            referral=referral, reason="called_off", actor=as_coordinator
        ),
    )

    assert isinstance(completed, Visit), completed
    assert isinstance(withdrawn, Conflict), withdrawn
    assert withdrawn.code in ("referral.nurse_on_site", "referral.already_ended")
    referral.refresh_from_db()
    assert (referral.status, referral.episode.status) == (Referral.Status.CLOSED, "completed")
    assert AuditEntry.objects.filter(
        citizen_id=referral.citizen_id, outcome="denied", reason_code=withdrawn.code
    ).exists()
