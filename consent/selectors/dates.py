"""FHIR date search parameters (``date=ge2024-01-01``, ``birthdate=1940``): the
comparator in front of a value, and a field compared with the range of time
the value stands for."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q

from core.errors import InvalidInput
from core.messages import DATE_OR_DATE_TIME
from core.times import naive_refused, read_moment

LOCAL = ZoneInfo("Europe/Copenhagen")
DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")

# FHIR's date and dateTime forms, digits 0-9 only: a year, a month, a day, or
# an instant to the minute or second with its time zone (a time without one
# names no instant).
_DAY = re.compile(r"(?P<y>[0-9]{4})(?:-(?P<m>[0-9]{2})(?:-(?P<d>[0-9]{2}))?)?")
_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?P<s>:[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
# The same to the minute or second, without its time zone.
_NAIVE_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
)


def date_prefix(value: str) -> tuple[str, str]:
    """The comparator and the date it compares with; ``eq`` when none is given."""
    if value[:2] in DATE_PREFIXES:
        return value[:2], value[2:]
    return "eq", value


def compared(field: str, prefix: str, start: Any, end: Any | None) -> Q:
    """``field`` compared with the range [start, end) a date value stands for:
    ``eq`` inside it, ``ne`` outside it, ``gt``/``sa`` after it, ``lt``/``eb``
    before it, ``ge`` from its start, ``le`` up to its end. An ``end`` of
    None is the end of the calendar: nothing comes after it."""
    from_start = Q(**{f"{field}__gte": start})
    inside = from_start if end is None else from_start & Q(**{f"{field}__lt": end})
    after = Q(pk__in=[]) if end is None else Q(**{f"{field}__gte": end})
    before = Q(**{f"{field}__lt": start})
    return {
        "eq": inside,
        "ne": ~inside,
        "gt": after,
        "sa": after,
        "lt": before,
        "eb": before,
        "ge": Q(**{f"{field}__gte": start}),
        "le": Q() if end is None else Q(**{f"{field}__lt": end}),
    }[prefix]


def date_range(
    raw: str, *, field: str, times: bool = True
) -> tuple[dt.date, dt.date | None] | tuple[dt.datetime, dt.datetime | None]:
    """The range of time a FHIR date value stands for: a whole year, month or
    day (as dates), or, where ``times``, the minute or second of an instant
    (as aware datetimes). Anything else is refused, never read in part.

    The one parser of a search's date on every door (the shared record,
    Patient, AuditEvent). The calendar's last year, month and day (9999,
    9999-12, 9999-12-31) are dates like any other: their range has no next
    day to end at, so its end is None, the end of the calendar."""
    day = _DAY.fullmatch(raw)
    instant = _INSTANT.fullmatch(raw) if times else None
    try:
        if day is not None:
            year, month, date = int(day["y"]), day["m"], day["d"]
            if month is None:
                return dt.date(year, 1, 1), _next_day(dt.date(year, 12, 31))
            start = dt.date(year, int(month), int(date or 1))
            if date is None:
                if start.month == 12:
                    return start, _next_day(dt.date(year, 12, 31))
                return start, dt.date(year, start.month + 1, 1)
            return start, _next_day(start)
        at = read_moment(raw) if instant is not None else None
        if instant is not None and at is not None:
            step = dt.timedelta(seconds=1) if instant["s"] else dt.timedelta(minutes=1)
            # Compared in UTC: an instant past the year 9999 there is none.
            start = at.astimezone(dt.UTC)
            try:
                return start, start + step
            except OverflowError:
                # The calendar's last second or minute, as its last day:
                # nothing comes after it (``9999-12-31T23:59:59Z``).
                return start, None
    except (ValueError, OverflowError):
        # A value no calendar holds, or a range past the last day of 9999.
        pass
    if times and _NAIVE_INSTANT.fullmatch(raw) and read_moment(raw) is not None:
        # A time a clock shows, no instant: refused as on every door
        # that takes a time (core.times), never read in a zone guessed.
        raise naive_refused(field)
    raise _invalid(field, times=times)


def _next_day(day: dt.date) -> dt.date | None:
    """The day after ``day``; None after the calendar's last day."""
    return None if day == dt.date.max else day + dt.timedelta(days=1)


def local_days(
    start: dt.date, end: dt.date | None, *, field: str
) -> tuple[dt.datetime, dt.datetime | None]:
    """Whole days [start, end) as Copenhagen reads them, as UTC instants to
    compare a stored time with: 1 April 2026 runs from 22:00 UTC on 31 March
    to 22:00 UTC on 1 April, and a day the clocks change has 23 or 25 hours.
    An ``end`` of None (after the calendar's last day) stays open."""
    try:
        return (
            dt.datetime.combine(start, dt.time(), tzinfo=LOCAL).astimezone(dt.UTC),
            None
            if end is None
            else dt.datetime.combine(end, dt.time(), tzinfo=LOCAL).astimezone(dt.UTC),
        )
    except OverflowError:  # the first day of year 1 begins in year 0 in UTC
        raise _invalid(field, times=True) from None


def _invalid(field: str, *, times: bool) -> InvalidInput:
    forms = "YYYY, YYYY-MM, YYYY-MM-DD" + (" or YYYY-MM-DDThh:mm[:ss]+01:00" if times else "")
    return InvalidInput(
        "search.date_invalid",
        f"{field} is [prefix]{forms}, e.g. ge2024-01-01.",
        field=field,
        params={
            "name": field,
            "forms": DATE_OR_DATE_TIME if times else "YYYY, YYYY-MM, YYYY-MM-DD",
        },
    )
