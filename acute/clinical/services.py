"""Writes of the visit's clinical work: delegations, results, procedures and
physician medication orders (R7, R8).

Every service takes the visit or order already let through the gate
(``acute.clinical.selectors``); it validates everything before the first row
is written, so a refusal never leaves half a record. A refusal of a rule
(R7 delegation, R8 read-back or §4) is recorded in the audit log as a denied
attempt before it is raised, outside the refused write's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from acute.clinical import dosing, signals
from acute.clinical.catalogue import (
    check_plausible,
    interpret,
    normalise_unit,
    parse_value,
    reference_interval,
)
from acute.clinical.egfr import age_in_years, egfr_ckd_epi_2021
from acute.clinical.models import (
    Delegation,
    LabResult,
    MedicationOrder,
    PhysicianAlert,
    ProcedureRecord,
    TestDefinition,
)
from acute.models import Referral, Visit
from consent.audit.services import Action, Outcome, Purpose, audit_record
from core.actors import Actor
from core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    PlatformError,
    PreconditionFailed,
)
from core.models import Citizen, Membership, Organisation, Role, User
from core.validation import full_clean_or_raise

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
# Tablets' clocks drift; a time a little ahead of ours is not "in the future".
CLOCK_SKEW = dt.timedelta(minutes=5)
RESULT_STATUSES = (Visit.Status.ON_SITE,)
RESULT_RELATIONS = [
    "visit",
    "citizen",
    "test",
    "derived_from",
    "delegation",
    "recorded_by",
    "recorded_by_organisation",
]
ORDER_STATUSES = (Visit.Status.ACCEPTED, Visit.Status.EN_ROUTE, Visit.Status.ON_SITE)
# Bounds of an order's schedule: every half hour, and a year.
MAX_DOSES_PER_DAY = 48
MAX_ORDER_DAYS = 366


def refuse(
    error: PlatformError, *, actor: Actor, citizen_id: int, resource_type: str
) -> PlatformError:
    """Record a refused write as a denied attempt (R9), then hand the error back to raise."""
    audit_record(
        actor=actor,
        action=Action.CREATE,
        purpose=Purpose.TREATMENT,
        citizen_id=citizen_id,
        outcome=Outcome.DENIED,
        resource_type=resource_type,
        reason_code=error.code,
        detail={"rule": error.rule} if error.rule else None,
    )
    return error


def _require_user(actor: Actor) -> User:
    if actor.user is None or actor.organisation is None:
        raise Forbidden("actor.required", "Only a member of staff can do this.")
    return actor.user


def _require_visit_status(visit: Visit, allowed: Sequence[str], what: str) -> None:
    if visit.status not in allowed:
        raise PreconditionFailed(
            "visit.wrong_status",
            f"{what} can only be recorded while the visit is "
            + " or ".join(Visit.Status(s).label.lower() for s in allowed)
            + f"; it is {visit.get_status_display().lower()}.",
        )


def _not_in_future(when: dt.datetime, *, field: str) -> None:
    if timezone.is_naive(when):
        raise InvalidInput("time.naive", "Times must carry a time zone offset.", field=field)
    if when > timezone.now() + CLOCK_SKEW:
        raise InvalidInput("time.in_future", "The time lies in the future.", field=field)


def _catalogue_entry(code: str, *, kind: str, field: str) -> TestDefinition:
    test = TestDefinition.objects.filter(code=code, kind=kind, is_active=True).first()
    if test is None:
        what = "test" if kind == TestDefinition.Kind.OBSERVATION else "procedure"
        raise InvalidInput(
            "catalogue.unknown",
            f"No {what} with this code in the catalogue.",
            field=field,
        )
    return test


def _delegation_or_refuse(
    *, actor: Actor, visit: Visit, test: TestDefinition, resource_type: str
) -> Delegation | None:
    """R7: predefined tests need nothing; anything else needs this visit's delegation."""
    if test.predefined:
        return None
    delegation = Delegation.objects.filter(visit=visit, test=test).first()
    if delegation is None:
        raise refuse(
            Forbidden(
                "clinical.delegation_required",
                f"{test.display} is not one of the predefined tests (R7): a physician's "
                "delegation for this citizen and this task must be recorded on the visit first.",
                rule="R7",
            ),
            actor=actor,
            citizen_id=visit.citizen_id,
            resource_type=resource_type,
        )
    return delegation


