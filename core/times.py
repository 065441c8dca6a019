"""Times on the platform: stored in UTC, shown in Europe/Copenhagen.

One rule for every door that takes a time:

- ``/api/`` and ``/fhir/`` take a date-time only with its offset from UTC
  (``+01:00``, ``+02:00``, ``Z``, any offset up to ±14:00; one beyond, which
  no zone has, is no date-time). A time without one is refused with
  ``time.naive``: the client must say which time it means, and in Copenhagen
  a wall-clock time is ambiguous once a year (02:00 to 03:00 on the last
  Sunday of October happens twice) and does not exist once a year
  (02:00 to 03:00 on the last Sunday of March is skipped).
- A page (a nurse or an auditor typing on a tablet) takes Copenhagen time.
  A wall-clock time the clocks skip is refused with ``time.local_nonexistent``
  and one they show twice with ``time.local_ambiguous`` until the person
  chooses which of its two instants she means: the page shows its form again
  with the choice (:class:`TwiceShown`, sent back as
  :func:`twice_choice_name`), rather than the platform guessing an hour. A
  console, where an offset can be typed, is told to give it.
- A date alone where an instant is needed (a search's day, a Period's bound,
  a FHIR or MedCom dateTime given as a date) is the first moment of that
  day in Copenhagen (:func:`day_start`).
- Every instant the platform writes is in UTC, written ``Z``: in FHIR
  (:func:`fhir_instant`) and in every answer of ``/api/`` (:func:`api_instant`,
  through REST framework's fields, the renderer and every hand-built dict).
- Any time whose instant in UTC falls outside the years 1 to 9999 is refused
  with ``time.out_of_range``: the store keeps UTC and could not give it back.
- Every door hands a time on in UTC, whatever offset it came with: what a
  request writes down from it (an audit entry's detail, the resource in its
  answer) reads as the same time read back from the store does.
- Every door reads a date and a date-time the one way (:func:`read_day`,
  :func:`read_moment`; a page :func:`typed_moment`): ISO 8601's extended
  form, never what else ``fromisoformat`` reads.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, overload
from zoneinfo import ZoneInfo

from django.template.defaultfilters import date as date_filter
from django.utils import timezone
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
# On a page, whose time field takes no offset: the form offers the two instants.
AMBIGUOUS_ON_PAGE = (
    "This time occurs twice in Copenhagen (the clocks go back from 03:00 to 02:00):"
    " choose which of the two you mean."
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


def fhir_instant(moment: dt.datetime, *, timespec: str = "auto") -> str:
    """An instant as the platform writes it in FHIR (its REST FHIR and the
    MedCom messages it builds): in UTC, written ``Z`` as FHIR's own examples
    write it, never ``+00:00`` beside it; a fraction of a second where the
    time has one (``timespec="seconds"``: whole seconds, as MedCom's
    messages are written). One form, so a partner comparing two times as
    text, or a person reading them, never sees one instant written two ways."""
    if timezone.is_naive(moment):
        raise ValueError("a naive time has no instant")
    text = moment.astimezone(dt.UTC).isoformat(timespec=timespec)
    return text.removesuffix("+00:00") + "Z"


@overload
def api_instant(moment: dt.datetime) -> str: ...
@overload
def api_instant(moment: None) -> None: ...
@overload
def api_instant(moment: dt.datetime | None) -> str | None: ...
def api_instant(moment: dt.datetime | None) -> str | None:
    """An instant as every ``/api/`` answer writes it, the one form FHIR
    writes too (:func:`fhir_instant`): UTC, ``Z``, a fraction of a second
    where the time has one. REST framework's fields and the renderer write
    a time through it, and so does every answer built by hand, so a client
    never meets one instant as ``…Z``, ``…+00:00`` and ``…+01:00``. None
    stays None (a time not yet set)."""
    return None if moment is None else fhir_instant(moment)


def day_start(day: dt.date, *, field: str | None) -> dt.datetime:
    """The first moment of ``day`` in Copenhagen, in UTC: how every door reads
    a date alone where it needs an instant — a search's day, a Period's bound,
    and a dateTime element given as a date (a death on ``2026-10-25`` is
    that Danish day, not 01:00 or 02:00 on it as midnight UTC would show).
    Refused with ``time.out_of_range`` where the store could not keep it."""
    return representable(dt.datetime(day.year, day.month, day.day, tzinfo=LOCAL), field=field)


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
    """``moment`` in UTC, if the store can keep it so and give it back. In UTC
    from the door on, so what a request writes down (an audit entry's detail,
    the resource in its answer) reads the same as that time once read back."""
    try:
        utc = moment.astimezone(dt.UTC)
        utc.astimezone(LOCAL)
    except OverflowError:
        raise InvalidInput("time.out_of_range", OUT_OF_RANGE, field=field) from None
    return utc


def with_offset(moment: dt.datetime, *, field: str | None) -> dt.datetime:
    """An instant stated by a machine (API, FHIR): refused without its offset."""
    if timezone.is_naive(moment):
        raise naive_refused(field)
    return representable(moment, field=field)


# The one reader of a date and a date-time on every door. Django's parsers go
# through ``fromisoformat``, which reads far more than ISO 8601's extended
# form, and some of it wrongly: "2026-12-08T10.30+01:00" as 10:00:00.3 (a
# Dane's half past ten moved to ten without a word), "10:30Z" as UTC,
# "2026" as 20:26, and the basic form ("20261208T1030Z",
# "2026-12-08T1030+0100"), week dates ("2026-W50-1T10:30") and an hour
# alone ("2026-12-08T10+01:00") all as some time nobody checked. A door
# reads only the extended form: a date YYYY-MM-DD, a date-time
# YYYY-MM-DDTHH:MM, perhaps with seconds and their fraction, and Z or
# ±HH:MM. A page (a person typing, a browser's field) also takes a space for
# the T and a Dane's "10.30" for 10:30. Anything else is refused by the
# caller on its field with the door's own code, never read in part.
_DAY = r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
_CLOCK = r"([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?"
_TYPED_CLOCK = r"([01]?[0-9]|2[0-3])[:.]([0-5][0-9])(?::([0-5][0-9])(?:[.,]([0-9]+))?)?"
_OFFSET = r"(Z|[+-][0-9]{2}:[0-9]{2})?"
_ISO_DAY = re.compile(_DAY)
_ISO_MOMENT = re.compile(_DAY + "T" + _CLOCK + _OFFSET)
_TYPED_MOMENT = re.compile(_DAY + "(?:T| +)" + _TYPED_CLOCK + _OFFSET)
_TYPED_CLOCK_ALONE = re.compile(_TYPED_CLOCK)


def read_day(raw: str) -> dt.date | None:
    """A date in ISO 8601's extended form, YYYY-MM-DD in ASCII digits, a real
    day; None for anything else (20261208, 2026-W50-1, 2026-1-1, 2026-02-31)."""
    match = _ISO_DAY.fullmatch(raw)
    if match is None:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:  # 2026-02-31
        return None


def _moment(parts: tuple[str | None, ...]) -> dt.datetime | None:
    year, month, day, hour, minute, second, fraction, offset = parts
    try:
        zone = None
        if offset == "Z":
            zone = dt.UTC
        elif offset is not None:
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            # No zone is further from UTC than 14 hours (FHIR R4's dateTime
            # allows no more): "+20:00" is a slip for "+02:00", not a time.
            if minutes > 59 or (hours, minutes) > (14, 0):
                return None
            span = dt.timedelta(hours=hours, minutes=minutes)
            zone = dt.timezone(-span if offset[0] == "-" else span)
        return dt.datetime(
            int(year or 0),
            int(month or 0),
            int(day or 0),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "")[:6].ljust(6, "0")),
            tzinfo=zone,
        )
    except ValueError:  # month 13, hour 24, an offset of a day or more
        return None


def read_moment(raw: str) -> dt.datetime | None:
    """A date-time in ISO 8601's extended form (RFC 3339):
    YYYY-MM-DDTHH:MM, perhaps with :SS and a fraction of a second, and Z or
    ±HH:MM. Aware where it carries its offset, naive where it carries none
    (the caller refuses that, or reads it as Copenhagen time on a page);
    None for anything else, which the caller refuses on its field."""
    match = _ISO_MOMENT.fullmatch(raw)
    return None if match is None else _moment(match.groups())


def typed_day(raw: str) -> dt.date | None:
    """The day typed in a page's date field (YYYY-MM-DD, ASCII digits, a
    real day); None for anything else, which the caller refuses on its field."""
    return read_day(raw.strip())


def typed_clock(raw: str) -> dt.time | None:
    """The time of day typed in a page's time field, Copenhagen wall-clock
    time without a zone: HH:MM or HH.MM, perhaps with seconds as a browser's
    time field sends them (HH:MM:SS); None for anything else, which the
    caller refuses."""
    match = _TYPED_CLOCK_ALONE.fullmatch(raw.strip())
    if match is None:
        return None
    hour, minute, second, _fraction = match.groups()
    return dt.time(int(hour), int(minute), int(second or 0))


def typed_moment(raw: str) -> dt.datetime | None:
    """A date and a time typed on a page: what :func:`read_moment` reads, and
    also a space for the T and HH.MM ("2026-12-08 10.30" is half past ten);
    naive (Copenhagen time, for :func:`local_wall_time`) unless an offset is
    given. None for anything else, which the caller refuses on its field."""
    match = _TYPED_MOMENT.fullmatch(raw.strip())
    return None if match is None else _moment(match.groups())


def twice_choice_name(field: str) -> str:
    """The name of a page form's choice between the two instants of a
    wall-clock time typed in ``field`` that the clocks show twice: one
    convention for every page form, read by :func:`local_wall_time` and
    offered by the page that shows the refusal (:class:`TwiceShown`)."""
    return f"{field}.instant"


class TwiceShown(InvalidInput):
    """A Copenhagen wall-clock time the clocks show twice (02:00-02:59 the
    night summer time ends), refused until the person says which of its two
    instants she means. A page offers the two (:meth:`choices`) under the
    field, to be sent back as :func:`twice_choice_name`."""

    def __init__(
        self, first: dt.datetime, second: dt.datetime, *, field: str | None, message: str
    ) -> None:
        super().__init__("time.local_ambiguous", message, field=field)
        self.instants = (first.astimezone(dt.UTC), second.astimezone(dt.UTC))
        self.choice_name = twice_choice_name(field) if field else None

    def choices(self) -> list[tuple[str, str]]:
        """The two instants as a page offers them: the value sent back (the
        instant in UTC, :func:`fhir_instant`) and what the person reads
        ("02:30 første gang (sommertid)", "02:30 anden gang (vintertid)")."""
        first, second = self.instants
        clock = timezone.localtime(first, LOCAL).strftime("%H:%M")
        return [
            (fhir_instant(first), _("%(clock)s the first time (summer time)") % {"clock": clock}),
            (fhir_instant(second), _("%(clock)s the second time (winter time)") % {"clock": clock}),
        ]


def local_wall_time(
    moment: dt.datetime, *, field: str | None, form: Mapping[str, Any] | None = None
) -> dt.datetime:
    """A wall-clock time typed on a page, read as Copenhagen time. One the
    clocks skip in March is refused, never moved an hour by a guess. One they
    show twice in October is refused (:class:`TwiceShown`) unless ``form``,
    the page's submitted form, carries the person's choice of one of its two
    instants under :func:`twice_choice_name` of ``field``; a choice that is
    neither (sent for another time) is no choice. An aware ``moment`` is the
    instant its offset says. In UTC (:func:`representable`)."""
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
        if form is None or not field:  # a console, where an offset can be typed
            raise TwiceShown(first, second, field=field, message=AMBIGUOUS)
        raw = form.get(twice_choice_name(field))
        chosen = read_moment(raw.strip()) if isinstance(raw, str) else None
        # Compared in UTC: an instant in the repeated hour never equals one
        # in another zone when compared as it is (PEP 495).
        for instant in (first.astimezone(dt.UTC), second.astimezone(dt.UTC)):
            if chosen is not None and timezone.is_aware(chosen) and chosen == instant:
                return representable(instant, field=field)
        raise TwiceShown(first, second, field=field, message=AMBIGUOUS_ON_PAGE)
    return representable(first, field=field)


class InstantField(serializers.DateTimeField):
    """An ISO 8601 date-time with its offset, as every ``/api/`` input takes
    it: a time without one is refused (400 ``time.naive``), not read as the
    server's zone; one outside the years 1 to 9999 in UTC is
    ``time.out_of_range``. Seconds and their fractions are optional. Only
    the extended form is read (:func:`read_moment`): anything else is the
    field's own 400 (``request.invalid``), never a time nobody meant. Read
    into UTC, whatever offset it was sent with."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            "ISO 8601 date-time with its offset from UTC (e.g. 2026-10-25T02:30:00+01:00"
            " or …Z); a time without an offset is refused (time.naive).",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> dt.datetime:
        if isinstance(value, str):
            stated = read_moment(value.strip())
            if stated is None:  # not the extended form, month 13, hour 24
                self.fail("invalid", format="YYYY-MM-DDThh:mm[:ss[.fraction]]±hh:mm")
            value = stated
        if isinstance(value, dt.datetime):
            with_offset(value, field=self.field_name)
        # In UTC, as the store gives it back: REST framework's own reading puts
        # it in Copenhagen's zone, so what a request wrote (an Observation in
        # its answer, the audit entry of a step) read +01:00 on the API and
        # +00:00 on a page or once read back, one instant written two ways.
        return super().to_internal_value(value).astimezone(dt.UTC)


class DayField(serializers.DateField):
    """A date as every ``/api/`` input takes it: YYYY-MM-DD (:func:`read_day`)
    and nothing else; DRF's own reading also takes 20261208, 2026-W50-1 and
    2026-1-1, each a day the client may not have meant."""

    def to_internal_value(self, value: Any) -> dt.date:
        if isinstance(value, str):
            day = read_day(value.strip())
            if day is None:
                self.fail("invalid", format="YYYY-MM-DD")
            return day
        return super().to_internal_value(value)
