"""Physician medication orders: by phone, read back (R8), or written (§4)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from django.conf import settings
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from acute.clinical import dosing, signals
from acute.clinical.audit import clinical_audit
from acute.clinical.models import (
    MedicationOrder,
    PhysicianAlert,
)
from acute.clinical.services.common import (
    refuse,
    require_user,
    require_visit_status,
    stated_physician_or_refuse,
    visit_held,
    within_visit,
)
from acute.models import Visit
from consent.audit.services import Action
from core.actors import Actor
from core.deaths import DECEASED_MESSAGE, after_death
from core.errors import (
    Forbidden,
    InvalidInput,
    PreconditionFailed,
)
from core.models import Role, User
from core.validation import DecimalBounds, decimal_parse, full_clean_or_raise, text_trimmed

ORDER_STATUSES = (Visit.Status.ACCEPTED, Visit.Status.EN_ROUTE, Visit.Status.ON_SITE)
# The physician's written correction of her own phone order is the legally
# required written follow-up of an order already given (R8): it is entered
# on the order's visit also after the visit has ended. A new order is not.
CORRECTION_STATUSES = (*ORDER_STATUSES, Visit.Status.COMPLETED, Visit.Status.CANCELLED)
# Bounds of an order's schedule: every half hour, and a year.
MAX_DOSES_PER_DAY = 48
MAX_ORDER_DAYS = 366


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


# Who else knows a medicine as §4: the cabinet's formulary marks its lines so
# (oxycodone, diazepam) also where the rules' list does not name the code.
# The app that keeps such a formulary adds its judge here as it loads; this
# app imports none of them.
DEPENDENCE_FORMING_MARKS: list[Callable[[str], bool]] = []


def order_dependence_forming(atc: str) -> bool:
    """Whether an order for this ATC code is for a §4 medicine: named so by
    the rules (:func:`is_dependence_forming`), or marked so where the medicine
    is kept. A phone order for it is refused; it is given only against a
    written order, with a witness (R8)."""
    return is_dependence_forming(atc) or any(marked(atc) for marked in DEPENDENCE_FORMING_MARKS)


# What a dose and a total hold: the column's digits and decimals, and above
# zero (a dose of none is no order; a total is at least one dose). The API's
# description states these (core.openapi), read from here.
DOSE = DecimalBounds.of(MedicationOrder, "dose", positive=True)
TOTAL_QUANTITY = DecimalBounds.of(MedicationOrder, "total_quantity", positive=True)
# A dose is written as the physician said it: "2,5" is 2.5.
ORDER_DECIMAL_COMMA = True


def _order_number(raw: object, *, field: str, bounds: DecimalBounds, code: str) -> Decimal:
    """A dose or a total as the physician said it, written out: never with an
    exponent ("1e3" is refused, not read as 1000 mg), on the API as on the
    pages, as every quantity of the cabinet that doses are counted in. Read
    against the column here; at or below zero is refused by the caller, with
    the code each has always answered with."""
    column = replace(bounds, positive=False)
    return decimal_parse(raw, column, field=field, code=code, decimal_comma=ORDER_DECIMAL_COMMA)


def _order_dose(raw: object) -> Decimal:
    value = _order_number(raw, field="dose", bounds=DOSE, code="order.dose_invalid")
    if DOSE.positive and value <= 0:
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
    # Read from the words, the schedule has the bounds it has when sent as numbers.
    for value, most, field in (
        (said.doses_per_day, MAX_DOSES_PER_DAY, "frequency"),
        (said.duration_days, MAX_ORDER_DAYS, "duration"),
    ):
        if value is not None and value > most:
            raise InvalidInput(
                "order.schedule_invalid",
                _("At most %(most)s.") % {"most": most},
                field=field,
                rule="R8",
            )
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
    total = _order_number(
        raw, field="total_quantity", bounds=TOTAL_QUANTITY, code="order.total_quantity_invalid"
    )
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


# An ATC code at its fifth level, as the table keeps it: one medicine (N02BE01).
ATC_CODE = re.compile(r"[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}")
# The ATC classification's anatomical main groups (its first letter): a code
# beginning with another letter (X99XX99) only looks like one.
ATC_MAIN_GROUPS = frozenset("ABCDGHJLMNPRSV")

# The names a formulary knows for an ATC code (its lines' names): the app
# that keeps one adds its reader here as it loads, as it does its §4 marks.
FORMULARY_NAMES: list[Callable[[str], Sequence[str]]] = []


def _order_atc(raw: str) -> str:
    """The medicine's ATC code, upper case; one of another shape, or of no
    anatomical main group, is refused on its field, before the table's
    constraint would refuse the whole order. Every order (by phone, written,
    corrected) through every door is read here."""
    code = raw.strip().upper()
    if not ATC_CODE.fullmatch(code):
        raise InvalidInput(
            "order.atc_invalid",
            "Give the medicine's ATC code: a letter, two digits, two letters and two"
            " digits (e.g. N02BE01).",
            field="medicine_atc",
            rule="R8",
        )
    if code[0] not in ATC_MAIN_GROUPS:
        raise InvalidInput(
            "order.atc_group_unknown",
            "No medicine has that ATC code: its first letter is none of the ATC"
            " classification's anatomical main groups (A, B, C, D, G, H, J, L, M, N, P,"
            " R, S, V).",
            field="medicine_atc",
            rule="R8",
        )
    return code


def _name_key(text: str) -> str:
    return " ".join(text.casefold().split())


def _order_name_matches(atc: str, name: str) -> None:
    """The medicine's name agrees with its ATC code where the formulary
    knows the code: the name said contains the name of one of the code's
    lines ("Pivmecillinam 400 mg tablet" for J01CA08's "Pivmecillinam"), or
    is its first words ("Paracetamol" for "Paracetamol 500 mg"). A dose is
    taken from stock by the code while the nurse and the physician read the
    name back to each other (R8): "Pivmecillinam"
    with N02BE01 would give paracetamol for the antibiotic both agreed on,
    so it is refused while she is still on the phone to ask again. A code
    the formulary does not know is taken as said."""
    names = sorted({n.strip() for judge in FORMULARY_NAMES for n in judge(atc) if n.strip()})
    said = _name_key(name)
    if not names or not said:
        return
    if any(
        _name_key(line) in said or f"{_name_key(line)} ".startswith(f"{said} ") for line in names
    ):
        return
    known = ", ".join(names)
    raise InvalidInput(
        "order.medicine_name_mismatch",
        f"The medicine's name does not match ATC code {atc}, which the formulary knows"
        f" as {known}: ask the physician again.",
        field="medicine_name",
        rule="R8",
        params={"atc": atc, "known": known},
    )


def _order_fields(details: OrderDetails) -> dict[str, object]:
    atc = _order_atc(details.medicine_atc)
    _order_name_matches(atc, details.medicine_name)
    dose = _order_dose(details.dose)
    schedule = _order_schedule(details)
    return {
        "medicine_atc": atc,
        "medicine_name": text_trimmed(details.medicine_name),
        "dose": dose,
        "dose_unit": details.dose_unit.strip(),
        "route": text_trimmed(details.route),
        "frequency": text_trimmed(details.frequency),
        "duration": text_trimmed(details.duration),
        "doses_per_day": schedule.doses_per_day,
        "duration_days": schedule.duration_days,
        "total_quantity": _order_total(details.total_quantity, dose=dose, schedule=schedule),
        "indication": text_trimmed(details.indication),
    }


def order_audit(
    actor: Actor, order: MedicationOrder, action: str, detail: dict[str, object]
) -> None:
    clinical_audit(actor, action, order, {"atc": order.medicine_atc, **detail})


def phone_order_record(
    *,
    actor: Actor,
    visit: Visit,
    details: OrderDetails,
    ordered_at: dt.datetime | None = None,
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
    user = require_user(actor)
    assert actor.organisation is not None
    require_visit_status(visit, ORDER_STATUSES, gettext_lazy("A phone order"))
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
    if order_dependence_forming(details.medicine_atc):
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
    # The order's days and its 24-hour limit run from when it was given (R8):
    # the nurse received it on this visit, so not before she was sent, and
    # not after the citizen's death. Not stated: when she records it.
    ordered_at = ordered_at or timezone.now()
    within_visit(
        ordered_at, visit, actor=actor, field="ordered_at", resource_type="MedicationRequest"
    )
    physician = stated_physician_or_refuse(
        actor=actor,
        visit=visit,
        authorisation_id=ordered_by_authorisation_id.strip(),
        refusal=Forbidden(
            "order.not_physician",
            "A phone order is given by a physician (R8): the authorisation ID given is "
            "your own or that of a member of staff who is not a physician.",
            field="ordered_by_authorisation_id",
            rule="R8",
        ),
        resource_type="MedicationRequest",
    )
    now = timezone.now()
    order = MedicationOrder(
        kind=MedicationOrder.Kind.PHONE,
        status=MedicationOrder.Status.AWAITING_CONFIRMATION,
        citizen_id=citizen_id,
        visit=visit,
        **_order_fields(details),
        dependence_forming=False,
        ordered_at=ordered_at,
        # A physician the platform holds by the authorisation id is named as
        # registered, whatever was typed: the nurse reads back, and the
        # physician confirms, the order of the one the id names.
        ordered_by_name=(
            physician.user.display_name if physician else text_trimmed(ordered_by_name)
        ),
        ordered_by_role=ordered_by_role.strip(),
        ordered_by_organisation_name=(
            physician.organisation.name if physician else text_trimmed(ordered_by_organisation_name)
        ),
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
    return _order_insert(
        actor=actor,
        order=order,
        visit=visit,
        what=gettext_lazy("A phone order"),
        allowed=ORDER_STATUSES,
    )


def written_order_record(*, actor: Actor, visit: Visit, details: OrderDetails) -> MedicationOrder:
    """A written electronic order entered by the physician herself — the only
    way to order a §4 medicine. It is confirmed as it is entered. Only on a
    visit still under way (:data:`ORDER_STATUSES`)."""
    return _written_order_record(actor=actor, visit=visit, details=details, allowed=ORDER_STATUSES)


def written_correction_record(
    *, actor: Actor, visit: Visit, details: OrderDetails, corrects: MedicationOrder
) -> MedicationOrder:
    """The written order that corrects the physician's phone order on its
    own visit (``medication_order_correct``, which cancels the phone order in
    the same transaction): as :func:`written_order_record`, and also once
    the visit has ended (:data:`CORRECTION_STATUSES`)."""
    return _written_order_record(
        actor=actor, visit=visit, details=details, allowed=CORRECTION_STATUSES, corrects=corrects
    )


def _written_order_record(
    *,
    actor: Actor,
    visit: Visit,
    details: OrderDetails,
    allowed: Sequence[str],
    corrects: MedicationOrder | None = None,
) -> MedicationOrder:
    user = require_user(actor)
    organisation = actor.organisation
    assert organisation is not None
    if actor.role != Role.PHYSICIAN:
        raise Forbidden("order.physician_only", "Only a physician can enter a written order.")
    if not user.authorisation_id:
        raise PreconditionFailed(
            "order.authorisation_missing",
            "Your user has no authorisation id; a written order cannot be entered.",
        )
    require_visit_status(visit, allowed, gettext_lazy("An order"))
    now = timezone.now()
    written_order_for_the_living(actor=actor, visit=visit, now=now)
    fields = _order_fields(details)
    with translation.override(None):  # stored in one language, whoever wrote it
        role_name = str(Role(actor.role).label)
    order = MedicationOrder(
        kind=MedicationOrder.Kind.WRITTEN,
        status=MedicationOrder.Status.CONFIRMED,
        citizen_id=visit.citizen_id,
        visit=visit,
        **fields,
        dependence_forming=order_dependence_forming(str(fields["medicine_atc"])),
        ordered_at=now,
        ordered_by_name=user.display_name,
        ordered_by_role=role_name,
        ordered_by_organisation_name=organisation.name,
        ordered_by_authorisation_id=user.authorisation_id,
        ordering_physician=user,
        ordering_organisation=organisation,
        recorded_by=user,
        recorded_by_organisation=organisation,
        recorded_at=now,
        confirmed_at=now,
        confirmed_by=user,
        corrects=corrects,
        prescription_due_by=now
        + dt.timedelta(minutes=settings.CLINICAL_PRESCRIPTION_DUE_WITHIN_MINUTES),
    )
    return _order_insert(
        actor=actor, order=order, visit=visit, what=gettext_lazy("An order"), allowed=allowed
    )


def written_order_for_the_living(*, actor: Actor, visit: Visit, now: dt.datetime) -> None:
    """No order is written for a citizen registered dead (it is given now);
    the refusal is a denied attempt on her record (R9). Asked before any
    transaction of the caller's, so that the audit entry stays."""
    if after_death(visit.citizen, now):
        raise refuse(
            PreconditionFailed("order.citizen_deceased", DECEASED_MESSAGE),
            actor=actor,
            citizen_id=visit.citizen_id,
            resource_type="MedicationRequest",
        )


def _order_insert(
    *,
    actor: Actor,
    order: MedicationOrder,
    visit: Visit,
    what: str | Promise,
    allowed: Sequence[str],
) -> MedicationOrder:
    """Save a new order with its audit entry; others hear of it from the signal.
    The visit's status is asked again under its row lock, so no order lands on
    a visit completed at the same moment."""
    full_clean_or_raise(order, code="order.invalid", exclude=["visit"])
    with visit_held(
        visit=visit,
        allowed=allowed,
        what=what,
        actor=actor,
        resource_type="MedicationRequest",
    ):
        order.save(force_insert=True)
        order_audit(actor, order, Action.CREATE, {"kind": order.kind})
        signals.medication_order_recorded.send(sender=MedicationOrder, order=order, by=actor)
    return order


def alerts_close(order: MedicationOrder, kinds: Sequence[str], user: User) -> None:
    PhysicianAlert.objects.filter(
        medication_order=order, kind__in=kinds, acknowledged_at__isnull=True
    ).update(acknowledged_at=timezone.now(), acknowledged_by=user)
