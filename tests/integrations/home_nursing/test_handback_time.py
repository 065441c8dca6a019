"""R11 and time: the hand-back tells the home nurse when each visit ended as
her clock showed it (Copenhagen), never as UTC."""

from __future__ import annotations

import datetime as dt

import pytest

from acute import services as acute
from acute.models import Outcome, Visit
from core.actors import Actor
from core.models import Role
from integrations.home_nursing.outbound import handback_text
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("completed_at", "shown"),
    [
        # 23:30 UTC on 31 March is half past one on 1 April in Copenhagen (summer time).
        (dt.datetime(2026, 3, 31, 23, 30, tzinfo=dt.UTC), "Besøg 01-04-2026 kl. 01:30: "),
        # and half past midnight in winter.
        (dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC), "Besøg 01-01-2027 kl. 00:30: "),
        # The night summer time ends, 02:30 comes twice: the home nurse is told which.
        (
            dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC),
            "Besøg 25-10-2026 kl. 02:30 (sommertid): ",
        ),
        (
            dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC),
            "Besøg 25-10-2026 kl. 02:30 (vintertid): ",
        ),
    ],
)
def test_r11_the_hand_back_dates_a_visit_in_copenhagen_time(
    completed_at: dt.datetime, shown: str
) -> None:
    nurse, shift = f.acute_nurse_on_shift()
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(by=coordinator)
    visit = acute.visit_assign(
        referral=referral, shift=shift, actor=Actor.for_membership(coordinator)
    )
    for step in (acute.visit_accept, acute.visit_set_off, acute.visit_arrive):
        step(visit=visit, actor=Actor.for_membership(nurse))
    acute.visit_complete(
        visit=visit,
        outcome=Outcome.TREATED_AT_HOME,
        assessment="Væskebehandlet",
        close_episode=False,
        actor=Actor.for_membership(nurse),
    )
    Visit.objects.filter(pk=visit.pk).update(completed_at=completed_at)

    text = handback_text(referral.episode)

    assert f"{shown}Væskebehandlet" in text
    assert "UTC" not in text
