"""When the referrer asks the citizen to be seen: a FHIR ServiceRequest's
``occurrence[x]`` (R10). Read by every door that takes a ServiceRequest — the
FHIR base and the partners' messages — and judged by ``referral_create``, so
each door refuses the same way and every refusal is audited on the citizen.
The occurrence is kept on the referral as the referrer sent it
(``Referral.requested_occurrence``) and returned by a FHIR read.

Nothing in ``occurrence[x]`` is ignored:

- The end of a period already under way (or without a start) is the latest
  the citizen is to be seen by: before the urgency's deadline it becomes the
  deadline; after it the urgency's deadline stays, the latest the citizen is
  seen (a period under way never relaxes the urgency).
- A single time (``occurrenceDateTime``) before the urgency's deadline is
  the latest the citizen is to be seen by, and becomes the deadline. One
  after the urgency's deadline asks for the visit then ("kom i morgen kl.
  9"), as a period starting then does: it is a planned visit at that time
  (``Requested.beyond``), due by the urgency's deadline counted from it.
  Keeping the urgency's deadline instead would send a nurse hours before
  the referrer asked, to a citizen the referrer said to see later, while
  the same request written as a period was planned.
- A period that starts later than now is a planned visit (*planlagt besøg*: a
  discharge asking the acute function to see the citizen tomorrow morning).
  The referral is taken in and held as planned (``Referral.planned_for``, the
  period's start): no nurse is sent, by the coordinator or automatically,
  before ``DISPATCH_LEAD`` (one hour, the time a nurse needs to get there)
  ahead of the start, and the deadline watch does not judge it before then.
  Its deadline is the period's end, or the urgency's deadline counted from
  the start when the period has no end.
- A time more than ``PLAN_AHEAD_LIMIT`` (14 days) ahead is refused with its
  own code: the acute function is not a planning system, and a visit that far
  ahead belongs with the home nursing.

A time in the past, a period ending before it starts, a time without its UTC
offset or without a time of day, and a repeated timing are refused with their
own codes.

The doors without FHIR (the JSON API's ``requested_start``/``requested_end``,
the phone and short referral forms' *Ønsket tidspunkt*) give the same
period (``occurrence_period``) and are judged by the same rule, each
refusal naming the door's own field (``Occurrence.fields``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from core.errors import InvalidInput
from core.fhir.validation import ModifierNotUnderstood
from core.times import read_moment, representable

# ServiceRequest.occurrence[x] in FHIR R4/R4B.
OCCURRENCE_ELEMENTS = ("occurrenceDateTime", "occurrencePeriod", "occurrenceTiming")

OCCURRENCE_INVALID = "referral.occurrence_invalid"
OCCURRENCE_OFFSET_MISSING = "referral.occurrence_offset_missing"
OCCURRENCE_TIME_MISSING = "referral.occurrence_time_missing"
OCCURRENCE_PAST = "referral.occurrence_past"
OCCURRENCE_PERIOD_REVERSED = "referral.occurrence_period_reversed"
OCCURRENCE_TIMING_UNSUPPORTED = "referral.occurrence_timing_unsupported"

# How far ahead a referral may ask for its visit.
PLAN_AHEAD_LIMIT = timedelta(days=14)
# How long before a planned visit's start a nurse may be sent: her travel and
# the time to accept, so she is at the door when the referrer asked.
DISPATCH_LEAD = timedelta(hours=1)

_DATE_ONLY = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(?P<offset>Z|[+-]\d{2}:\d{2})?$"
)


@dataclass(frozen=True)
class Occurrence:
    """``ServiceRequest.occurrence[x]`` as the referrer sent it: each
    occurrence element present, by name, with its value untouched.
    ``fields`` names, for a door that is not FHIR, its own field for an
    element's path (``occurrencePeriod.start`` → ``requested_start``), so a
    refusal points at what the person or client typed."""

    elements: dict[str, Any] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)

    def where(self, path: str) -> str:
        return self.fields.get(path, path)


def occurrence_period(
    start: datetime | None, end: datetime | None, *, fields: Mapping[str, str]
) -> Occurrence | None:
    """The requested period a door without FHIR was given (aware instants),
    as the ``occurrencePeriod`` the FHIR door takes; None when neither is
    given (no requested time)."""
    if start is None and end is None:
        return None
    period = {
        key: moment.isoformat()
        for key, moment in (("start", start), ("end", end))
        if moment is not None
    }
    return Occurrence({"occurrencePeriod": period}, fields=fields)


def occurrence_kept(occurrence: Occurrence | None) -> dict[str, Any]:
    """The occurrence a referral keeps and a FHIR read returns: the time, or
    the period's ``start`` and ``end``, as the referrer wrote them (judged by
    ``requested`` first)."""
    if occurrence is None:
        return {}
    kept: dict[str, Any] = {}
    for name, value in occurrence.elements.items():
        if name == "occurrencePeriod" and isinstance(value, dict):
            kept[name] = {key: value[key] for key in ("start", "end") if value.get(key)}
        else:
            kept[name] = value
    return kept


def occurrence_split(body: dict[str, Any]) -> tuple[dict[str, Any], Occurrence | None]:
    """The ServiceRequest without its ``occurrence[x]`` (for the FHIR model to
    judge the rest), and the occurrence, which ``referral_create`` judges with
    precise codes of its own."""
    elements = {name: body[name] for name in OCCURRENCE_ELEMENTS if name in body}
    if not elements:
        return body, None
    rest = {key: value for key, value in body.items() if key not in elements}
    return rest, Occurrence(elements)


def _instant(value: object, where: str) -> datetime:
    if isinstance(value, str):
        if _DATE_ONLY.match(value):
            raise InvalidInput(
                OCCURRENCE_TIME_MISSING,
                "Give the time of day with its UTC offset, not only a date.",
                field=where,
            )
        matched = _DATE_TIME.match(value)
        if matched and not matched.group("offset"):
            raise InvalidInput(
                OCCURRENCE_OFFSET_MISSING,
                "Give the time with its UTC offset (Z or +01:00).",
                field=where,
            )
        at = read_moment(value) if matched else None
        if at is not None:
            # An instant past the years 1 to 9999 in UTC (0001-01-01T00:00+14:00)
            # is refused by name, as on every door (core.times).
            return representable(at, field=where).astimezone(UTC)
    raise InvalidInput(
        OCCURRENCE_INVALID,
        "Not a FHIR dateTime (YYYY-MM-DDThh:mm:ss with its UTC offset).",
        field=where,
    )


@dataclass(frozen=True)
class Requested:
    """What the referrer's ``occurrence[x]`` asks: ``by``, the latest time the
    citizen is to be seen by (None when it names none), ``planned_for``,
    the start of a period to come (None when the visit is not planned), and
    ``at``, the single time an ``occurrenceDateTime`` names."""

    by: datetime | None = None
    planned_for: datetime | None = None
    at: datetime | None = None

    def beyond(self, due: datetime) -> Requested:
        """What is asked, judged against the urgency's deadline ``due``: a
        single time later than it is a visit planned for that time, due by
        the urgency counted from it (as a period with only that start)."""
        if self.at is not None and self.at > due:
            return Requested(planned_for=self.at)
        return self


def dispatch_opens_at(planned_for: datetime) -> datetime:
    """When a nurse may first be sent on a visit planned for ``planned_for``."""
    return planned_for - DISPATCH_LEAD


def _within_limit(at: datetime, now: datetime, where: str) -> datetime:
    if at > now + PLAN_AHEAD_LIMIT:
        raise InvalidInput(
            "referral.occurrence_too_far_ahead",
            f"The requested time for the visit is more than {PLAN_AHEAD_LIMIT.days} days ahead;"
            f" the acute function plans visits at most {PLAN_AHEAD_LIMIT.days} days ahead.",
            field=where,
            params={"days": PLAN_AHEAD_LIMIT.days},
        )
    return at


def requested(occurrence: Occurrence | None, *, now: datetime) -> Requested:
    """What the referrer asks for (see the module's docstring). Refuses what
    the platform cannot honour."""
    if occurrence is None:
        return Requested()
    elements = occurrence.elements
    if len(elements) > 1:
        raise InvalidInput(
            OCCURRENCE_INVALID,
            "Give one occurrence[x]: occurrenceDateTime or occurrencePeriod.",
            field="occurrence",
        )
    ((name, value),) = elements.items()
    where = occurrence.where
    if name == "occurrenceTiming":
        raise ModifierNotUnderstood(
            OCCURRENCE_TIMING_UNSUPPORTED,
            "A repeated occurrenceTiming is not taken; give occurrenceDateTime or"
            " occurrencePeriod, and phone the coordinator to plan repeated visits.",
            field=name,
        )
    if name == "occurrenceDateTime":
        at = _instant(value, where(name))
        if at <= now:
            raise InvalidInput(
                OCCURRENCE_PAST,
                "occurrenceDateTime has passed; give a time to come.",
                field=where(name),
            )
        return Requested(by=_within_limit(at, now, where(name)), at=at)
    if not isinstance(value, dict) or not (value.get("start") or value.get("end")):
        raise InvalidInput(
            OCCURRENCE_INVALID, "occurrencePeriod needs a start or an end.", field=where(name)
        )
    unknown = set(value) - {"start", "end", "id", "extension"}
    if unknown:
        raise InvalidInput(
            OCCURRENCE_INVALID,
            "occurrencePeriod has elements a Period does not have.",
            field=where(name),
        )
    start = _instant(value["start"], where(f"{name}.start")) if value.get("start") else None
    end = _instant(value["end"], where(f"{name}.end")) if value.get("end") else None
    if start is not None and end is not None and end < start:
        raise InvalidInput(
            OCCURRENCE_PERIOD_REVERSED,
            "occurrencePeriod ends before it starts.",
            field=where(f"{name}.end"),
        )
    if end is not None and end <= now:
        raise InvalidInput(
            OCCURRENCE_PAST,
            "occurrencePeriod has ended; give a time to come.",
            field=where(f"{name}.end"),
        )
    if start is not None:
        _within_limit(start, now, where(f"{name}.start"))
    if end is not None:
        _within_limit(end, now, where(f"{name}.end"))
    if start is not None and start > now:
        return Requested(by=end, planned_for=start)
    return Requested(by=end)
