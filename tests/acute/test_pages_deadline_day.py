"""R10: a deadline that does not fall today is shown with its day, on the
coordinator's board (the referral's row and the warnings) and on the nurse's
list of visits, in Europe/Copenhagen. The board showed a next-day deadline as
"16:00" in the evening — a time already past today — and an overdue referral
from yesterday as a time still to come."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.template.defaultfilters import date as date_filter
from django.test import Client
from django.utils import timezone, translation

from acute.models import DeadlineWarning, Referral
from acute.services import visit_assign
from core.actors import Actor
from core.models import Role
from tests import factories

pytestmark = pytest.mark.django_db


def _login(membership) -> Client:
    client = Client()
    assert factories.log_in(client, membership).status_code == 302
    return client


def _danish(at: dt.datetime, fmt: str) -> str:
    with translation.override("da"):
        return str(date_filter(at.astimezone(ZoneInfo("Europe/Copenhagen")), fmt))


def _due_tomorrow(referral: Referral) -> Referral:
    """The referral due at 16:00 tomorrow, Copenhagen time, whatever the hour
    the test runs: a next-day referral received in the night is due at 16:00
    the same date (docs/dispatch.md), which is today after midnight."""
    local_now = timezone.localtime(timezone.now(), ZoneInfo("Europe/Copenhagen"))
    due = (local_now + dt.timedelta(days=1)).replace(hour=16, minute=0, second=0, microsecond=0)
    Referral.objects.filter(pk=referral.pk).update(deadline_at=due)
    referral.refresh_from_db()
    return referral


def _row(html: str, referral: Referral) -> str:
    at = html.index(f"/coordinator/referrals/{referral.pk}/")
    return html[html.rindex("<tr", 0, at) : html.index("</tr>", at)]


def test_r10_board_shows_the_day_of_a_deadline_that_is_not_today() -> None:
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    tomorrow = _due_tomorrow(factories.acute_referral(urgency="next_day", by=coordinator))
    missed = factories.acute_referral(urgency="within_2_hours", by=coordinator)
    yesterday = timezone.now() - dt.timedelta(days=1)
    Referral.objects.filter(pk=missed.pk).update(
        received_at=yesterday - dt.timedelta(hours=2), deadline_at=yesterday
    )
    DeadlineWarning.objects.create(
        referral=tomorrow, kind=DeadlineWarning.Kind.AT_RISK, raised_at=timezone.now(), detail={}
    )
    live = _login(coordinator).get("/coordinator/live/").content.decode()

    with_day = _danish(tomorrow.deadline_at, "j. b H:i")
    assert with_day in _row(live, tomorrow)
    assert _danish(yesterday, "j. b H:i") in _row(live, missed)
    # The warning names the referral's deadline with its day too.
    warnings = live[live.index('id="warn-title"') :]
    assert with_day in warnings


def test_r10_board_shows_a_deadline_today_as_the_time_alone() -> None:
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    referral = factories.acute_referral(urgency="within_2_hours", by=coordinator)
    today = timezone.localtime(timezone.now()).replace(hour=23, minute=59, second=0)
    Referral.objects.filter(pk=referral.pk).update(deadline_at=today)
    row = _row(_login(coordinator).get("/coordinator/live/").content.decode(), referral)
    assert ">23:59</a>" in row, row


def test_r10_nurse_list_shows_the_day_of_a_next_day_deadline() -> None:
    nurse, shift = factories.acute_nurse_on_shift()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    referral = _due_tomorrow(factories.acute_referral(urgency="next_day", by=coordinator))
    visit_assign(referral=referral, shift=shift, actor=Actor.for_membership(coordinator))
    page = _login(nurse).get("/nurse/visits/").content.decode()
    assert _danish(referral.deadline_at, "j. b H:i") in page


@pytest.mark.parametrize(
    ("raised_at", "shown"),
    [
        # The night summer time ends: 02:30 comes twice, the nurse is told which.
        ("2026-10-25T00:30:00+00:00", "25. okt 02:30 (sommertid)"),
        ("2026-10-25T01:30:00+00:00", "25. okt 02:30 (vintertid)"),
    ],
)
def test_r10_nurse_list_shows_when_a_warning_was_raised_with_its_day_and_which_hour(
    raised_at: str, shown: str
) -> None:
    """A warning still open from an earlier day read as raised today at that
    time, and one raised in the hour that comes twice did not say which."""
    nurse, shift = factories.acute_nurse_on_shift()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    referral = factories.acute_referral(urgency="within_2_hours", by=coordinator)
    visit_assign(referral=referral, shift=shift, actor=Actor.for_membership(coordinator))
    DeadlineWarning.objects.create(
        referral=referral,
        kind=DeadlineWarning.Kind.AT_RISK,
        raised_at=dt.datetime.fromisoformat(raised_at),
        detail={},
    )
    page = _login(nurse).get("/nurse/visits/").content.decode()
    warnings = page[page.index('data-warning="deadline_at_risk"') :]
    assert shown in warnings[: warnings.index("</li>")]
