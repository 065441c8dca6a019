"""Times on the platform: stored in UTC, shown in Europe/Copenhagen.

One rule for every door that takes a time:

- ``/api/`` and ``/fhir/`` take a date-time only with its offset from UTC
  (``+01:00``, ``+02:00``, ``Z``, any offset up to ±14:00). A time without one
  is refused with ``time.naive``: the client must say which time it means, and
  in Copenhagen a wall-clock time is ambiguous once a year (02:00 to 03:00 on the
  last Sunday of October happens twice) and does not exist once a year
  (02:00 to 03:00 on the last Sunday of March is skipped).
- A page (a nurse or an auditor typing on a tablet) takes Copenhagen time.
  A wall-clock time the clocks skip is refused with ``time.local_nonexistent``
  and one they show twice with ``time.local_ambiguous``: the person types it
  again with its offset or picks another minute, rather than the platform
  guessing an hour.
- Any time whose instant in UTC falls outside the years 1 to 9999 is refused
  with ``time.out_of_range``: the store keeps UTC and could not give it back.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from django.template.defaultfilters import date as date_filter
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework import serializers

from core.errors import InvalidInput

LOCAL = ZoneInfo("Europe/Copenhagen")

NAIVE = "Give the time with its offset from UTC, e.g. +01:00 or Z."
NONEXISTENT = "This time does not exist in Copenhagen: the clocks skip from 02:00 to 03:00."
AMBIGUOUS = (
    "This time occurs twice in Copenhagen (the clocks go back from 03:00 to 02:00):"
    " give it with its offset, +02:00 (summer time) or +01:00 (winter time)."
)
OUT_OF_RANGE = "The time lies outside the years 1 to 9999 in UTC."


# Django's date format characters that show the time of day.
_TIME_OF_DAY = "aAfgGhHiPsu"


def shown(value: dt.datetime | None, layout: str = "j. b H:i") -> str:
    """A stored time as a person reads it, in Europe/Copenhagen in ``layout``
    (Django's date format): the one way every page, export and message text
    shows a time. In the hour that comes twice (02:00-02:59 the night summer
    time ends) it says which, "(sommertid)" or "(vintertid)", so two times an
    hour apart never read as the same one. A layout without the time of
    day (a date alone) is shown as it is."""
    if value is None:
        return ""
    local = timezone.localtime(value, LOCAL)
    text = str(date_filter(local, layout))
    other = local.replace(fold=1 - local.fold)
    if other.utcoffset() != local.utcoffset() and any(c in layout for c in _TIME_OF_DAY):
        summer = local.dst() not in (None, dt.timedelta(0))
        text += " (" + str(_("summer time") if summer else _("winter time")) + ")"
    return text


def local_days_later(moment: dt.datetime, days: int) -> dt.datetime:
    """``days`` later at the same time of day on the clock in Copenhagen, as
    a person means "in 7 days" or "5 days from now" — not ``days`` x 24
    hours, which across a change to or from summer time lands an hour early
    or late. In UTC, as stored."""
    local = timezone.localtime(moment, LOCAL)
    # Aware arithmetic keeps the zone: the wall clock moves, the offset follows.
    return (local + dt.timedelta(days=days)).astimezone(dt.UTC)


def naive_refused(field: str | None) -> InvalidInput:
    return InvalidInput("time.naive", NAIVE, field=field)


def representable(moment: dt.datetime, *, field: str | None) -> dt.datetime:
    """``moment`` if the store can keep it in UTC and give it back."""
    try:
        moment.astimezone(dt.UTC).astimezone(LOCAL)
    except OverflowError:
        raise InvalidInput("time.out_of_range", OUT_OF_RANGE, field=field) from None
    return moment


def with_offset(moment: dt.datetime, *, field: str | None) -> dt.datetime:
    """An instant stated by a machine (API, FHIR): refused without its offset."""
    if timezone.is_naive(moment):
        raise naive_refused(field)
    return representable(moment, field=field)


# A date and a time of day as a page's field sends them: the browser's date
# field gives YYYY-MM-DD, its time field HH:MM (HH:MM:SS with a step), and a
# Dane writing a time by hand writes "10.30". Django's parsers go through
# ``fromisoformat``, which also reads "10.30" as 10:00:00.3, "2026" as 20:26,
# "10:30Z" as UTC and "20261208" as a date: a requested time moved by half an
# hour, or to another hour, without a word. A page reads only these forms.
_PAGE_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_PAGE_CLOCK = re.compile(r"([01]?[0-9]|2[0-3])[:.]([0-5][0-9])(?::([0-5][0-9])(?:\.[0-9]{1,6})?)?")


def typed_day(raw: str) -> dt.date | None:
    """The day typed in a page's date field (YYYY-MM-DD, ASCII digits, a
    real day); None for anything else, which the caller refuses on its field."""
    match = _PAGE_DAY.fullmatch(raw.strip())
    if match is None:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:  # 2026-02-31
        return None


def typed_clock(raw: str) -> dt.time | None:
    """The time of day typed in a page's time field, Copenhagen wall-clock
    time without a zone: HH:MM or HH.MM, perhaps with seconds as a browser's
    time field sends them (HH:MM:SS); None for anything else, which the
    caller refuses."""
    match = _PAGE_CLOCK.fullmatch(raw.strip())
    if match is None:
        return None
    hour, minute, second = match.groups()
    return dt.time(int(hour), int(minute), int(second or 0))


def local_wall_time(moment: dt.datetime, *, field: str | None) -> dt.datetime:
    """A wall-clock time typed on a page, read as Copenhagen time. One the
    clocks skip in March or show twice in October is refused, never moved an
    hour by a guess. An aware ``moment`` keeps the offset it was given."""
    if timezone.is_aware(moment):
        return representable(moment, field=field)
    first = moment.replace(tzinfo=LOCAL, fold=0)
    second = moment.replace(tzinfo=LOCAL, fold=1)
    try:
        back = first.astimezone(dt.UTC).astimezone(LOCAL).replace(tzinfo=None)
    except OverflowError:
        raise InvalidInput("time.out_of_range", OUT_OF_RANGE, field=field) from None
    if back != moment.replace(fold=0):
        raise InvalidInput("time.local_nonexistent", NONEXISTENT, field=field)
    if first.utcoffset() != second.utcoffset():
        raise InvalidInput("time.local_ambiguous", AMBIGUOUS, field=field)
    return representable(first, field=field)


class InstantField(serializers.DateTimeField):
    """An ISO 8601 date-time with its offset, as every ``/api/`` input takes
    it: a time without one is refused (400 ``time.naive``), not read as the
    server's zone; one outside the years 1 to 9999 in UTC is
    ``time.out_of_range``. Seconds and their fractions are optional."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            "ISO 8601 date-time with its offset from UTC (e.g. 2026-10-25T02:30:00+01:00"
            " or …Z); a time without an offset is refused (time.naive).",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> dt.datetime:
        if isinstance(value, str):
            try:
                stated = parse_datetime(value.strip())
            except ValueError:
                stated = None  # month 13, hour 24: the field's own 400 below
            if stated is not None:
                with_offset(stated, field=self.field_name)
        elif isinstance(value, dt.datetime):
            with_offset(value, field=self.field_name)
        return super().to_internal_value(value)