def _physician_by_authorisation(authorisation_id: str) -> Membership | None:
    if not authorisation_id:
        return None
    return (
        Membership.objects.select_related("user", "organisation")
        .filter(
            user__authorisation_id=authorisation_id,
            role=Role.PHYSICIAN,
            is_active=True,
            user__is_active=True,
        )
        .order_by("-is_default", "pk")
        .first()
    )


def gp_referral(visit: Visit) -> Referral | None:
    """The GP's referral behind this visit, if the GP asked for it."""
    if visit.referral is not None:
        return visit.referral if visit.referral.source == Referral.Source.GP else None
    return (
        Referral.objects.filter(episode_id=visit.episode_id, source=Referral.Source.GP)
        .select_related("source_organisation")
        .order_by("received_at")
        .first()
    )


# --- Delegations -----------------------------------------------------------


def delegation_record(
    *,
    actor: Actor,
    visit: Visit,
    test_code: str,
    physician_name: str,
    physician_authorisation_id: str,
    physician_organisation_name: str,
    delegated_at: dt.datetime,
    note: str = "",
) -> Delegation:
    """Record on the visit that a physician delegated one task for this citizen (R7)."""
    user = _require_user(actor)
    _require_visit_status(visit, ORDER_STATUSES, "A delegation")
    _not_in_future(delegated_at, field="delegated_at")
    test = TestDefinition.objects.filter(code=test_code, is_active=True).first()
    if test is None:
        raise InvalidInput(
            "catalogue.unknown", "No test or procedure with this code.", field="code"
        )
    if test.predefined:
        raise InvalidInput(
            "delegation.not_required",
            f"{test.display} is a predefined task (R7) and needs no delegation.",
            field="code",
            rule="R7",
        )
    if test.derivation:
        raise InvalidInput(
            "delegation.derived_test", "A computed result cannot be delegated.", field="code"
        )
    physician = _physician_by_authorisation(physician_authorisation_id)
    delegation = Delegation(
        visit=visit,
        citizen_id=visit.citizen_id,
        test=test,
        physician_name=physician_name.strip(),
        physician_authorisation_id=physician_authorisation_id.strip(),
        physician_organisation_name=physician_organisation_name.strip(),
        physician=physician.user if physician else None,
        delegated_at=delegated_at,
        note=note.strip(),
        recorded_by=user,
    )
    full_clean_or_raise(delegation, code="delegation.invalid", exclude=["visit"])
    with transaction.atomic():
        if Delegation.objects.select_for_update().filter(visit=visit, test=test).exists():
            raise Conflict("delegation.exists", "This task is already delegated on this visit.")
        delegation.save(force_insert=True)
        audit_record(
            actor=actor,
            action=Action.CREATE,
            purpose=Purpose.TREATMENT,
            citizen_id=visit.citizen_id,
            resource_type="Delegation",
            resource_id=str(delegation.pk),
            detail={"task": test.code},
        )
    return delegation


# --- Results ---------------------------------------------------------------


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
        raise InvalidInput(
            "catalogue.unknown", "No test with this code in the catalogue.", field=f"{prefix}.code"
        )
    if test.derivation:
        raise InvalidInput(
            "lab.derived_result",
            f"{test.display} is computed by the platform from its source test, not entered.",
            field=f"{prefix}.code",
        )
    delegation = _delegation_or_refuse(
        actor=actor, visit=visit, test=test, resource_type="Observation"
    )
    try:
        value = parse_value(entry.value, field=f"{prefix}.value")
        unit = normalise_unit(test, entry.unit, field=f"{prefix}.unit")
        check_plausible(test, value, field=f"{prefix}.value")
    except InvalidInput as error:
        raise refuse(
            error, actor=actor, citizen_id=visit.citizen_id, resource_type="Observation"
        ) from None
    effective_at = entry.effective_at or now
    _not_in_future(effective_at, field=f"{prefix}.effective_at")
    quantum = Decimal(1).scaleb(-min(test.decimals, 3))
    return _CheckedResult(test, value.quantize(quantum), unit, effective_at, delegation)


