"""How much an order allows, and what a dose amounts to in the order's unit (R8).

An order (*ordination*) is a limit: its dose, at most ``doses_per_day`` times
in any 24 hours, for ``duration_days`` from when it was given, and never more
than ``total_quantity`` in all. The frequency and duration are also kept as
the physician said them; :func:`schedule_from_text` reads the common ways of
saying them (Danish and English) so an order entered as text alone, and the
orders stored before the structured fields existed, get the same limit.

A dose is counted in the medicine's stock unit (tablet, ampoule, mL);
:func:`amount_in_unit` turns it into the order's unit through the medicine's
content per stock unit (one tablet holds 500 mg), when both are known.

Pure functions: no queries, so the migration, the service and the pages share them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from core.times import local_days_later
from core.validation import TypedNumber, is_digits, is_number_text

DAY = dt.timedelta(hours=24)
ZERO = Decimal("0")
# The exactness an amount in the order's unit is kept with (Administration.order_amount).
AMOUNT_EXPONENT = Decimal("0.000001")

# Units that convert into each other: dimension and factor to the dimension's base.
_SCALED_UNITS: dict[str, tuple[str, Decimal]] = {
    "kg": ("mass", Decimal("1000000")),
    "g": ("mass", Decimal("1000")),
    "mg": ("mass", Decimal("1")),
    "µg": ("mass", Decimal("0.001")),
    "μg": ("mass", Decimal("0.001")),
    "ug": ("mass", Decimal("0.001")),
    "mcg": ("mass", Decimal("0.001")),
    "mikrog": ("mass", Decimal("0.001")),
    "ng": ("mass", Decimal("0.000001")),
    "l": ("volume", Decimal("1000")),
    "ml": ("volume", Decimal("1")),
    "ie": ("units", Decimal("1")),
    "iu": ("units", Decimal("1")),
    "[iu]": ("units", Decimal("1")),
    "mie": ("units", Decimal("1000000")),
    "miu": ("units", Decimal("1000000")),
    "mmol": ("amount", Decimal("1")),
}
# Countable stock units and the ways they are written; each only equals itself.
_COUNT_UNITS: dict[str, str] = {
    name: canonical
    for canonical, names in {
        "tablet": ("tablet", "tablets", "tabl", "tab", "tablet(ter)", "tabletter"),
        "capsule": ("capsule", "capsules", "caps", "kapsel", "kapsler"),
        "ampoule": ("ampoule", "ampoules", "amp", "ampul", "ampuller"),
        "vial": ("vial", "vials", "hætteglas"),
        "suppository": ("suppository", "suppositories", "supp", "stikpille", "stikpiller"),
        "sachet": ("sachet", "sachets", "brev", "breve"),
        "dose": ("dose", "doses", "dosis", "doser", "pust", "puff", "puffs"),
        "patch": ("patch", "patches", "plaster", "plastre"),
    }.items()
    for name in names
}


def _unit_key(unit: str) -> tuple[str, Decimal] | None:
    """The unit's dimension and factor, or None for a unit not known here."""
    name = unit.strip().lower().rstrip(".")
    if name in _SCALED_UNITS:
        return _SCALED_UNITS[name]
    if name in _COUNT_UNITS:
        return f"count:{_COUNT_UNITS[name]}", Decimal("1")
    return None


def is_measure(unit: str) -> bool:
    """A unit an amount of substance is measured in (mg, mL, IE …), not a count."""
    return unit.strip().lower().rstrip(".") in _SCALED_UNITS


def convert(amount: Decimal, from_unit: str, to_unit: str) -> Decimal | None:
    """``amount`` of ``from_unit`` in ``to_unit``; None when they do not convert
    (mg to mL, tablet to ampoule, or a unit not known here)."""
    if from_unit.strip() and from_unit.strip().lower() == to_unit.strip().lower():
        return amount
    source, target = _unit_key(from_unit), _unit_key(to_unit)
    if source is None or target is None or source[0] != target[0]:
        return None
    return amount * source[1] / target[1]


