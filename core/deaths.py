"""A citizen's registered death (*dødsfald*): when it can lie, and what lies
after it.

A death is registered from the hospital's HospitalNotification (R12), from
the citizen's Patient resource, and with a new citizen registered from a
partner's message; every door checks its time here. Every door
that starts something new for a citizen (a referral, a visit, an admission,
an order) asks here whether she is registered dead, and every clinical time
a nurse or physician states is checked against it: nothing is measured,
delegated or ordered after a death.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.dispatch import Signal
from django.utils import timezone

from core.errors import InvalidInput
from core.models import Citizen
from core.times import day_start, fhir_instant, read_day

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
# A sender's clock may run a little ahead of ours: that is not "in the future".
CLOCK_SKEW = dt.timedelta(minutes=5)
DECEASED_MESSAGE = "The citizen is registered deceased."

# The citizen has just been registered dead by a door below the acute
# function (her Patient updated over FHIR, in ``consent``). Sent inside the
# transaction that registers the death, with keyword arguments
# ``citizen_id``, ``died_at``, ``died_on`` (the day, where the death was
# given as a day alone, else None) and ``actor``; ``acute`` listens and closes
# what the death ends (her open referrals, the visits not yet at her door),
# as it does for the hospital's report, in that same transaction.
citizen_died = Signal()

# The citizen's death has just been withdrawn as reported in error by a door
# below the acute function (her Patient written again without it, in
# ``consent``). Sent inside the transaction that withdraws it, with keyword
# arguments ``citizen_id``, ``withdrawn`` (the time of death that stood) and
# ``actor``; ``acute`` listens and warns the coordinator about the episode
# that ended on it, as it does for the hospital's correction.
citizen_death_withdrawn = Signal()


def death_time_check(died_at: dt.datetime, *, birth_date: dt.date, field: str) -> None:
    """A time of death that can be true: not yet to come, and not before the
    citizen was born (her birth date, from the CPR number, is a Danish date)."""
    if died_at > timezone.now() + CLOCK_SKEW:
        raise InvalidInput("death.in_future", "The time of death lies in the future.", field=field)
    if died_at.astimezone(COPENHAGEN).date() < birth_date:
        raise InvalidInput(
            "death.before_birth",
            "The time of death lies before the citizen was born.",
            field=field,
        )


def death_day(stated: object) -> dt.date | None:
    """The day a ``deceasedDateTime`` states when it gives a date alone
    (``2026-11-30``); None for a date-time, less than a day or nothing.
    Every door that registers a death from a Patient keeps it beside the
    instant read from it (that day's first moment in Copenhagen,
    :func:`core.times.day_start`), as ``Citizen.deceased_on``: the death is
    then written back and shown as the day it was given, never as a time
    of day nobody stated, and every rule still compares the instant."""
    return read_day(stated) if isinstance(stated, str) else None


def death_day_kept(died_at: dt.datetime | None, day: dt.date | None) -> dt.date | None:
    """``day`` where the time of death ``died_at`` is that day's first
    moment (read from it), else None: a death restated with a time of day,
    or withdrawn, keeps no day."""
    if died_at is None or day is None:
        return None
    return day if died_at == day_start(day, field=None) else None


def death_written(citizen: Citizen, *, timespec: str = "auto") -> str | None:
    """The citizen's registered death as the platform writes it in FHIR's
    ``deceasedDateTime`` (its REST FHIR and the MedCom messages it builds):
    the date where it was given as a day (``2026-11-30``), else the instant
    in UTC (:func:`core.times.fhir_instant`). None while she is alive."""
    if citizen.deceased_at is None:
        return None
    if citizen.deceased_on is not None:
        return citizen.deceased_on.isoformat()
    return fhir_instant(citizen.deceased_at, timespec=timespec)


def death_time_missing(*, field: str) -> InvalidInput:
    """The refusal of a new death stated without its time (``deceasedBoolean``
    true): its time decides which of her records are "after the death", and
    the moment it reached us would be a guess that lets through what was
    measured, ordered or given after she died. Raised by every door that
    registers a death from her Patient (FHIR, a partner's message)."""
    return InvalidInput(
        "patient.deceased_time_required",
        "A death is registered with its time: send deceasedDateTime, not deceasedBoolean true.",
        field=field,
    )


def is_registered_dead(citizen: Citizen) -> bool:
    """Whether the platform knows the citizen as dead: no new referral, visit,
    admission or order is started for her until the death is corrected."""
    return citizen.deceased_at is not None


def after_death(citizen: Citizen, moment: dt.datetime) -> bool:
    """Whether ``moment`` lies after the citizen's registered death: what
    happened before it (a dose, a sample) may still be written down after."""
    return citizen.deceased_at is not None and moment > citizen.deceased_at