def _build_result(
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
        recorded_by=user,
        recorded_by_organisation=organisation,
    )
    # The related rows are loaded instances; validating them again would fetch each.
    full_clean_or_raise(result, code="lab.invalid", exclude=RESULT_RELATIONS)
    result.save(force_insert=True)
    return result


def _egfr_for(
    *,
    creatinine: LabResult,
    derived: TestDefinition,
    citizen: Citizen,
    user: User,
    organisation: Organisation,
) -> LabResult | None:
    """The eGFR derived from a creatinine result (CKD-EPI 2021), for adults."""
    age = age_in_years(citizen.birth_date, creatinine.effective_at.astimezone(COPENHAGEN).date())
    if age < 18:
        return None  # CKD-EPI is an adult equation; children's eGFR is left to the laboratory
    value = egfr_ckd_epi_2021(
        creatinine_umol_l=creatinine.value,
        age=age,
        female=citizen.sex == Citizen.Sex.FEMALE,
    )
    return _build_result(
        visit=creatinine.visit,
        citizen=citizen,
        test=derived,
        value=value,
        unit=derived.unit,
        effective_at=creatinine.effective_at,
        user=user,
        organisation=organisation,
        derived_from=creatinine,
    )


def _responsible_physician(visit: Visit) -> tuple[User | None, Organisation | None]:
    """Who carries treatment responsibility for the visit's episode: the referral's
    responsible physician, matched to a user of that organisation by name when
    possible; otherwise the organisation itself."""
    referral = visit.referral or (
        Referral.objects.filter(episode_id=visit.episode_id).order_by("received_at").first()
    )
    if referral is None:
        return None, None
    organisation = referral.responsible_physician_organisation or referral.source_organisation
    if organisation is None:
        return None, None
    name = referral.responsible_physician_name.strip().lower()
    for membership in Membership.objects.select_related("user").filter(
        organisation=organisation, role=Role.PHYSICIAN, is_active=True
    ):
        if membership.user.display_name.strip().lower() == name:
            return membership.user, organisation
    return None, organisation


