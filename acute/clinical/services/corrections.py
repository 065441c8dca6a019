"""Correcting or withdrawing a recorded result (R7, R11).

A result is never edited or deleted. A wrong one is marked entered in error
with who, when and why; when the right value is known it is recorded as a new
result that replaces it (same test, same time taken, same visit). A result
computed from another (eGFR from creatinine) follows its source: it is
withdrawn with it and computed again from the corrected value, never corrected
on its own. A critical-value alert raised for a withdrawn value is settled;
a corrected value that is critical raises its own. The GP who asked for the
visit and was sent the wrong value is told (``signals.results_amended``).

Who may: the nurse who recorded the result, or a nurse of the same acute
function with the care relationship (R1), both through
:func:`acute.clinical.selectors.result_access`. The citizen's registered death
does not stop a correction: the result keeps the time it was taken, before
her death, and the record must be right.

Every refusal is a denied attempt (R9), recorded after the refused write's
transaction rolled back, so nothing is half written.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from acute.clinical import signals
from acute.clinical.audit import clinical_audit, update_refusals_recorded
from acute.clinical.catalogue import check_plausible, normalise_unit, parse_value, stored_value
from acute.clinical.models import LabResult, PhysicianAlert
from acute.clinical.services.common import gp_referral, require_user
from acute.clinical.services.results import (
    build_result,
    derived_tests,
    raise_critical_alert,
    with_derived,
)
from consent.audit.services import Action
from core.actors import Actor
from core.errors import Conflict, InvalidInput
from core.locks import citizen_lock
from core.messages import label
from core.models import User
from core.validation import required_text, text_at_most

REASON_LIMIT = LabResult._meta.get_field("withdrawn_reason").max_length or 300


@dataclass(frozen=True)
class Amended:
    """What one correction or withdrawal did: the results marked entered in
    error (the source first, then what was computed from it) and the results
    that replace them (empty for a withdrawal)."""

    withdrawn: list[LabResult]
    replacements: list[LabResult]


def _reason(reason: str) -> str:
    cleaned = required_text(
        reason,
        code="lab.withdraw_reason_required",
        field="reason",
        message="Say why the result is entered in error.",
    )
    return text_at_most(
        cleaned,
        REASON_LIMIT,
        code="lab.withdraw_reason_too_long",
        field="reason",
        message=f"Write the reason in at most {REASON_LIMIT} characters.",
    )


def _not_derived(result: LabResult) -> None:
    if result.derived_from_id is not None:
        raise Conflict(
            "lab.derived_follows_source",
            f"{result.test.display} is computed from its source test: correct or withdraw "
            "that result, and this one follows.",
            params={"test": label(result.test.display)},
        )


def _withdraw_locked(result: LabResult, *, user: User, reason: str) -> list[LabResult]:
    """Mark ``result`` and what was computed from it entered in error, under
    the row lock; settle the alerts their values raised."""
    # Her row first (the lock order, ``core.locks``), then the results' own
    # rows: the test they are of is joined in to be read, not locked.
    citizen_lock(result.citizen_id)
    locked = (
        LabResult.objects.select_for_update(of=("self",)).select_related("test").get(pk=result.pk)
    )
    if locked.status == LabResult.Status.ENTERED_IN_ERROR:
        raise Conflict(
            "lab.already_withdrawn",
            "This result is already marked entered in error.",
        )
    derived = list(
        LabResult.objects.select_for_update(of=("self",))
        .select_related("test")
        .filter(derived_from=locked, status=LabResult.Status.FINAL)
    )
    now = timezone.now()
    withdrawn = [locked, *derived]
    for item in withdrawn:
        item.status = LabResult.Status.ENTERED_IN_ERROR
        item.withdrawn_at = now
        item.withdrawn_by = user
        item.withdrawn_reason = reason
        item.save(update_fields=["status", "withdrawn_at", "withdrawn_by", "withdrawn_reason"])
    # The physician was alerted to a value that was never the citizen's: the
    # alert is settled by the nurse who withdrew it, as a stopped order's are.
    PhysicianAlert.objects.filter(
        lab_result__in=withdrawn,
        kind=PhysicianAlert.Kind.CRITICAL_RESULT,
        acknowledged_at__isnull=True,
    ).update(acknowledged_at=now, acknowledged_by=user)
    return withdrawn


def _tell_gp(actor: Actor, amended: Amended) -> None:
    source = amended.withdrawn[0]
    visit = source.visit
    referral = gp_referral(visit)
    if referral is None:
        return
    signals.results_amended.send(
        sender=LabResult,
        visit=visit,
        citizen=source.citizen,
        gp_practice=referral.source_organisation or source.citizen.gp_practice,
        withdrawn=amended.withdrawn,
        replacements=amended.replacements,
        referral=referral,
        by=actor,
    )


def lab_result_withdraw(*, actor: Actor, result: LabResult, reason: str) -> Amended:
    """Mark a result entered in error (with what was computed from it): it
    was never the citizen's value, and no right one is known."""
    user = require_user(actor)
    with update_refusals_recorded(actor, result):
        cleaned = _reason(reason)
        _not_derived(result)
        with transaction.atomic():
            withdrawn = _withdraw_locked(result, user=user, reason=cleaned)
            clinical_audit(
                actor,
                Action.UPDATE,
                withdrawn[0],
                {"entered_in_error": [r.pk for r in withdrawn]},
            )
            amended = Amended(withdrawn=withdrawn, replacements=[])
            _tell_gp(actor, amended)
    return amended


