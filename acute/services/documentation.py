"""What the nurse documents on a visit once she is there: notes, the assessment
(*vurdering*) and vital signs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager
from decimal import Decimal

from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from acute.models import Visit, VisitNote, VitalSign
from acute.services._common import (
    EVERY_REFUSAL,
    creation_refused_audit,
    free_text_judged,
    refusal_audited,
    tablet_time_judged,
    text_within_limit,
    visit_audit,
    visit_lock,
)
from acute.services.visits import assigned_nurse_only
from consent.audit.services import Action
from core.actors import Actor
from core.deaths import CLOCK_SKEW, after_death
from core.errors import Conflict, InvalidInput, PlatformError
from core.messages import lowercase
from core.units import unit_label
from core.validation import DecimalBounds, decimal_parse, full_clean_or_raise, required_text

# What VitalSign.value holds, for every door that takes a measurement.
VITAL_SIGN_VALUE = DecimalBounds.of(VitalSign, "value")
# A value is written as it was read off the device: "37,5" is 37.5.
VITAL_SIGN_DECIMAL_COMMA = True

VITAL_SIGN_UNITS = {
    VitalSign.Code.HEART_RATE: ("/min", 0, 300),
    VitalSign.Code.RESPIRATORY_RATE: ("/min", 0, 80),
    VitalSign.Code.OXYGEN_SATURATION: ("%", 0, 100),
    VitalSign.Code.SYSTOLIC_BP: ("mm[Hg]", 0, 300),
    VitalSign.Code.DIASTOLIC_BP: ("mm[Hg]", 0, 250),
    VitalSign.Code.BODY_TEMPERATURE: ("Cel", 25, 45),
}


def _documenting(visit: Visit, actor: Actor, resource_type: str) -> AbstractContextManager[None]:
    """The transaction of one write on the visit: refused (not hers, not yet
    at the door), it is a denied attempt on the citizen's record (R9), as a
    result refused for the visit's status is."""
    return refusal_audited(
        actor=actor,
        citizen_id=visit.citizen_id,
        action=Action.CREATE,
        resource_type=resource_type,
        resource_id=f"visit-{visit.pk}",
        codes=EVERY_REFUSAL,
    )


def _documenting_nurse(visit: Visit, actor: Actor) -> Visit:
    visit = visit_lock(visit)
    assigned_nurse_only(visit, actor)
    if visit.status not in (Visit.Status.ON_SITE, Visit.Status.COMPLETED):
        raise Conflict("visit.not_on_site", "Document on a visit once on site.", field="status")
    return visit


def visit_note_add(
    *,
    visit: Visit,
    kind: str,
    text: str,
    written_at: dt.datetime | None = None,
    actor: Actor,
) -> VisitNote:
    """An assessment or a note on the visit, kept at the time she wrote it:
    now, or ``written_at``, her tablet's time for a note it sends later,
    judged as every time it gives (:func:`tablet_time_judged`), never moved
    to when it arrived."""
    if kind not in VisitNote.Kind.values:
        raise InvalidInput("visit_note.kind_unknown", "Unknown note kind.", field="kind")
    text = required_text(text, code="visit_note.empty", field="text", message="The note is empty.")
    text_within_limit(text, field="text")
    if kind == VisitNote.Kind.ASSESSMENT:
        # The assessment goes word for word into the hand-back (R11).
        free_text_judged(
            texts={"text": text},
            actor=actor,
            citizen_id=visit.citizen_id,
            action=Action.CREATE,
            resource_type="Encounter",
            resource_id=f"visit-{visit.pk}",
        )
    with _documenting(visit, actor, "Encounter"):
        if written_at is not None:
            tablet_time_judged(written_at, field="written_at")
        visit = _documenting_nurse(visit, actor)
        note = VisitNote(
            visit=visit,
            kind=kind,
            text=text,
            written_by=visit.nurse,
            written_at=written_at or timezone.now(),
        )
        full_clean_or_raise(note, code="visit_note.invalid")
        note.save(force_insert=True)
        if kind == VisitNote.Kind.ASSESSMENT:
            visit.assessment = text
            visit.save(update_fields=["assessment"])
        visit_audit(visit, actor, {"note": kind}, action=Action.CREATE)
    return note


