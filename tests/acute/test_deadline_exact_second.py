"""R10: a deadline is missed only once it has passed. A nurse at the door at
the deadline's very second meets it (the follow-up figures count it met),
yet at that same second the deadline watch escalated the referral as
overdue, the board showed it late and the figures counted an open referral
as missed: the coordinator was told a deadline was missed that a nurse
could still meet."""

from __future__ import annotations

import datetime as dt

import pytest

from acute import services
from acute.models import DeadlineWarning
from acute.selectors.figures import deadline_met
from core.models import Role
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_r10_the_watch_does_not_escalate_at_the_deadlines_own_second() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(by=coordinator)

    # Nobody on shift: at risk, not yet missed.
    assert services.deadline_watch(now=referral.deadline_at) == {"at_risk": 1, "overdue": 0}
    assert not DeadlineWarning.objects.filter(referral=referral, kind="overdue").exists()

    # A second later it has passed: escalated, once.
    after = referral.deadline_at + dt.timedelta(seconds=1)
    assert services.deadline_watch(now=after) == {"at_risk": 0, "overdue": 1}
    assert services.deadline_watch(now=after + dt.timedelta(minutes=1)) == {
        "at_risk": 0,
        "overdue": 0,
    }


def test_r10_an_open_referral_at_its_deadlines_second_is_not_yet_missed_in_the_figures() -> None:
    deadline = dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)
    common = {"on_hold": False, "closed_at": None}
    # The same second that a nurse at the door meets ...
    assert deadline_met(
        deadline_at=deadline, reached_at=deadline, open_=True, now=deadline, **common
    )
    # ... is not missed by the referral nobody has reached yet.
    assert (
        deadline_met(deadline_at=deadline, reached_at=None, open_=True, now=deadline, **common)
        is None
    )
    later = deadline + dt.timedelta(seconds=1)
    assert (
        deadline_met(deadline_at=deadline, reached_at=None, open_=True, now=later, **common)
        is False
    )
