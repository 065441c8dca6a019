"""R10 and time: deadlines across the changes to and from summer time in
Copenhagen, and the deadline watch when the nurse sent is late or the watch
itself was down for a while."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from acute import services
from acute.deadlines import deadline_for, shift_bounds
from acute.models import DeadlineWarning, Visit
from core.actors import Actor
from core.models import Role
from tests import factories as f

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
UTC = dt.UTC


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("received", "deadline"),
    [
        # 01:30 summer time on the night summer time ends (02:00 local twice):
        # two hours later the clocks say 02:30 winter time.
        ("2026-10-25T01:30:00+02:00", "2026-10-25T02:30:00+01:00"),
        # 01:30 on the night summer time starts (02:00 becomes 03:00).
        ("2027-03-28T01:30:00+01:00", "2027-03-28T04:30:00+02:00"),
    ],
)
def test_r10_two_hours_are_two_hours_across_a_change_of_clocks(received: str, deadline: str):
    at = dt.datetime.fromisoformat(received)
    assert deadline_for("within_2_hours", _utc(received)) == _utc(deadline)
    # Given in Copenhagen's own zone, the deadline is two hours of real time
    # too, not two hours on the wall clock (three on the night in October).
    local = at.astimezone(COPENHAGEN)
    assert deadline_for("within_2_hours", local) == _utc(deadline)
    assert deadline_for("within_2_hours", local) - _utc(received) == dt.timedelta(hours=2)


def test_r10_a_deadline_needs_a_time_zone():
    with pytest.raises(ValueError):
        deadline_for("within_2_hours", dt.datetime(2026, 10, 25, 1, 30))


def test_r10_shift_and_next_day_deadlines_are_local_hours_across_a_change_of_clocks():
    # The October night is nine hours long: 23:00 summer time to 07:00 winter time.
    kind, start, end = shift_bounds(_utc("2026-10-25T02:30:00+01:00"))
    assert kind == "night"
    assert (start, end) == (_utc("2026-10-24T23:00:00+02:00"), _utc("2026-10-25T07:00:00+01:00"))
    assert end - start == dt.timedelta(hours=9)
    # Within the shift at 06:30 winter time on that morning: the next shift's end (15:00).
    assert deadline_for("within_shift", _utc("2026-10-25T06:30:00+01:00")) == _utc(
        "2026-10-25T15:00:00+01:00"
    )
    # The March night is seven hours; next day is 16:00 local, summer time by then.
    kind, start, end = shift_bounds(_utc("2027-03-28T01:30:00+01:00"))
    assert end - start == dt.timedelta(hours=7)
    assert deadline_for("next_day", _utc("2027-03-27T22:30:00+01:00")) == _utc(
        "2027-03-28T16:00:00+02:00"
    )


@pytest.mark.django_db
def test_r10_a_nurse_past_her_estimated_arrival_no_longer_keeps_the_warning_away():
    """The nurse sent was to be there in minutes; long after that she is still
    not at the door and nobody else can make it: the coordinator is warned
    before the deadline, not only once it has passed."""
    _nurse, shift = f.acute_nurse_on_shift(latitude=55.751, longitude=12.546)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(by=coordinator)
    visit = services.visit_assign(
        referral=referral, shift=shift, actor=Actor.for_membership(coordinator)
    )
    assert visit.estimated_arrival_at is not None
    assert visit.estimated_arrival_at < referral.deadline_at
    # While her estimate holds, the watch is quiet.
    assert services.deadline_watch(now=visit.estimated_arrival_at) == {
        "at_risk": 0,
        "overdue": 0,
    }
    late = referral.deadline_at - dt.timedelta(minutes=10)
    assert late > visit.estimated_arrival_at
    assert services.deadline_watch(now=late) == {"at_risk": 1, "overdue": 0}
    warning = DeadlineWarning.objects.get(referral=referral)
    assert warning.kind == DeadlineWarning.Kind.AT_RISK
    assert warning.detail["deadline_at"] == referral.deadline_at.isoformat()
    # Once, not every minute after.
    assert services.deadline_watch(now=late + dt.timedelta(minutes=1))["at_risk"] == 0


@pytest.mark.django_db
def test_r10_a_nurse_on_her_way_in_time_keeps_the_board_quiet():
    nurse, shift = f.acute_nurse_on_shift(latitude=55.751, longitude=12.546)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(by=coordinator)
    visit = services.visit_assign(
        referral=referral, shift=shift, actor=Actor.for_membership(coordinator)
    )
    services.visit_accept(visit=visit, actor=Actor.for_membership(nurse))
    services.visit_set_off(visit=visit, actor=Actor.for_membership(nurse))
    assert Visit.objects.get(pk=visit.pk).status == Visit.Status.EN_ROUTE
    assert services.deadline_watch() == {"at_risk": 0, "overdue": 0}


@pytest.mark.django_db
def test_r10_a_watch_that_was_down_escalates_once_when_it_comes_back():
    referral = f.acute_referral()
    # Nothing ran from intake until three hours after the deadline.
    back = referral.deadline_at + dt.timedelta(hours=3)
    assert services.deadline_watch(now=back) == {"at_risk": 0, "overdue": 1}
    assert services.deadline_watch(now=back + dt.timedelta(minutes=1)) == {
        "at_risk": 0,
        "overdue": 0,
    }
    assert DeadlineWarning.objects.filter(referral=referral).count() == 1


def _board_row(html: str, referral) -> str:
    at = html.index(f"/coordinator/referrals/{referral.pk}/")
    return html[html.rindex("<tr", 0, at) : html.index("</tr>", at)]


@pytest.mark.django_db
def test_r10_the_board_shows_a_nurse_past_her_estimated_arrival_as_a_risk():
    """On the board too: her estimate has passed, she is not at the door and
    the deadline is near; the row is not "on time"."""
    from django.test import Client
    from django.utils import timezone

    _nurse, shift = f.acute_nurse_on_shift(latitude=55.751, longitude=12.546)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(by=coordinator)
    on_time = f.acute_referral(by=coordinator)
    now = timezone.now()
    visit = services.visit_assign(
        referral=referral, shift=shift, actor=Actor.for_membership(coordinator)
    )
    _other_nurse, other_shift = f.acute_nurse_on_shift(latitude=55.751, longitude=12.546)
    services.visit_assign(
        referral=on_time, shift=other_shift, actor=Actor.for_membership(coordinator)
    )
    type(referral).objects.filter(pk=referral.pk).update(deadline_at=now + dt.timedelta(minutes=20))
    Visit.objects.filter(pk=visit.pk).update(estimated_arrival_at=now - dt.timedelta(minutes=5))
    client = Client()
    assert f.log_in(client, coordinator).status_code == 302
    board = client.get("/coordinator/live/").content.decode()
    assert 'class="risk-at_risk"' in _board_row(board, referral)
    assert 'class="risk-ok"' in _board_row(board, on_time)


@pytest.mark.django_db
def test_r10_a_late_nurse_is_not_planned_as_free_before_she_has_even_arrived():
    """Ranking plans a busy nurse from the end of her visits: one who is past
    her estimated arrival and not at the door is free a whole visit from
    now, not a visit from her old estimate."""
    from django.conf import settings
    from django.utils import timezone

    from acute.selectors import nurse_states

    _nurse, shift = f.acute_nurse_on_shift(latitude=55.751, longitude=12.546)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(by=coordinator)
    visit = services.visit_assign(
        referral=referral, shift=shift, actor=Actor.for_membership(coordinator)
    )
    now = timezone.now()
    Visit.objects.filter(pk=visit.pk).update(estimated_arrival_at=now - dt.timedelta(minutes=30))
    [state] = [s for s in nurse_states(now=now) if s.shift_id == shift.pk]
    assert state.free_at == now + dt.timedelta(minutes=settings.ACUTE_VISIT_MINUTES)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("received", "day", "not_day"),
    [
        # 01:30 on 1 April in Copenhagen (summer time).
        ("2026-03-31T23:30:00+00:00", "2026-04-01", "2026-03-31"),
        # 23:30 on 25 October, the 25-hour day summer time ends.
        ("2026-10-25T22:30:00+00:00", "2026-10-25", "2026-10-26"),
        # 00:30 on 28 March 2027, the 23-hour day summer time starts.
        ("2027-03-27T23:30:00+00:00", "2027-03-28", "2027-03-27"),
    ],
)
def test_r10_figures_count_a_referral_on_its_day_in_copenhagen(received, day, not_day):
    from acute.selectors.figures import figures

    referral = f.acute_referral()
    at = _utc(received)
    type(referral).objects.filter(pk=referral.pk).update(
        received_at=at,
        deadline_at=at + dt.timedelta(hours=2),
        reached_at=at + dt.timedelta(minutes=50),
    )

    def counted(first: str, last: str) -> dict[str, int]:
        rows = figures(
            start=dt.date.fromisoformat(first), end=dt.date.fromisoformat(last), period="day"
        )
        return {
            r["period"]: r["count"]
            for r in rows
            if r["figure"] == "reached_within_deadline" and r["dimension"] == "all"
        }

    assert counted(day, day) == {day: 1}
    assert counted(not_day, not_day) == {}
    # A week around it: one day, the right one.
    first = min(day, not_day)
    week_end = (dt.date.fromisoformat(first) + dt.timedelta(days=6)).isoformat()
    assert counted(first, week_end) == {day: 1}


@pytest.mark.parametrize(
    ("at", "shown"),
    [
        # The night summer time ends, 02:30 comes twice.
        ("2026-10-25T00:30:00+00:00", "25. okt 02:30 (sommertid)"),
        ("2026-10-25T01:30:00+00:00", "25. okt 02:30 (vintertid)"),
        # Every other hour is said once.
        ("2026-10-25T02:30:00+00:00", "25. okt 03:30"),
        ("2026-10-24T23:30:00+00:00", "25. okt 01:30"),
    ],
)
def test_r10_a_time_in_the_hour_that_comes_twice_says_which(at: str, shown: str):
    """A two-hour deadline set at 01:30 on that night falls at 02:30 winter
    time; seen at 02:15 summer time it is an hour and a quarter away, not a
    quarter of an hour."""
    from django.utils import translation

    from core.templatetags.platform import clock

    with translation.override("da"):
        assert clock(_utc(at)) == shown