def amount_in_unit(
    *,
    quantity: Decimal,
    stock_unit: str,
    amount_per_unit: Decimal | None,
    amount_unit: str,
    unit: str,
) -> Decimal | None:
    """A dose of ``quantity`` stock units expressed in ``unit`` (the order's):
    directly when the units convert (2 ampoules against an order in ampoules),
    else through the content of one stock unit (1 tablet of 500 mg = 500 mg).
    None when it cannot be known, or not exactly to a millionth."""
    amount = convert(quantity, stock_unit, unit)
    if amount is None and amount_per_unit is not None and amount_unit:
        amount = convert(quantity * amount_per_unit, amount_unit, unit)
    if amount is None or amount != amount.quantize(AMOUNT_EXPONENT):
        return None
    return amount.quantize(AMOUNT_EXPONENT)


# --- the medicine's content per stock unit --------------------------------------

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_UNIT = r"([a-zA-Zµμ\[\]]+)"
_PLAIN = re.compile(rf"^{_NUMBER}\s*{_UNIT}$")
# "10 mg/mL", "40 mg/4 mL", optionally followed by the container's volume: "10 mg/mL, 4 mL".
_CONCENTRATION = re.compile(
    rf"^{_NUMBER}\s*{_UNIT}\s*/\s*{_NUMBER}?\s*{_UNIT}(?:\s*[,;]\s*{_NUMBER}\s*{_UNIT})?$"
)


# "1.000 IE": a thousand to a Dane, one to an English keyboard; not guessed.
_DOT_GROUPED = re.compile(r"(?<![0-9.,])[1-9][0-9]{0,2}(?:\.[0-9]{3})+(?![0-9.,])")


