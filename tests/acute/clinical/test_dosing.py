"""R8: reading an order's schedule from its words and a medicine's content from
its strength, and converting a dose into the order's unit. Pure functions: the
migration of stored orders and formulary lines uses the same ones."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from acute.clinical.dosing import (
    Schedule,
    amount_in_unit,
    busiest_day,
    schedule_from_text,
    schedule_total,
    strength_content,
)


@pytest.mark.parametrize(
    ("frequency", "duration", "expected"),
    [
        ("once", "single dose", Schedule(single=True)),
        ("én gang", "engangsdosis", Schedule(single=True)),
        ("3 times daily", "5 days", Schedule(doses_per_day=3, duration_days=5)),
        ("3 gange dagligt", "5 dage", Schedule(doses_per_day=3, duration_days=5)),
        ("to gange dagligt", "1 uge", Schedule(doses_per_day=2, duration_days=7)),
        ("hver 8. time", "i 3 døgn", Schedule(doses_per_day=3, duration_days=3)),
        ("every 6 hours", "2 days", Schedule(doses_per_day=4, duration_days=2)),
        ("twice daily", "until further notice", Schedule(doses_per_day=2)),
        ("efter behov", "3 dage", Schedule(duration_days=3)),
        ("3 times daily", "single dose", Schedule(single=True)),
    ],
)
def test_r8_the_schedule_is_read_from_the_words(frequency, duration, expected):
    assert schedule_from_text(frequency, duration) == expected


def test_r8_an_order_without_a_readable_length_allows_its_one_dose():
    dose = Decimal("400")
    assert schedule_total(dose=dose, doses_per_day=3, duration_days=5) == 6000
    assert schedule_total(dose=dose, doses_per_day=3, duration_days=None) == dose
    assert schedule_total(dose=dose, doses_per_day=None, duration_days=None) == dose


@pytest.mark.parametrize(
    ("strength", "unit", "expected"),
    [
        ("500 mg", "tablet", (Decimal("500"), "mg")),
        ("10 mg/mL, 4 mL", "ampoule", (Decimal("40"), "mg")),
        ("40 mg/4 mL", "ampoule", (Decimal("40"), "mg")),
        ("0.4 mg/mL, 1 mL", "ampoule", (Decimal("0.4"), "mg")),
        ("10 mg/mL", "mL", (Decimal("10"), "mg")),
        ("10 mg/mL", "ampoule", None),  # the ampoule's volume is not stated
        ("500 mg/125 mg", "tablet", None),  # a combination
        ("1 MIE", "tablet", (Decimal("1"), "MIE")),
        # A thousand to a Dane, one to an English keyboard: not guessed.
        ("1.000 mg", "tablet", None),
        ("5.000 IE/mL, 1 mL", "ampoule", None),
        ("0.250 mg", "tablet", (Decimal("0.25"), "mg")),
    ],
)
def test_r8_what_one_stock_unit_holds_is_read_from_the_strength(strength, unit, expected):
    assert strength_content(strength, unit) == expected


@pytest.mark.parametrize(
    ("quantity", "stock_unit", "content", "order_unit", "expected"),
    [
        ("1", "tablet", ("500", "mg"), "mg", Decimal("500")),
        ("1", "tablet", ("500", "mg"), "g", Decimal("0.5")),
        ("0.5", "ampoule", ("10", "mg"), "mg", Decimal("5")),
        ("3", "ampoule", ("40", "mg"), "ampul", Decimal("3")),
        ("2", "mL", ("10", "mg"), "mL", Decimal("2")),
        ("1", "ampoule", None, "mg", None),
        ("1", "tablet", ("500", "mg"), "mL", None),
    ],
)
def test_r8_a_dose_in_the_orders_unit(quantity, stock_unit, content, order_unit, expected):
    per_unit, unit = (Decimal(content[0]), content[1]) if content else (None, "")
    amount = amount_in_unit(
        quantity=Decimal(quantity),
        stock_unit=stock_unit,
        amount_per_unit=per_unit,
        amount_unit=unit,
        unit=order_unit,
    )
    assert amount == expected


AT = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("given_hours", "at_hours", "expected"),
    [
        # Given now: the 24 hours before it, a dose exactly 24 hours back no more.
        ([-23, -1], 0, "2"),
        ([-24, -1], 0, "1"),
        ([], 0, "0"),
        # Given earlier and booked late: the busiest 24 hours it falls in,
        # counting the doses given after it.
        ([-30, -26], -28, "2"),
        ([-30, -26, 0], -25, "2"),
        ([-2, -1], -30, "0"),
        ([-26, -1], -25, "1"),
        ([-25, -2], -26, "1"),
    ],
)
def test_r8_the_busiest_24_hours_a_dose_falls_in(given_hours, at_hours, expected):
    doses = [(AT + hours * H, Decimal("1")) for hours in given_hours]
    assert busiest_day(doses, at=AT + at_hours * H) == Decimal(expected)