def lab_result_correct(
    *, actor: Actor, result: LabResult, reason: str, value: object, unit: object
) -> Amended:
    """Mark a result entered in error and record the right value as a new
    result that replaces it: same test, time taken, visit and delegation;
    a computed result (eGFR) is computed again from the corrected value."""
    user = require_user(actor)
    organisation = actor.organisation
    assert organisation is not None
    with update_refusals_recorded(actor, result):
        cleaned = _reason(reason)
        _not_derived(result)
        test = result.test
        parsed = parse_value(value, field="value")
        unit_code = normalise_unit(test, unit, field="unit")
        check_plausible(test, parsed, field="value")
        corrected = stored_value(test, parsed)
        if corrected == result.value:
            raise InvalidInput(
                "lab.correction_unchanged",
                "The corrected value is the value recorded; withdraw the result instead "
                "if it should not stand.",
                field="value",
            )
        visit = result.visit
        citizen = result.citizen
        derived_test = derived_tests([test]).get(test.pk)
        with transaction.atomic():
            withdrawn = _withdraw_locked(result, user=user, reason=cleaned)
            replacement = build_result(
                visit=visit,
                citizen=citizen,
                test=test,
                value=corrected,
                unit=unit_code,
                effective_at=result.effective_at,
                user=user,
                organisation=organisation,
                delegation=result.delegation,
                replaces=withdrawn[0],
            )
            # The eGFR withdrawn with the creatinine is the one the new eGFR replaces.
            old = next(
                (r for r in withdrawn[1:] if derived_test and r.test_id == derived_test.pk), None
            )
            replacements = with_derived(replacement, derived_test, replaces=old)
            clinical_audit(
                actor,
                Action.UPDATE,
                withdrawn[0],
                {
                    "entered_in_error": [r.pk for r in withdrawn],
                    "replaced_by": [r.pk for r in replacements],
                },
            )
            clinical_audit(
                actor,
                Action.CREATE,
                replacement,
                {
                    "observations": [r.pk for r in replacements],
                    "replaces": withdrawn[0].pk,
                },
            )
            for item in replacements:
                if item.is_critical:
                    raise_critical_alert(
                        result=item,
                        visit=visit,
                        acute_function=visit.shift.acute_function,
                        actor=actor,
                    )
            amended = Amended(withdrawn=withdrawn, replacements=replacements)
            _tell_gp(actor, amended)
    return amended
