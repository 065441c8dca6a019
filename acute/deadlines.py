"""Deadlines of the urgency classes and the shift boundaries (R10).

Shifts and "next day" are local (Europe/Copenhagen) notions; the results are
aware UTC datetimes.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings

from acute.models import NurseShift, Urgency

LOCAL = ZoneInfo("Europe/Copenhagen")


def _at_local(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=LOCAL).astimezone(dt.UTC)


def shift_bounds(at: dt.datetime) -> tuple[str, dt.datetime, dt.datetime]:
    """The shift kind on at ``at`` and its start and end."""
    local = at.astimezone(LOCAL)
    day_h = settings.ACUTE_SHIFT_DAY_STARTS_HOUR
    evening_h = settings.ACUTE_SHIFT_EVENING_STARTS_HOUR
    night_h = settings.ACUTE_SHIFT_NIGHT_STARTS_HOUR
    today = local.date()
    if day_h <= local.hour < evening_h:
        return NurseShift.Kind.DAY, _at_local(today, day_h), _at_local(today, evening_h)
    if evening_h <= local.hour < night_h:
        return NurseShift.Kind.EVENING, _at_local(today, evening_h), _at_local(today, night_h)
    if local.hour >= night_h:
        tomorrow = today + dt.timedelta(days=1)
        return NurseShift.Kind.NIGHT, _at_local(today, night_h), _at_local(tomorrow, day_h)
    yesterday = today - dt.timedelta(days=1)
    return NurseShift.Kind.NIGHT, _at_local(yesterday, night_h), _at_local(today, day_h)


def shift_hours_by_kind(starts_at: dt.datetime, ends_at: dt.datetime) -> dict[str, dt.timedelta]:
    """How much of [starts_at, ends_at) falls in the day's, the evening's and
    the night's hours (Copenhagen), counted in real time: the night the
    clocks go back holds 9 hours from 23:00 to 07:00, the night they go
    forward 7."""
    hours = dict.fromkeys(NurseShift.Kind.values, dt.timedelta(0))
    at = starts_at
    while at < ends_at:
        kind, _start, end = shift_bounds(at)
        until = min(end, ends_at)
        if until <= at:  # cannot happen with whole-hour boundaries; never loop forever
            break
        hours[kind] += until - at
        at = until
    return hours


def shift_kind_for(starts_at: dt.datetime, ends_at: dt.datetime) -> str:
    """The kind of a shift with these hours: the one whose hours hold the
    most of it (the first of equals), the kind of its start if it has none."""
    hours = shift_hours_by_kind(starts_at, ends_at)
    if not any(hours.values()):
        return shift_bounds(starts_at)[0]
    return max(hours, key=lambda kind: hours[kind])


def shift_kind_hours(kind: str) -> tuple[int, int]:
    """The hours (start, end) of the day in Copenhagen a shift of ``kind`` covers."""
    day_h = settings.ACUTE_SHIFT_DAY_STARTS_HOUR
    evening_h = settings.ACUTE_SHIFT_EVENING_STARTS_HOUR
    night_h = settings.ACUTE_SHIFT_NIGHT_STARTS_HOUR
    return {
        NurseShift.Kind.DAY: (day_h, evening_h),
        NurseShift.Kind.EVENING: (evening_h, night_h),
        NurseShift.Kind.NIGHT: (night_h, day_h),
    }[NurseShift.Kind(kind)]


def coming_day(at: dt.datetime) -> dt.date:
    """The day "next day" means at ``at``: the day after the working day it
    belongs to. A night shift's hours after midnight belong to the evening
    before (at 00:30 the nurse's "i morgen" is the day that is dawning, not
    the one after it), so "next day" asked at 00:30 is today, not a day and a
    half away; asked from the day shift's start (07:00) on, it is tomorrow."""
    local = at.astimezone(LOCAL)
    working_day = local.date()
    if local.hour < settings.ACUTE_SHIFT_DAY_STARTS_HOUR:
        working_day -= dt.timedelta(days=1)
    return working_day + dt.timedelta(days=1)


def deadline_for(urgency: str, received_at: dt.datetime) -> dt.datetime:
    """When a referral of this urgency must have a nurse at the door.

    Counted in real time: a time in Copenhagen's own zone would otherwise add
    its hours on the wall clock, three real hours on the night summer time ends."""
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError("received_at must carry a time zone")
    received_at = received_at.astimezone(dt.UTC)
    if urgency == Urgency.WITHIN_2_HOURS:
        return _within_2_hours(received_at)
    if urgency == Urgency.WITHIN_SHIFT:
        return _within_shift(received_at)
    if urgency == Urgency.NEXT_DAY:
        # Never before "within the shift": a less urgent class is never due sooner.
        return max(
            _at_local(coming_day(received_at), settings.ACUTE_DEADLINE_NEXT_DAY_HOUR),
            _within_shift(received_at),
        )
    raise ValueError(f"unknown urgency {urgency!r}")


def _within_2_hours(received_at: dt.datetime) -> dt.datetime:
    return received_at + dt.timedelta(minutes=settings.ACUTE_DEADLINE_WITHIN_2_HOURS_MINUTES)


def _within_shift(received_at: dt.datetime) -> dt.datetime:
    """The end of the shift, or of the next one when the shift ends before
    "within 2 hours" would (or within the hour): a less urgent class is never
    due sooner than a more urgent one — at 05:54 in winter the night shift
    ends at 07:00, sooner than 07:54, so it is due at 15:00 (R10)."""
    sooner_class = _within_2_hours(received_at)
    _kind, _start, end = shift_bounds(received_at)
    if end < sooner_class or end - received_at < dt.timedelta(hours=1):
        _kind, _start, end = shift_bounds(end)
    return max(end, sooner_class)