def vital_signs_record(
    *,
    visit: Visit,
    measurements: Sequence[tuple[str, object]],
    measured_at: dt.datetime | None = None,
    actor: Actor,
) -> list[VitalSign]:
    """Vital signs measured on the visit, all or none."""
    if not measurements:
        raise InvalidInput("vital_signs.empty", "No measurements given.", field="measurements")
    measured_at = measured_at or timezone.now()
    untrue: InvalidInput | None = None
    if timezone.is_aware(measured_at) and measured_at < visit.assigned_at - CLOCK_SKEW:
        # A slip of the keys (a year, a day): an entry written offline is
        # still after the nurse was sent.
        untrue = InvalidInput(
            "vital_signs.before_visit",
            "Measurements cannot be from before the visit was assigned.",
            field="measured_at",
        )
    else:
        try:
            # Her tablet's time, judged as on every door (a day back at most).
            tablet_time_judged(measured_at, field="measured_at")
        except InvalidInput as untimely:
            untrue = untimely
    if untrue is not None:
        # A time that cannot be true is a refused write on her record (R9),
        # as a value no living person has is.
        creation_refused_audit(
            actor=actor,
            citizen_id=visit.citizen_id,
            resource_type="Observation",
            reason_code=untrue.code,
        )
        raise untrue
    if after_death(visit.citizen, measured_at):
        # Nothing is measured on the dead; the attempt is on her record (R9).
        creation_refused_audit(
            actor=actor,
            citizen_id=visit.citizen_id,
            resource_type="Observation",
            reason_code="vital_signs.after_death",
        )
        raise InvalidInput(
            "vital_signs.after_death",
            "Measurements cannot be from after the citizen's registered death.",
            field="measured_at",
        )
    rows = []
    refused: list[PlatformError] = []
    for index, (code, raw) in enumerate(measurements):
        try:
            rows.append(_measurement(index, code, raw))
        except InvalidInput as exc:
            refused.append(exc)
    if refused:
        # A value no living person has, as a result's would be (R9).
        creation_refused_audit(
            actor=actor,
            citizen_id=visit.citizen_id,
            resource_type="Observation",
            reason_code=refused[0].code,
        )
        raise PlatformError.all_of(refused)
    with _documenting(visit, actor, "Observation"):
        visit = _documenting_nurse(visit, actor)
        created = VitalSign.objects.bulk_create(
            [
                VitalSign(
                    visit=visit,
                    code=code,
                    value=value,
                    unit=unit,
                    measured_at=measured_at,
                    recorded_by=visit.nurse,
                )
                for code, value, unit in rows
            ]
        )
        visit_audit(
            visit,
            actor,
            {"codes": [code for code, _v, _u in rows]},
            action=Action.CREATE,
            resource_type="Observation",
        )
    return created


# Each code with its name in the reader's language: "8867-4 (puls)".
_VITAL_SIGN_CODES = format_lazy(
    ", ".join(f"{code} ({{{i}}})" for i, code in enumerate(VitalSign.Code.values)),
    *(lowercase(gettext_lazy(label)) for label in VitalSign.Code.labels),
)


def _measurement(index: int, code: str, raw: object) -> tuple[str, Decimal, str]:
    """One measurement checked against its code's unit and range: (code, value, unit)."""
    if code not in VITAL_SIGN_UNITS:
        raise InvalidInput(
            "vital_signs.code_unknown",
            f"Unknown vital sign code; use one of {', '.join(VitalSign.Code.values)}.",
            field=f"measurements[{index}].code",
            params={"codes": _VITAL_SIGN_CODES},
        )
    unit, low, high = VITAL_SIGN_UNITS[VitalSign.Code(code)]
    value = decimal_parse(
        raw,
        VITAL_SIGN_VALUE,
        field=f"measurements[{index}].value",
        code="vital_signs.value_invalid",
        decimal_comma=VITAL_SIGN_DECIMAL_COMMA,
    )
    if not (low <= value <= high):
        raise InvalidInput(
            "vital_signs.value_out_of_range",
            f"The value must be between {low} and {high} {unit}.",
            field=f"measurements[{index}].value",
            params={"low": low, "high": high, "unit": unit_label(unit)},
        )
    return code, value.quantize(Decimal("0.1")), unit
