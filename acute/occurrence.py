"""When the referrer asks the citizen to be seen: a FHIR ServiceRequest's
``occurrence[x]`` (R10). Read by every door that takes a ServiceRequest — the
FHIR base and the partners' messages — and judged by ``referral_create``, so
each door refuses the same way and every refusal is audited on the citizen.

Nothing in ``occurrence[x]`` is ignored: a time (``occurrenceDateTime``) or a
period's end before the urgency's deadline tightens the deadline; one after
it leaves the urgency's deadline, the latest the citizen is seen. A period
that starts later than now (a visit planned for later) is refused: the
platform dispatches from the moment a referral is received, and the
coordinator plans a later visit on the phone. A time in the past, a period
ending before it starts, a time without its UTC offset or without a time of
day, and a repeated timing are refused with their own codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.errors import InvalidInput
from core.fhir.validation import ModifierNotUnderstood

# ServiceRequest.occurrence[x] in FHIR R4/R4B.
OCCURRENCE_ELEMENTS = ("occurrenceDateTime", "occurrencePeriod", "occurrenceTiming")

OCCURRENCE_INVALID = "referral.occurrence_invalid"
OCCURRENCE_OFFSET_MISSING = "referral.occurrence_offset_missing"
OCCURRENCE_TIME_MISSING = "referral.occurrence_time_missing"
OCCURRENCE_PAST = "referral.occurrence_past"
OCCURRENCE_PERIOD_REVERSED = "referral.occurrence_period_reversed"
OCCURRENCE_NOT_YET = "referral.occurrence_not_yet"
OCCURRENCE_TIMING_UNSUPPORTED = "referral.occurrence_timing_unsupported"

_DATE_ONLY = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(?P<offset>Z|[+-]\d{2}:\d{2})?$"
)


@dataclass(frozen=True)
class Occurrence:
    """``ServiceRequest.occurrence[x]`` as the referrer sent it: each
    occurrence element present, by name, with its value untouched."""

    elements: dict[str, Any] = field(default_factory=dict)


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
        if matched:
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
            except ValueError:
                pass
    raise InvalidInput(
        OCCURRENCE_INVALID,
        "Not a FHIR dateTime (YYYY-MM-DDThh:mm:ss with its UTC offset).",
        field=where,
    )


def requested_by(occurrence: Occurrence | None, *, now: datetime) -> datetime | None:
    """The latest time the referrer asks the citizen to be seen by, or None
    when it names none (no occurrence, a period open at its end). Refuses
    what the platform cannot honour (see the module's docstring)."""
    if occurrence is None:
        return None
    elements = occurrence.elements
    if len(elements) > 1:
        raise InvalidInput(
            OCCURRENCE_INVALID,
            "Give one occurrence[x]: occurrenceDateTime or occurrencePeriod.",
            field="occurrence",
        )
    ((name, value),) = elements.items()
    if name == "occurrenceTiming":
        raise ModifierNotUnderstood(
            OCCURRENCE_TIMING_UNSUPPORTED,
            "A repeated occurrenceTiming is not taken; give occurrenceDateTime or"
            " occurrencePeriod, and phone the coordinator to plan repeated visits.",
            field=name,
        )
    if name == "occurrenceDateTime":
        at = _instant(value, name)
        if at <= now:
            raise InvalidInput(
                OCCURRENCE_PAST, "occurrenceDateTime has passed; give a time to come.", field=name
            )
        return at
    if not isinstance(value, dict) or not (value.get("start") or value.get("end")):
        raise InvalidInput(
            OCCURRENCE_INVALID, "occurrencePeriod needs a start or an end.", field=name
        )
    unknown = set(value) - {"start", "end", "id", "extension"}
    if unknown:
        raise InvalidInput(
            OCCURRENCE_INVALID,
            "occurrencePeriod has elements a Period does not have.",
            field=name,
        )
    start = _instant(value["start"], f"{name}.start") if value.get("start") else None
    end = _instant(value["end"], f"{name}.end") if value.get("end") else None
    if start is not None and end is not None and end < start:
        raise InvalidInput(
            OCCURRENCE_PERIOD_REVERSED,
            "occurrencePeriod ends before it starts.",
            field=f"{name}.end",
        )
    if end is not None and end <= now:
        raise InvalidInput(
            OCCURRENCE_PAST,
            "occurrencePeriod has ended; give a time to come.",
            field=f"{name}.end",
        )
    if start is not None and start > now:
        raise InvalidInput(
            OCCURRENCE_NOT_YET,
            "A referral is dispatched from when it is received; a visit planned for later"
            " (occurrencePeriod.start to come) is arranged by phoning the coordinator.",
            field=f"{name}.start",
        )
    return end
