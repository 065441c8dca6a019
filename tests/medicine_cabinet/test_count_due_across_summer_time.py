"""R8: a cabinet's count is due ``count_interval_days`` after the last approved
one at the same time of day on the clock in Copenhagen, also across the
change to or from summer time (2027-03-28, 2026-10-25): not an hour late,
nor an hour early, on the watch job that tells the medicine officer."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from medicine_cabinet import services
from medicine_cabinet.models import Location, Notification, StockCount
from tests.medicine_cabinet.conftest import actor, receive

pytestmark = pytest.mark.django_db

CPH = zoneinfo.ZoneInfo("Europe/Copenhagen")


def _counted_at(officer, cabinet, medicine, at: dt.datetime, *, interval_days: int) -> None:
    """The cabinet's one approved count, made at ``at``; its interval in days."""
    lot = receive(officer, cabinet, medicine, "5")
    count = services.count_start(actor=actor(officer), location=cabinet)
    services.count_record(actor=actor(officer), count=count, lot=lot, quantity=Decimal("5"))
    services.count_submit(actor=actor(officer), count=count)
    services.count_approve(actor=actor(officer), count=count)
    StockCount.objects.filter(pk=count.pk).update(approved_at=at)
    Location.objects.filter(pk=cabinet.pk).update(
        count_interval_days=interval_days, created_at=at - dt.timedelta(days=30)
    )


@pytest.mark.parametrize(
    ("counted", "interval", "before_due", "after_due"),
    [
        # Into summer time: counted 10:00 on Saturday 27 March 2027, due 10:00
        # on Sunday 28 March (08:00 UTC; 24 hours later would be 11:00).
        (
            dt.datetime(2027, 3, 27, 10, 0, tzinfo=CPH),
            1,
            dt.datetime(2027, 3, 28, 9, 59, tzinfo=CPH),
            dt.datetime(2027, 3, 28, 10, 30, tzinfo=CPH),
        ),
        # Out of it: counted 10:00 on 20 October 2026, weekly, due 10:00 on
        # 27 October (09:00 UTC; 7 x 24 hours later would be 09:00).
        (
            dt.datetime(2026, 10, 20, 10, 0, tzinfo=CPH),
            7,
            dt.datetime(2026, 10, 27, 9, 30, tzinfo=CPH),
            dt.datetime(2026, 10, 27, 10, 0, tzinfo=CPH),
        ),
    ],
)
def test_r8_a_count_is_due_at_the_same_local_time_across_summer_time(
    acute, officer, cabinet, paracetamol, counted, interval, before_due, after_due
):
    _counted_at(officer, cabinet, paracetamol, counted, interval_days=interval)

    assert services.count_watch_overdue(organisation=acute, now=before_due.astimezone(dt.UTC)) == 0
    assert not Notification.objects.filter(kind=Notification.Kind.COUNT_OVERDUE).exists()

    assert services.count_watch_overdue(organisation=acute, now=after_due.astimezone(dt.UTC)) == 1
    note = Notification.objects.get(kind=Notification.Kind.COUNT_OVERDUE)
    assert note.location_id == cabinet.pk
