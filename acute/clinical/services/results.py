"""Point-of-care lab results on the visit, the eGFR derived from a creatinine,
and the physician alert a critical result raises."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy, gettext_noop

from acute.clinical import signals
from acute.clinical.audit import clinical_audit
from acute.clinical.catalogue import (
    check_plausible,
    interpret,
    normalise_unit,
    parse_value,
    reference_interval,
    stored_value,
)
from acute.clinical.egfr import age_in_years, egfr_ckd_epi_2021
from acute.clinical.models import (
    Delegation,
    LabResult,
    PhysicianAlert,
    TestDefinition,
)
from acute.clinical.services.common import (
    COPENHAGEN,
    RESULT_STATUSES,
    delegation_or_refuse,
    gp_referral,
    refuse,
    require_user,
    require_visit_status,
    responsible_physician,
    visit_held,
    within_visit,
)
from acute.models import Visit
from consent.audit.services import Action
from core.actors import Actor
from core.errors import (
    InvalidInput,
    PlatformError,
)
from core.messages import label
from core.models import Citizen, Organisation, User
from core.validation import full_clean_or_raise

RESULT_RELATIONS = [
    "visit",
    "citizen",
    "test",
    "derived_from",
    "delegation",
    "recorded_by",
    "recorded_by_organisation",
    "replaces",
    "withdrawn_by",
]


@dataclass(frozen=True)
class ResultInput:
    code: str
    value: object
    unit: object
    effective_at: dt.datetime | None = None


@dataclass(frozen=True)
class _CheckedResult:
    test: TestDefinition
    value: Decimal
    unit: str
    effective_at: dt.datetime
    delegation: Delegation | None


def _check_result(
    *,
    actor: Actor,
    visit: Visit,
    entry: ResultInput,
    index: int,
    now: dt.datetime,
    catalogue: dict[str, TestDefinition],
) -> _CheckedResult:
    prefix = f"results[{index}]"
    test = catalogue.get(entry.code)
    if test is None:
        raise refuse(
            InvalidInput(
                "catalogue.unknown",
                "No test with this code in the catalogue.",
                field=f"{prefix}.code",
            ),
            actor=actor,
            citizen_id=visit.citizen_id,
            resource_type="Observation",
        )
    if test.derivation:
        raise refuse(
            InvalidInput(
                "lab.derived_result",
                f"{test.display} is computed by the platform from its source test, not entered.",
                field=f"{prefix}.code",
                params={"test": label(test.display)},
            ),
            actor=actor,
            citizen_id=visit.citizen_id,
            resource_type="Observation",
        )
    effective_at = entry.effective_at or now
    delegation = delegation_or_refuse(
        actor=actor, visit=visit, test=test, resource_type="Observation", when=effective_at
    )
    try:
        value = parse_value(entry.value, field=f"{prefix}.value")
        unit = normalise_unit(test, entry.unit, field=f"{prefix}.unit")
        check_plausible(test, value, field=f"{prefix}.value")
    except InvalidInput as error:
        raise refuse(
            error, actor=actor, citizen_id=visit.citizen_id, resource_type="Observation"
        ) from None
    within_visit(
        effective_at,
        visit,
        actor=actor,
        field=f"{prefix}.effective_at",
        resource_type="Observation",
    )
    return _CheckedResult(test, stored_value(test, value), unit, effective_at, delegation)


def build_result(
    *,
    visit: Visit,
    citizen: Citizen,
    test: TestDefinition,
    value: Decimal,
    unit: str,
    effective_at: dt.datetime,
    user: User,
    organisation: Organisation,
    delegation: Delegation | None = None,
    derived_from: LabResult | None = None,
    replaces: LabResult | None = None,
) -> LabResult:
    interval = reference_interval(test, sex=citizen.sex)
    result = LabResult(
        visit=visit,
        citizen=citizen,
        test=test,
        value=value,
        unit=unit,
        interpretation=interpret(test, value, sex=citizen.sex),
        reference_low=interval.low,
        reference_high=interval.high,
        effective_at=effective_at,
        delegation=delegation,
        derived_from=derived_from,
        replaces=replaces,
        recorded_by=user,
        recorded_by_organisation=organisation,
    )
    # The related rows are loaded instances; validating them again would fetch each.
    # A new result is final and never withdrawn: the withdrawal's constraint
    # holds without a query (the database still enforces it).
    full_clean_or_raise(result, code="lab.invalid", exclude=[*RESULT_RELATIONS, "withdrawn_reason"])
    result.save(force_insert=True)
    return result


def egfr_for(
    *, creatinine: LabResult, derived: TestDefinition, replaces: LabResult | None = None
) -> LabResult | None:
    """The eGFR derived from a creatinine result (CKD-EPI 2021), for adults,
    recorded as the creatinine was: for its citizen, by the same nurse."""
    citizen = creatinine.citizen
    age = age_in_years(citizen.birth_date, creatinine.effective_at.astimezone(COPENHAGEN).date())
    if age < 18:
        return None  # CKD-EPI is an adult equation; children's eGFR is left to the laboratory
    value = egfr_ckd_epi_2021(
        creatinine_umol_l=creatinine.value,
        age=age,
        female=citizen.sex == Citizen.Sex.FEMALE,
    )
    return build_result(
        visit=creatinine.visit,
        citizen=citizen,
        test=derived,
        value=value,
        unit=derived.unit,
        effective_at=creatinine.effective_at,
        user=creatinine.recorded_by,
        organisation=creatinine.recorded_by_organisation,
        derived_from=creatinine,
        replaces=replaces,
    )


def derived_tests(sources: Iterable[TestDefinition]) -> dict[int | None, TestDefinition]:
    """Tests computed from another (eGFR from creatinine), by their source test."""
    return {
        test.derived_from_id: test
        for test in TestDefinition.objects.filter(
            derived_from__in=sources,
            derivation=TestDefinition.Derivation.EGFR_CKD_EPI_2021,
            is_active=True,
        )
    }


def with_derived(
    result: LabResult, derived: TestDefinition | None, *, replaces: LabResult | None = None
) -> list[LabResult]:
    """The result, then what ``derived`` computes from it (an adult's eGFR
    from her creatinine), if anything; ``replaces``: the computed result the
    new one corrects."""
    egfr = (
        None if derived is None else egfr_for(creatinine=result, derived=derived, replaces=replaces)
    )
    return [result] if egfr is None else [result, egfr]


CRITICAL_RESULT = gettext_noop("Critical %(test)s: %(value)s %(unit)s (%(interpretation)s).")


def raise_critical_alert(
    *, result: LabResult, visit: Visit, acute_function: Organisation, actor: Actor
) -> PhysicianAlert:
    physician, organisation = responsible_physician(visit)
    alert = PhysicianAlert(
        kind=PhysicianAlert.Kind.CRITICAL_RESULT,
        citizen_id=result.citizen_id,
        recipient=physician,
        # Without a known physician the alert lands with the acute function's
        # coordinators, who phone the physician on call.
        recipient_organisation=organisation or acute_function,
        lab_result=result,
        visit=visit,
        message=CRITICAL_RESULT,
        # The test's display and the interpretation are kept in English
        # (msgids), the value with its decimal point: read in the reader's language.
        params={
            "test": result.test.display,
            "value": f"{result.value.normalize():f}",
            "unit": result.test.unit_display or result.unit,
            "interpretation": LabResult.Interpretation(result.interpretation).label,
        },
    )
    alert.save(force_insert=True)
    signals.critical_result_recorded.send(sender=LabResult, result=result, alert=alert, by=actor)
    signals.physician_alert_raised.send(sender=PhysicianAlert, alert=alert)
    return alert


def lab_results_record(
    *, actor: Actor, visit: Visit, entries: Sequence[ResultInput]
) -> list[LabResult]:
    """Record one or more results taken on the visit (R7), interpreted against the
    reference interval; eGFR is derived from creatinine; a critical value alerts
    the responsible physician; the GP who asked for the visit gets them."""
    user = require_user(actor)
    organisation = actor.organisation
    assert organisation is not None
    try:
        require_visit_status(visit, RESULT_STATUSES, gettext_lazy("Results"))
    except PlatformError as error:
        # Taken before she is at the door or after the visit ended: a refused
        # write on the citizen's record (R9).
        raise refuse(
            error, actor=actor, citizen_id=visit.citizen_id, resource_type="Observation"
        ) from None
    if not entries:
        raise InvalidInput("lab.empty", "Give at least one result.", field="results")
    if len(entries) > 50:
        raise InvalidInput("lab.too_many", "At most 50 results at a time.", field="results")
    now = timezone.now()
    catalogue = {
        test.code: test
        for test in TestDefinition.objects.filter(
            code__in={entry.code for entry in entries},
            kind=TestDefinition.Kind.OBSERVATION,
            is_active=True,
        )
    }
    checked = [
        _check_result(actor=actor, visit=visit, entry=entry, index=i, now=now, catalogue=catalogue)
        for i, entry in enumerate(entries)
    ]
    citizen = visit.citizen
    acute_function = visit.shift.acute_function
    derived_by_source = derived_tests([item.test for item in checked])
    results: list[LabResult] = []
    with visit_held(
        visit=visit,
        allowed=RESULT_STATUSES,
        what=gettext_lazy("Results"),
        actor=actor,
        resource_type="Observation",
    ):
        for item in checked:
            result = build_result(
                visit=visit,
                citizen=citizen,
                test=item.test,
                value=item.value,
                unit=item.unit,
                effective_at=item.effective_at,
                user=user,
                organisation=organisation,
                delegation=item.delegation,
            )
            results += with_derived(result, derived_by_source.get(item.test.pk))
        # One entry for the panel written together, naming every Observation.
        clinical_audit(
            actor,
            Action.CREATE,
            results[0],
            {
                "observations": [r.pk for r in results],
                "codes": [r.test.code for r in results],
            },
        )
        for result in results:
            if result.is_critical:
                raise_critical_alert(
                    result=result, visit=visit, acute_function=acute_function, actor=actor
                )
        referral = gp_referral(visit)
        if referral is not None:
            # Sent even with no practice to send to: the GP who asked must
            # still be told, by phone if need be.
            signals.results_recorded.send(
                sender=LabResult,
                visit=visit,
                citizen=citizen,
                gp_practice=referral.source_organisation or citizen.gp_practice,
                results=results,
                referral=referral,
                by=actor,
            )
    return results


# --- Procedures -------------------------------------------------------------