def _raise_critical_alert(
    *, result: LabResult, visit: Visit, acute_function: Organisation, actor: Actor
) -> PhysicianAlert:
    physician, organisation = _responsible_physician(visit)
    alert = PhysicianAlert(
        kind=PhysicianAlert.Kind.CRITICAL_RESULT,
        citizen_id=result.citizen_id,
        recipient=physician,
        # Without a known physician the alert lands with the acute function's
        # coordinators, who phone the physician on call.
        recipient_organisation=organisation or acute_function,
        lab_result=result,
        visit=visit,
        message=(
            f"Critical {result.test.display}: {result.value.normalize():f} "
            f"{result.test.unit_display or result.unit} "
            f"({result.get_interpretation_display().lower()})."
        ),
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
    user = _require_user(actor)
    organisation = actor.organisation
    assert organisation is not None
    _require_visit_status(visit, RESULT_STATUSES, "Results")
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
    # Tests computed from another (eGFR from creatinine), by their source test.
    derived_by_source = {
        test.derived_from_id: test
        for test in TestDefinition.objects.filter(
            derived_from__in=[item.test for item in checked],
            derivation=TestDefinition.Derivation.EGFR_CKD_EPI_2021,
            is_active=True,
        )
    }
    results: list[LabResult] = []
    with transaction.atomic():
        for item in checked:
            result = _build_result(
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
            results.append(result)
            derived = derived_by_source.get(item.test.pk)
            if derived is not None:
                egfr = _egfr_for(
                    creatinine=result,
                    derived=derived,
                    citizen=citizen,
                    user=user,
                    organisation=organisation,
                )
                if egfr is not None:
                    results.append(egfr)
        # One entry for the panel written together, naming every Observation.
        audit_record(
            actor=actor,
            action=Action.CREATE,
            purpose=Purpose.TREATMENT,
            citizen_id=citizen.pk,
            resource_type="Observation",
            resource_id=str(results[0].pk),
            detail={
                "observations": [r.pk for r in results],
                "codes": [r.test.code for r in results],
            },
        )
        for result in results:
            if result.is_critical:
                _raise_critical_alert(
                    result=result, visit=visit, acute_function=acute_function, actor=actor
                )
        referral = gp_referral(visit)
        if referral is not None:
            gp_practice = referral.source_organisation or citizen.gp_practice
            if gp_practice is not None:
                signals.results_recorded.send(
                    sender=LabResult,
                    visit=visit,
                    citizen=citizen,
                    gp_practice=gp_practice,
                    results=results,
                    by=actor,
                )
    return results


# --- Procedures -------------------------------------------------------------


def procedure_record(
    *,
    actor: Actor,
    visit: Visit,
    code: str,
    performed_at: dt.datetime | None = None,
    status: str = ProcedureRecord.Status.COMPLETED,
    note: str = "",
) -> ProcedureRecord:
    """Record a procedure done on the visit: urinary catheter or feeding tube
    placement (R7), or a delegated one."""
    user = _require_user(actor)
    assert actor.organisation is not None
    _require_visit_status(visit, RESULT_STATUSES, "Procedures")
    test = _catalogue_entry(code, kind=TestDefinition.Kind.PROCEDURE, field="code")
    delegation = _delegation_or_refuse(
        actor=actor, visit=visit, test=test, resource_type="Procedure"
    )
    when = performed_at or timezone.now()
    _not_in_future(when, field="performed_at")
    if status not in ProcedureRecord.Status.values:
        raise InvalidInput("procedure.status_invalid", "Unknown procedure status.", field="status")
    procedure = ProcedureRecord(
        visit=visit,
        citizen_id=visit.citizen_id,
        test=test,
        status=status,
        performed_at=when,
        note=note.strip(),
        delegation=delegation,
        recorded_by=user,
        recorded_by_organisation=actor.organisation,
    )
    full_clean_or_raise(procedure, code="procedure.invalid", exclude=["visit"])
    with transaction.atomic():
        procedure.save(force_insert=True)
        audit_record(
            actor=actor,
            action=Action.CREATE,
            purpose=Purpose.TREATMENT,
            citizen_id=visit.citizen_id,
            resource_type="Procedure",
            resource_id=str(procedure.pk),
            detail={"code": test.code},
        )
    return procedure


# --- Physician medication orders (R8) ---------------------------------------


@dataclass(frozen=True)
class OrderDetails:
    """What is ordered: the medicine (ATC), dose, route, frequency, duration, indication.

    What the order allows (R8) may also be stated in numbers: ``doses_per_day``,
    ``duration_days`` and an explicit ``total_quantity`` in the dose unit. Left
    out, they are read from the frequency and duration as said; an order whose
    length cannot be read allows the one dose it names.
    """

    medicine_atc: str
    medicine_name: str
    dose: object
    dose_unit: str
    route: str
    frequency: str
    duration: str
    indication: str
    doses_per_day: object = None
    duration_days: object = None
    total_quantity: object = None


def is_dependence_forming(atc: str) -> bool:
    """§4 medicines: listed codes or prefixes in ``CLINICAL_DEPENDENCE_FORMING_ATC``."""
    code = atc.strip().upper()
    return any(
        code.startswith(entry.strip().upper()) for entry in settings.CLINICAL_DEPENDENCE_FORMING_ATC
    )


def _order_dose(raw: object) -> Decimal:
    value = parse_value(raw, field="dose")
    if value <= 0:
        raise InvalidInput("order.dose_invalid", "The dose must be above zero.", field="dose")
    return value


def _schedule_number(raw: object, *, field: str, most: int) -> int | None:
    try:
        value = dosing.parse_positive_int(raw)
    except ValueError:
        raise InvalidInput(
            "order.schedule_invalid", _("Give a whole number above zero."), field=field
        ) from None
    if value is not None and value > most:
        raise InvalidInput(
            "order.schedule_invalid",
            _("At most %(most)s.") % {"most": most},
            field=field,
        )
    return value


def _order_schedule(details: OrderDetails) -> dosing.Schedule:
    """The schedule in numbers, agreeing with the words: numbers given that
    contradict the words (a single dose, but 3 a day) are refused, so the nurse
    never reads one order while the platform allows another."""
    said = dosing.schedule_from_text(details.frequency, details.duration)
    per_day = _schedule_number(details.doses_per_day, field="doses_per_day", most=MAX_DOSES_PER_DAY)
    days = _schedule_number(details.duration_days, field="duration_days", most=MAX_ORDER_DAYS)
    conflict = _("The numbers do not agree with the order's frequency and duration as written.")
    if said.single:
        if (per_day or 1) * (days or 1) > 1:
            raise InvalidInput(
                "order.schedule_conflict",
                conflict,
                field="doses_per_day" if (per_day or 1) > 1 else "duration_days",
                rule="R8",
            )
        return said
    if per_day is not None and said.doses_per_day not in (None, per_day):
        raise InvalidInput("order.schedule_conflict", conflict, field="doses_per_day", rule="R8")
    if days is not None and said.duration_days not in (None, days):
        raise InvalidInput("order.schedule_conflict", conflict, field="duration_days", rule="R8")
    return dosing.Schedule(
        doses_per_day=per_day if per_day is not None else said.doses_per_day,
        duration_days=days if days is not None else said.duration_days,
    )


def _order_total(raw: object, *, dose: Decimal, schedule: dosing.Schedule) -> Decimal:
    """The most the order allows in all: as the physician states it, or what
    its schedule comes to; never less than one dose nor more than the schedule."""
    most = dosing.schedule_total(
        dose=dose, doses_per_day=schedule.doses_per_day, duration_days=schedule.duration_days
    )
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return most
    total = parse_value(raw, field="total_quantity")
    if total < dose:
        raise InvalidInput(
            "order.total_below_dose",
            _("The total may not be less than one dose."),
            field="total_quantity",
            rule="R8",
        )
    if schedule.doses_per_day and schedule.duration_days and total > most:
        raise InvalidInput(
            "order.total_beyond_schedule",
            _("The total is more than the doses a day for the days ordered come to."),
            field="total_quantity",
            rule="R8",
        )
    return total


def _order_fields(details: OrderDetails) -> dict[str, object]:
    dose = _order_dose(details.dose)
    schedule = _order_schedule(details)
    return {
        "medicine_atc": details.medicine_atc.strip().upper(),
        "medicine_name": details.medicine_name.strip(),
        "dose": dose,
        "dose_unit": details.dose_unit.strip(),
        "route": details.route.strip(),
        "frequency": details.frequency.strip(),
        "duration": details.duration.strip(),
        "doses_per_day": schedule.doses_per_day,
        "duration_days": schedule.duration_days,
        "total_quantity": _order_total(details.total_quantity, dose=dose, schedule=schedule),
        "indication": details.indication.strip(),
    }


def _audit_order(
    actor: Actor, order: MedicationOrder, action: str, detail: dict[str, object]
) -> None:
    audit_record(
        actor=actor,
        action=action,
        purpose=Purpose.TREATMENT,
        citizen_id=order.citizen_id,
        resource_type="MedicationRequest",
        resource_id=str(order.pk),
        detail={"atc": order.medicine_atc, **detail},
    )


def phone_order_record(
    *,
    actor: Actor,
    visit: Visit,
    details: OrderDetails,
    ordered_at: dt.datetime,
    ordered_by_name: str,
    ordered_by_role: str,
    ordered_by_organisation_name: str,
    ordered_by_authorisation_id: str,
    read_back: bool,
    read_back_confirmed: bool,
) -> MedicationOrder:
    """A physician's order by phone (*telefonordination*, R8), received by the
    visit's nurse: read back, confirmed by the physician on the phone, never for
    a §4 medicine. The physician then confirms it electronically."""
    user = _require_user(actor)
    assert actor.organisation is not None
    _require_visit_status(visit, ORDER_STATUSES, "A phone order")
    citizen_id = visit.citizen_id
    if not (read_back is True and read_back_confirmed is True):
        raise refuse(
            PreconditionFailed(
                "order.read_back_required",
                "A phone order is recorded only after you read it back to the physician "
                "and the physician confirmed it (R8).",
                field="read_back" if read_back is not True else "read_back_confirmed",
                rule="R8",
            ),
            actor=actor,
            citizen_id=citizen_id,
            resource_type="MedicationRequest",
        )
    if is_dependence_forming(details.medicine_atc):
        raise refuse(
            Forbidden(
                "order.dependence_forming_by_phone",
                "This medicine is dependence-forming (§4): it cannot be ordered by phone. "
                "The physician must enter a written electronic order.",
                field="medicine_atc",
                rule="R8",
            ),
            actor=actor,
            citizen_id=citizen_id,
            resource_type="MedicationRequest",
        )
    _not_in_future(ordered_at, field="ordered_at")
    physician = _physician_by_authorisation(ordered_by_authorisation_id.strip())
    now = timezone.now()
    order = MedicationOrder(
        kind=MedicationOrder.Kind.PHONE,
        status=MedicationOrder.Status.AWAITING_CONFIRMATION,
        citizen_id=citizen_id,
        visit=visit,
        **_order_fields(details),
        dependence_forming=False,
        ordered_at=ordered_at,
        ordered_by_name=ordered_by_name.strip(),
        ordered_by_role=ordered_by_role.strip(),
        ordered_by_organisation_name=ordered_by_organisation_name.strip(),
        ordered_by_authorisation_id=ordered_by_authorisation_id.strip(),
        ordering_physician=physician.user if physician else None,
        ordering_organisation=physician.organisation if physician else None,
        recorded_by=user,
        recorded_by_organisation=actor.organisation,
        recorded_at=now,
        read_back=True,
        read_back_confirmed=True,
        confirm_by=now + dt.timedelta(minutes=settings.CLINICAL_PHONE_ORDER_CONFIRM_WITHIN_MINUTES),
        prescription_due_by=now
        + dt.timedelta(minutes=settings.CLINICAL_PRESCRIPTION_DUE_WITHIN_MINUTES),
    )
    full_clean_or_raise(order, code="order.invalid", exclude=["visit"])
    with transaction.atomic():
        order.save(force_insert=True)
        _audit_order(actor, order, Action.CREATE, {"kind": order.kind})
        signals.medication_order_recorded.send(sender=MedicationOrder, order=order, by=actor)
    return order


def written_order_record(*, actor: Actor, visit: Visit, details: OrderDetails) -> MedicationOrder:
    """A written electronic order entered by the physician herself — the only
    way to order a §4 medicine. It is confirmed as it is entered."""
    user = _require_user(actor)
    organisation = actor.organisation
    assert organisation is not None
    if actor.role != Role.PHYSICIAN:
        raise Forbidden("order.physician_only", "Only a physician can enter a written order.")
    if not user.authorisation_id:
        raise PreconditionFailed(
            "order.authorisation_missing",
            "Your user has no authorisation id; a written order cannot be entered.",
        )
    _require_visit_status(visit, ORDER_STATUSES, "An order")
    now = timezone.now()
    fields = _order_fields(details)
    order = MedicationOrder(
        kind=MedicationOrder.Kind.WRITTEN,
        status=MedicationOrder.Status.CONFIRMED,
        citizen_id=visit.citizen_id,
        visit=visit,
        **fields,
        dependence_forming=is_dependence_forming(str(fields["medicine_atc"])),
        ordered_at=now,
        ordered_by_name=user.display_name,
        ordered_by_role=Role(actor.role).label,
        ordered_by_organisation_name=organisation.name,
        ordered_by_authorisation_id=user.authorisation_id,
        ordering_physician=user,
        ordering_organisation=organisation,
        recorded_by=user,
        recorded_by_organisation=organisation,
        recorded_at=now,
        confirmed_at=now,
        confirmed_by=user,
        prescription_due_by=now
        + dt.timedelta(minutes=settings.CLINICAL_PRESCRIPTION_DUE_WITHIN_MINUTES),
    )
    full_clean_or_raise(order, code="order.invalid", exclude=["visit"])
    with transaction.atomic():
        order.save(force_insert=True)
        _audit_order(actor, order, Action.CREATE, {"kind": order.kind})
        signals.medication_order_recorded.send(sender=MedicationOrder, order=order, by=actor)
    return order


def _close_alerts(order: MedicationOrder, kinds: Sequence[str], user: User) -> None:
    PhysicianAlert.objects.filter(
        medication_order=order, kind__in=kinds, acknowledged_at__isnull=True
    ).update(acknowledged_at=timezone.now(), acknowledged_by=user)


def medication_order_confirm(*, actor: Actor, order: MedicationOrder) -> MedicationOrder:
    """The ordering physician confirms her phone order electronically."""
    user = _require_user(actor)
    with transaction.atomic():
        locked = MedicationOrder.objects.select_for_update().get(pk=order.pk)
        if locked.status != MedicationOrder.Status.AWAITING_CONFIRMATION:
            raise Conflict(
                "order.not_awaiting_confirmation",
                f"The order is {locked.get_status_display().lower()}, not awaiting confirmation.",
            )
        now = timezone.now()
        locked.status = MedicationOrder.Status.CONFIRMED
        locked.confirmed_at = now
        locked.confirmed_by = user
        locked.save(update_fields=["status", "confirmed_at", "confirmed_by"])
        _close_alerts(
            locked,
            [
                PhysicianAlert.Kind.CONFIRMATION_REMINDER,
                PhysicianAlert.Kind.CONFIRMATION_ESCALATION,
            ],
            user,
        )
        _audit_order(actor, locked, Action.UPDATE, {"confirmed": True})
        signals.medication_order_confirmed.send(sender=MedicationOrder, order=locked, by=actor)
    return locked


def prescription_mark_sent(*, actor: Actor, order: MedicationOrder) -> MedicationOrder:
    """The physician has sent the prescription in the citizen's CPR number to the pharmacy."""
    user = _require_user(actor)
    with transaction.atomic():
        locked = MedicationOrder.objects.select_for_update().get(pk=order.pk)
        if locked.status == MedicationOrder.Status.CANCELLED:
            raise Conflict("order.cancelled", "The order was cancelled.")
        if locked.prescription_status == MedicationOrder.PrescriptionStatus.SENT:
            raise Conflict("prescription.already_sent", "The prescription is already marked sent.")
        locked.prescription_status = MedicationOrder.PrescriptionStatus.SENT
        locked.prescription_sent_at = timezone.now()
        locked.prescription_sent_by = user
        locked.save(
            update_fields=["prescription_status", "prescription_sent_at", "prescription_sent_by"]
        )
        _close_alerts(locked, [PhysicianAlert.Kind.PRESCRIPTION_OVERDUE], user)
        _audit_order(actor, locked, Action.UPDATE, {"prescription": "sent"})
        signals.prescription_sent.send(sender=MedicationOrder, order=locked, by=actor)
    return locked


def medication_order_cancel(
    *, actor: Actor, order: MedicationOrder, reason: str
) -> MedicationOrder:
    """The ordering physician withdraws her order; no dose may be given against
    it from now on, and its confirmation and prescription are no longer chased."""
    user = _require_user(actor)
    reason = reason.strip()
    if not reason:
        raise InvalidInput(
            "order.cancel_reason_required", "Say why the order is cancelled.", field="reason"
        )
    with transaction.atomic():
        locked = MedicationOrder.objects.select_for_update().get(pk=order.pk)
        if locked.status == MedicationOrder.Status.CANCELLED:
            raise Conflict("order.cancelled", "The order is already cancelled.")
        if locked.prescription_status == MedicationOrder.PrescriptionStatus.SENT:
            raise Conflict(
                "prescription.already_sent",
                "The prescription is at the pharmacy; cancel it there, not here.",
            )
        locked.status = MedicationOrder.Status.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.cancelled_by = user
        locked.cancel_reason = reason[:300]
        locked.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason"])
        _close_alerts(locked, PhysicianAlert.Kind.values, user)
        _audit_order(actor, locked, Action.UPDATE, {"cancelled": True})
    return locked


def physician_alert_acknowledge(*, actor: Actor, alert: PhysicianAlert) -> PhysicianAlert:
    user = _require_user(actor)
    with transaction.atomic():
        locked = PhysicianAlert.objects.select_for_update().get(pk=alert.pk)
        if locked.acknowledged_at is None:
            locked.acknowledged_at = timezone.now()
            locked.acknowledged_by = user
            locked.save(update_fields=["acknowledged_at", "acknowledged_by"])
            audit_record(
                actor=actor,
                action=Action.UPDATE,
                purpose=Purpose.TREATMENT,
                citizen_id=locked.citizen_id,
                resource_type="Flag",
                resource_id=str(locked.pk),
                detail={"kind": locked.kind, "acknowledged": True},
            )
    return locked


# --- The beat job: reminders, escalations, overdue prescriptions -------------


@dataclass(frozen=True)
class WatchFigures:
    reminded: int
    escalated: int
    prescriptions_overdue: int


def _watch_alert(
    *, actor: Actor, order: MedicationOrder, kind: str, to_coordinators: bool, message: str
) -> PhysicianAlert:
    # To the physician (or her organisation); escalations, and orders from a
    # physician unknown to the platform, go to the acute function's coordinators.
    to_physician = not to_coordinators and (
        order.ordering_physician_id is not None or order.ordering_organisation_id is not None
    )
    recipient_id = order.ordering_physician_id if to_physician else None
    organisation_id = (
        order.ordering_organisation_id if to_physician else order.recorded_by_organisation_id
    )
    alert = PhysicianAlert(
        kind=kind,
        citizen_id=order.citizen_id,
        recipient_id=recipient_id,
        recipient_organisation_id=organisation_id,
        medication_order=order,
        visit_id=order.visit_id,
        message=message,
    )
    alert.save(force_insert=True)
    _audit_order(actor, order, Action.UPDATE, {"alert": kind})
    signals.physician_alert_raised.send(sender=PhysicianAlert, alert=alert)
    return alert


def medication_orders_watch(*, now: dt.datetime | None = None) -> WatchFigures:
    """Remind the physician of a phone order awaiting confirmation, escalate to
    the acute function's coordinators once it is overdue, and flag prescriptions
    not sent in time. Safe to run twice: each alert exists once per order and kind."""
    now = now or timezone.now()
    actor = Actor.system("clinical.medication_orders_watch")
    remind_before = now - dt.timedelta(minutes=settings.CLINICAL_PHONE_ORDER_REMIND_AFTER_MINUTES)
    figures = {"reminded": 0, "escalated": 0, "prescriptions_overdue": 0}
    awaiting = MedicationOrder.objects.filter(status=MedicationOrder.Status.AWAITING_CONFIRMATION)
    with transaction.atomic():
        for order in awaiting.filter(
            reminded_at__isnull=True, recorded_at__lte=remind_before
        ).select_for_update(skip_locked=True):
            _watch_alert(
                actor=actor,
                order=order,
                kind=PhysicianAlert.Kind.CONFIRMATION_REMINDER,
                to_coordinators=False,
                message=f"Please confirm your phone order of {order.medicine_name}.",
            )
            order.reminded_at = now
            order.save(update_fields=["reminded_at"])
            figures["reminded"] += 1
        for order in awaiting.filter(
            escalated_at__isnull=True, confirm_by__lte=now
        ).select_for_update(skip_locked=True):
            _watch_alert(
                actor=actor,
                order=order,
                kind=PhysicianAlert.Kind.CONFIRMATION_ESCALATION,
                to_coordinators=True,
                message=(
                    f"Phone order of {order.medicine_name} from {order.ordered_by_name} "
                    "is not confirmed in time."
                ),
            )
            order.escalated_at = now
            order.save(update_fields=["escalated_at"])
            figures["escalated"] += 1
        overdue = (
            MedicationOrder.objects.filter(
                prescription_status=MedicationOrder.PrescriptionStatus.PENDING,
                prescription_due_by__lte=now,
            )
            .exclude(status=MedicationOrder.Status.CANCELLED)
            .exclude(alerts__kind=PhysicianAlert.Kind.PRESCRIPTION_OVERDUE)
            .select_for_update(skip_locked=True)
        )
        for order in overdue:
            _watch_alert(
                actor=actor,
                order=order,
                kind=PhysicianAlert.Kind.PRESCRIPTION_OVERDUE,
                to_coordinators=False,
                message=f"The prescription for {order.medicine_name} is not marked sent.",
            )
            figures["prescriptions_overdue"] += 1
    return WatchFigures(**figures)