def _decimal(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def strength_content(strength: str, stock_unit: str) -> tuple[Decimal, str] | None:
    """What one stock unit holds, read from the formulary's strength text:
    ``500 mg`` per tablet; ``10 mg/mL`` per mL; ``10 mg/mL, 4 mL`` or
    ``40 mg/4 mL`` per ampoule. None when the text does not say it plainly
    (combinations such as ``500 mg/125 mg``, or a concentration without the
    ampoule's volume)."""
    text = strength.strip()
    if _DOT_GROUPED.search(text):
        return None
    stock = _unit_key(stock_unit)
    plain = _PLAIN.match(text)
    if plain:
        value, unit = _decimal(plain.group(1)), plain.group(2)
        if (stock is not None and stock[0] == "volume") or _unit_key(unit) is None:
            return None  # "500 mg" of a medicine counted in mL says nothing per mL
        return (value, unit) if value > 0 and value == value.quantize(AMOUNT_EXPONENT) else None
    found = _CONCENTRATION.match(text)
    if not found:
        return None
    value, unit = _decimal(found.group(1)), found.group(2)
    per_raw, per_unit = found.group(3), found.group(4)
    volume_raw, volume_unit = found.group(5), found.group(6)
    per = _decimal(per_raw) if per_raw else Decimal("1")
    denominator = _unit_key(per_unit)
    if _unit_key(unit) is None or denominator is None or denominator[0] != "volume" or per <= 0:
        return None
    if stock is not None and stock[0] == "volume":
        one = convert(
            Decimal("1"), stock_unit, per_unit
        )  # one stock unit in the denominator's unit
    elif volume_raw and volume_unit:
        one = convert(_decimal(volume_raw), volume_unit, per_unit)
    elif per_raw:
        one = per  # "40 mg/4 mL": the container holds the stated volume
    else:
        return None
    if one is None or value <= 0:
        return None
    content = value * one / per
    if content <= 0 or content != content.quantize(AMOUNT_EXPONENT):
        return None  # kept exact to a millionth (Medicine.amount_per_unit), or not at all
    return content, unit


# --- the schedule as the physician said it ----------------------------------------------

_WORDS = {
    "one": 1,
    "a": 1,
    "en": 1,
    "én": 1,
    "et": 1,
    "two": 2,
    "to": 2,
    "three": 3,
    "tre": 3,
    "four": 4,
    "fire": 4,
    "five": 5,
    "fem": 5,
    "six": 6,
    "seks": 6,
}
_COUNT = r"(\d+|" + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")"
_SINGLE = re.compile(
    r"^(once|one dose|single dose|single|stat|engangs(dosis)?|(én|en|1) (gang|dosis)( alene)?)$"
)
_DAILY = r"(daily|a day|per day|/day|/d|a døgn|per døgn|pr\.? døgn|/døgn|dagligt|daglig|dgl\.?)"
_TIMES_DAILY = re.compile(
    rf"^(?:{_COUNT}\s*(?:times|time|x|gange|gang)\s*{_DAILY}|(?:x\s*)?{_COUNT}\s*x?\s*{_DAILY}"
    rf"|{_DAILY}\s*x\s*{_COUNT})$"
)
_ONCE_DAILY = re.compile(rf"^(once|twice|thrice)\s*{_DAILY}$|^{_DAILY}$")
_EVERY_HOURS = re.compile(r"^(?:every|hver)\s*(\d+)\.?\s*(?:hours|hour|h|time|timer)$|^q(\d+)h$")
_DURATION = re.compile(
    rf"^(?:for\s+|i\s+)?{_COUNT}\s*(days|day|dage|dag|døgn|d|weeks|week|uger|uge)$"
)


def _count(token: str) -> int:
    return int(token) if token.isdigit() else _WORDS[token]


@dataclass(frozen=True)
class Schedule:
    """What the order's words say: a single dose, or a number of doses a day
    and a number of days (each None when the words do not say it)."""

    single: bool = False
    doses_per_day: int | None = None
    duration_days: int | None = None


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def frequency_from_text(text: str) -> Schedule:
    words = _words(text)
    if _SINGLE.match(words):
        return Schedule(single=True)
    once = _ONCE_DAILY.match(words)
    if once:
        return Schedule(doses_per_day={"twice": 2, "thrice": 3}.get(once.group(1) or "", 1))
    times = _TIMES_DAILY.match(words)
    if times:
        token = next(g for g in (times.group(1), times.group(3), times.group(6)) if g)
        count = _count(token)
        return Schedule(doses_per_day=count) if count > 0 else Schedule()
    every = _EVERY_HOURS.match(words)
    if every:
        hours = int(every.group(1) or every.group(2))
        if hours > 0 and 24 % hours == 0:
            return Schedule(doses_per_day=24 // hours)
    return Schedule()


def duration_from_text(text: str) -> Schedule:
    words = _words(text)
    if _SINGLE.match(words):
        return Schedule(single=True)
    found = _DURATION.match(words)
    if found:
        days = _count(found.group(1)) * (7 if found.group(2).startswith(("week", "uge")) else 1)
        return Schedule(duration_days=days) if days > 0 else Schedule()
    return Schedule()


def schedule_from_text(frequency: str, duration: str) -> Schedule:
    """The schedule the order's words state; a single dose wins over the rest."""
    often, long = frequency_from_text(frequency), duration_from_text(duration)
    if often.single or long.single:
        return Schedule(single=True)
    return Schedule(doses_per_day=often.doses_per_day, duration_days=long.duration_days)


def schedule_total(
    *, dose: Decimal, doses_per_day: int | None, duration_days: int | None
) -> Decimal:
    """The most a schedule allows in all: every dose of every day when both are
    known, otherwise one dose — an order whose length is not stated allows no
    more than the dose it names."""
    if doses_per_day and duration_days:
        return dose * doses_per_day * duration_days
    return dose


# --- what remains of an order ------------------------------------------------------------


def busiest_day(doses: Iterable[tuple[dt.datetime, Decimal]], *, at: dt.datetime) -> Decimal:
    """The most given in any 24 hours that a dose at ``at`` would fall in.

    A 24-hour window is the 24 hours up to and including its end (a dose given
    exactly 24 hours before no longer counts). The windows holding ``at`` end
    from ``at`` until 24 hours after it; the busiest ends at ``at`` or at a
    later dose. For a dose given now there is no later dose, and this is what
    was given in the last 24 hours; a dose booked late, given before doses
    already booked, is counted with those after it too, so no 24 hours come
    to more than the order allows.
    """
    near = [(when, amount) for when, amount in doses if at - DAY < when < at + DAY]
    ends = [at, *(when for when, _amount in near if when > at)]
    return max(
        sum((amount for when, amount in near if end - DAY < when <= end), ZERO) for end in ends
    )


def order_ends_at(ordered_at: dt.datetime, duration_days: int | None) -> dt.datetime | None:
    """When an order's days are over: the same time of day on the clock in
    Copenhagen, ``duration_days`` later, as the physician means "for 5 days" —
    not 24-hour periods, which across a change to or from summer time end
    an hour early or late (a dose an hour after the order ended accepted)."""
    if not duration_days:
        return None
    return local_days_later(ordered_at, duration_days)


@dataclass(frozen=True)
class Allowance:
    """What an order still allows for a dose given at a moment (now, or when
    the nurse says she gave it), in its own unit.

    ``remaining`` is the least of what is left in all and what is left in the
    busiest 24 hours the dose falls in, and nothing once the order's days
    were over at that moment.
    """

    unit: str
    total: Decimal
    given: Decimal
    remaining_in_all: Decimal
    per_day: Decimal | None
    given_last_day: Decimal
    remaining_today: Decimal | None
    ends_at: dt.datetime | None
    ended: bool
    remaining: Decimal

    @property
    def limited_by_day(self) -> bool:
        """The 24-hour limit, not the total, is what stops the next dose."""
        return self.remaining_today is not None and self.remaining_today < self.remaining_in_all


def allowance(
    *,
    dose: Decimal,
    unit: str,
    total: Decimal,
    doses_per_day: int | None,
    duration_days: int | None,
    ordered_at: dt.datetime,
    given: Decimal,
    given_last_day: Decimal,
    at: dt.datetime,
) -> Allowance:
    remaining_in_all = max(total - given, ZERO)
    per_day = dose * doses_per_day if doses_per_day else None
    remaining_today = max(per_day - given_last_day, ZERO) if per_day is not None else None
    ends_at = order_ends_at(ordered_at, duration_days)
    ended = ends_at is not None and at >= ends_at
    remaining = ZERO if ended else remaining_in_all
    if remaining_today is not None:
        remaining = min(remaining, remaining_today)
    return Allowance(
        unit=unit,
        total=total,
        given=given,
        remaining_in_all=remaining_in_all,
        per_day=per_day,
        given_last_day=given_last_day,
        remaining_today=remaining_today,
        ends_at=ends_at,
        ended=ended,
        remaining=remaining,
    )


def parse_positive_int(raw: object) -> int | None:
    """A whole number above zero from a form or JSON; None for empty; raises ValueError."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool | float):
        raise ValueError("not a whole number")
    if isinstance(raw, TypedNumber) and not is_digits(raw):
        # Typed on a page: digits only; "1.000" is not guessed to be one or a thousand.
        raise ValueError("not digits")
    typed = isinstance(raw, TypedNumber)
    if isinstance(raw, str) and not typed and not is_number_text(raw, whole=True):
        # Sent as text: a whole number as JSON writes it, never " 3 ", "+3" or "3.0".
        raise ValueError("not a whole number written out")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not value.is_finite() or value != value.to_integral_value() or value <= 0:
        raise ValueError("not a whole number above zero")
    return int(value)
