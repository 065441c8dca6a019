"""FHIR as every mapping here reads it: R4B validation (with errors that name
places, never the values sent), and the datatypes the record, Consent and
Patient share — references, instants, periods and codings. A refusal by R2 is
a :class:`RecordRefused`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from pydantic import BaseModel

from core.errors import InvalidInput
from core.fhir.validation import FHIRInvalid, fhir_refusal, fhir_validate
from core.times import day_start, naive_refused, read_day, read_moment
from core.validation import is_digits


class RecordRefused(InvalidInput):
    """Refused at the door by R2 (a 400 naming the rule)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        params: Mapping[str, object] | None = None,
    ):
        super().__init__(
            code, f"R2 permitted data only: {message}", field=field, rule="R2", params=params
        )


def validate_fhir(data: dict[str, Any], *, expected_type: str | None = None) -> dict[str, Any]:
    """R4B validation; the error lists places and reasons, never the values sent."""
    return validated_model(data, expected_type=expected_type).model_dump(
        mode="json", exclude_none=True
    )


def validated_model(data: dict[str, Any], *, expected_type: str | None = None) -> BaseModel:
    resource_type = data.get("resourceType")
    if not isinstance(resource_type, str):
        raise InvalidInput("fhir.invalid", "resourceType is missing.", field="resourceType")
    if expected_type and resource_type != expected_type:
        raise InvalidInput(
            "fhir.type_mismatch",
            f"This endpoint takes {expected_type}, not {resource_type}.",
            field="resourceType",
            params={"expected": expected_type, "given": resource_type[:40]},
        )
    try:
        model = get_fhir_model_class(resource_type)
    except KeyError:
        raise RecordRefused(
            "record.type_not_permitted",
            f"{resource_type[:40]} is not part of the shared record.",
            field="resourceType",
            params={"type": resource_type[:40]},
        ) from None
    try:
        validated: BaseModel = fhir_validate(model, data)
    except FHIRInvalid as exc:
        raise fhir_refusal(exc, resource_type) from None
    return validated


def codings(concept: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list((concept or {}).get("coding") or [])


def reference_id(ref: dict[str, Any] | None, kind: str, field: str) -> str:
    """The id a Reference names as ``<kind>/<id>`` (digits). Anything else —
    an absolute URL, a ``urn:uuid`` outside a transaction, another type, an id
    with more than the digits — is refused (``record.reference_invalid``)."""
    reference = str((ref or {}).get("reference") or "")
    prefix = f"{kind}/"
    rest = reference[len(prefix) :]
    # Digits as a row id is written: "Patient/07" is no Patient/7
    # (core.validation.row_id_text); one past a bigint is judged by the checks
    # after this one and names no row (referenced_id).
    if not reference.startswith(prefix) or not is_digits(rest) or rest.startswith("0"):
        raise InvalidInput(
            "record.reference_invalid",
            f"{field} must reference {kind}/<id>.",
            field=field,
            params={"element": field, "kind": kind},
        )
    return reference[len(prefix) :]


def referenced_id(ref: Any, kind: str) -> int | None:
    """The row id a Reference names, read exactly as :func:`reference_id`
    reads it, or None where that refuses it: for recording a refused attempt
    on the log of the citizen a body names, before (or without) parsing it."""
    try:
        value = reference_id(ref if isinstance(ref, dict) else None, kind, kind)
    except InvalidInput:
        return None
    return int(value) if len(value) <= 18 else None  # a row id (bigint) has at most 18 digits here


def instant(value: str | None, *, field: str | None = None) -> dt.datetime | None:
    if not value:
        return None
    # ISO 8601's extended form only (core.times): 2026-12-08T10.30+01:00 is
    # no half past ten, 20261208T1030Z no instant, 2026-12-08Tx no day.
    parsed = read_moment(value)
    if parsed is None:
        day = read_day(value)
        if day is None:
            return None
        # A date alone where a dateTime is taken (a death on 2026-10-25):
        # that Danish day's first moment, as a search and a Period read a
        # date (core.times.day_start), not midnight UTC, shown as 01:00.
        return _day_bound(day, end=False, field=field or "A date")
    elif timezone.is_naive(parsed):
        # FHIR: a dateTime with a time of day SHALL carry its offset; the
        # platform does not guess a zone (core.times).
        raise naive_refused(field)
    return representable(parsed, field=field)


def representable(moment: dt.datetime, *, field: str | None) -> dt.datetime:
    """``moment``, if it is an instant the store can hold and give back. A
    time is kept in UTC: 9999-12-31T23:59:59-14:00 is in the year 10000 there,
    0001-01-01T00:00:00+14:00 in the year 0, and a row holding either could be
    written but never read again — every read of the citizen's record would
    fail. Refused at the door instead."""
    try:
        moment.astimezone(dt.UTC)
    except OverflowError:
        raise InvalidInput(
            "fhir.date_out_of_range",
            f"{field or 'A date'} lies outside the years 1 to 9999 in UTC.",
            field=field,
            params={"element": field or "A date"},
        ) from None
    return moment


def period_bound(value: str | None, *, end: bool, field: str) -> dt.datetime | None:
    """A Period bound as an aware instant. A bare date is a whole Danish calendar
    day: a start is that day's first moment in Copenhagen, an end the first
    moment of the next day (FHIR reads ``end: 2025-03-31`` as "through the
    31st"), so the end is exclusive in the store."""
    if not value:
        return None
    if len(value) > 10:
        moment = instant(value, field=field)
    else:
        day = read_day(value)
        moment = None if day is None else _day_bound(day, end=end, field=field)
    if moment is None:
        raise InvalidInput(
            "fhir.date_invalid",
            f"{field} is a date or a date-time.",
            field=field,
            params={"element": field},
        )
    return moment


def _day_bound(day: dt.date, *, end: bool, field: str) -> dt.datetime:
    """The first moment in Copenhagen of ``day``, or with ``end`` of the day after."""
    try:
        if end:
            day += dt.timedelta(days=1)
        return day_start(day, field=field)
    except (OverflowError, InvalidInput):
        raise InvalidInput(
            "fhir.date_out_of_range",
            f"{field} lies outside the years 1 to 9999 in UTC.",
            field=field,
            params={"element": field},
        ) from None
