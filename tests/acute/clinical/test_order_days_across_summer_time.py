"""R8: an order "for 5 days" ends at the same time of day on the clock in
Copenhagen, also across the change to or from summer time
(2026-10-25, 2027-03-28): not an hour late, letting a dose after the order's
days be given, nor an hour early, refusing one within them."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from acute.clinical import dosing

CPH = zoneinfo.ZoneInfo("Europe/Copenhagen")


def _left(ordered_local: dt.datetime, at_local: dt.datetime) -> dosing.Allowance:
    # As stored and read from the database: in UTC.
    return dosing.allowance(
        dose=Decimal("1"),
        unit="tablet",
        total=Decimal("5"),
        doses_per_day=1,
        duration_days=5,
        ordered_at=ordered_local.astimezone(dt.UTC),
        given=Decimal("0"),
        given_last_day=Decimal("0"),
        at=at_local.astimezone(dt.UTC),
    )


@pytest.mark.parametrize(
    ("ordered", "late", "within"),
    [
        # Into summer time: 10:00 on 25 March, five days to 10:00 on 30 March.
        (
            dt.datetime(2027, 3, 25, 10, 0, tzinfo=CPH),
            dt.datetime(2027, 3, 30, 10, 30, tzinfo=CPH),
            dt.datetime(2027, 3, 30, 9, 30, tzinfo=CPH),
        ),
        # Out of it: 10:00 on 22 October, five days to 10:00 on 27 October.
        (
            dt.datetime(2026, 10, 22, 10, 0, tzinfo=CPH),
            dt.datetime(2026, 10, 27, 10, 30, tzinfo=CPH),
            dt.datetime(2026, 10, 27, 9, 30, tzinfo=CPH),
        ),
    ],
)
def test_r8_an_order_s_days_end_at_the_same_local_time_across_summer_time(ordered, late, within):
    ended = _left(ordered, late)
    assert ended.ended and ended.remaining == 0
    assert ended.ends_at == dt.datetime(
        ordered.year, ordered.month, ordered.day + 5, 10, tzinfo=CPH
    )
    assert not _left(ordered, within).ended
