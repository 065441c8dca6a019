"""Every write to the medicine stock (R8).

Each movement is a ledger entry written in the same transaction as the change
to the location's :class:`Balance` row, which is locked first
(``select_for_update``), so two nurses drawing the last dose cannot both get
it and no balance ever goes below zero (the database refuses that too).
Every movement is recorded in the audit log in the same transaction.

§4 medicines (dependence-forming, *afhængighedsskabende*) move only with a
witness: another member of the acute function's staff whose own credentials
were checked by the caller (see :func:`witness_verify`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext, gettext_noop

from consent.audit.services import Action, Outcome, Purpose, audit_record
from core.actors import Actor
from core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFoundOrNotAllowed,
    PlatformError,
    PreconditionFailed,
    Unauthenticated,
)
from core.models import Citizen, Membership, Organisation, Role, User
from core.services import login_verify
from core.validation import full_clean_or_raise, insert_or_conflict
from medicine_cabinet.models import (
    Administration,
    Balance,
    CountLine,
    CountReason,
    DoseMismatch,
    Location,
    Lot,
    Medicine,
    Movement,
    Notification,
    StockCount,
    WasteReason,
)

if TYPE_CHECKING:
    from acute.clinical.dosing import Allowance
    from acute.clinical.models import MedicationOrder
    from acute.models import Visit

# What the gate is asked about: the citizen the dose is given to (identity, as
# the visit's record holds it). The cabinet stores nothing of the shared record.
GATE_CATEGORY = "patient"
WITNESS_ROLES = (Role.ACUTE_NURSE, Role.MEDICINE_OFFICER)
STOCK_RESOURCE = "StockMovement"
# The formulary's stock units, kept in English as data; shown translated.
STOCK_UNIT_LABELS = (
    gettext_noop("tablet"),
    gettext_noop("ampoule"),
    gettext_noop("capsule"),
    gettext_noop("vial"),
    gettext_noop("suppository"),
    gettext_noop("sachet"),
)
EXPIRY_WINDOWS = (
    (30, Notification.Kind.EXPIRES_30),
    (60, Notification.Kind.EXPIRES_60),
    (90, Notification.Kind.EXPIRES_90),
)


def _fmt(value: Decimal) -> str:
    """A quantity for people: ``30``, ``2.5`` (never ``3E+1``)."""
    return format(value.normalize(), "f")


# --- checks shared by every movement ---------------------------------------


def quantity_parse(value: object, *, field: str = "quantity") -> Decimal:
    """An exact, positive quantity. Floats are refused: they are not exact."""
    if isinstance(value, bool | float):
        raise InvalidInput(
            "quantity.invalid", "Give the quantity as an exact decimal string.", field=field
        )
    try:
        quantity = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput(
            "quantity.invalid", "The quantity is not a number.", field=field
        ) from None
    if not quantity.is_finite():
        raise InvalidInput("quantity.invalid", "The quantity is not a number.", field=field)
    if quantity <= 0:
        raise InvalidInput(
            "quantity.not_positive", "The quantity must be greater than zero.", field=field
        )
    if quantity != quantity.quantize(Decimal("0.001")) or quantity >= Decimal("1e9"):
        raise InvalidInput(
            "quantity.invalid", "At most three decimals and below one billion.", field=field
        )
    return quantity


def _check_unit(medicine: Medicine, unit: str) -> None:
    if unit != medicine.unit:
        raise InvalidInput(
            "unit.mismatch",
            f"{medicine.name} is counted in '{medicine.unit}', not in the unit given.",
            field="unit",
        )


def _acute_organisation(actor: Actor) -> Organisation:
    organisation = actor.organisation
    if actor.user is None or organisation is None:
        raise Forbidden("cabinet.no_actor", "Stock moves only for a named member of staff.")
    if organisation.kind != Organisation.Kind.ACUTE_FUNCTION:
        raise Forbidden("cabinet.not_acute_function", "Only the acute function keeps this stock.")
    return organisation


def _check_location(actor: Actor, location: Location) -> None:
    organisation = _acute_organisation(actor)
    if location.organisation_id != organisation.pk or not location.is_active:
        raise NotFoundOrNotAllowed("location.not_found", "No such stock location.")


def _check_own_bag(actor: Actor, location: Location) -> None:
    """A bag is handled only by its nurse; a cabinet (outside transfers) only by
    the medicine officer."""
    if location.kind == Location.Kind.BAG:
        if location.nurse_id != actor.user.pk:  # type: ignore[union-attr]
            raise Forbidden("bag.not_yours", "You may move stock only in your own bag.")
    elif actor.role != Role.MEDICINE_OFFICER:
        raise Forbidden("cabinet.officer_only", "Only the medicine officer handles the cabinet.")


def _check_witness(*, actor: Actor, medicine: Medicine, witness: User | None) -> User | None:
    """§4: a second person, not the actor, on the acute function's staff."""
    if witness is None:
        if medicine.dependence_forming:
            raise InvalidInput(
                "witness.required",
                f"{medicine.name} is dependence-forming (§4): every movement needs a witness.",
                field="witness",
            )
        return None
    if actor.user is not None and witness.pk == actor.user.pk:
        raise InvalidInput(
            "witness.same_person", "The witness must be someone else.", field="witness"
        )
    eligible = Membership.objects.filter(
        user=witness,
        organisation=actor.organisation,
        role__in=WITNESS_ROLES,
        is_active=True,
        user__is_active=True,
    ).exists()
    if not eligible:
        raise InvalidInput(
            "witness.not_eligible",
            "The witness must be an acute nurse or the medicine officer of the acute function.",
            field="witness",
        )
    return witness


def witness_verify(*, username: str, password: str, client_address: str | None) -> User:
    """The witness's own credentials, checked and throttled like a login."""
    try:
        return login_verify(username=username, password=password, client_address=client_address)
    except Unauthenticated:
        raise InvalidInput(
            "witness.invalid_credentials",
            "The witness's username or password is wrong.",
            field="witness",
        ) from None


def _lock_balances(pairs: Iterable[tuple[Location, Lot]]) -> dict[tuple[int, int], Balance]:
    """Make sure the balance rows exist, then lock them in one order (by id),
    so two transfers in opposite directions cannot deadlock."""
    wanted = list(dict.fromkeys((loc.pk, lot.pk) for loc, lot in pairs))
    if not wanted:
        return {}
    Balance.objects.bulk_create(
        [Balance(location_id=loc, lot_id=lot) for loc, lot in wanted], ignore_conflicts=True
    )
    match = Q()
    for loc, lot in wanted:
        match |= Q(location_id=loc, lot_id=lot)
    # One statement; PostgreSQL locks the rows in the ORDER BY's order.
    locked = Balance.objects.select_for_update().filter(match).order_by("pk")
    return {(b.location_id, b.lot_id): b for b in locked}


def _book(
    *,
    balance: Balance,
    kind: str,
    direction: str,
    quantity: Decimal,
    by: User,
    witness: User | None,
    at: dt.datetime,
    **fields: Any,
) -> Movement:
    """Append one ledger entry and change the locked balance with it."""
    before = balance.quantity
    after = before + quantity if direction == Movement.Direction.IN else before - quantity
    if after < 0:
        raise Conflict(
            "stock.insufficient",
            f"Only {_fmt(before)} left of this lot here; {_fmt(quantity)} asked for.",
            field="quantity",
        )
    movement = Movement(
        at=at,
        kind=kind,
        direction=direction,
        location_id=balance.location_id,
        lot_id=balance.lot_id,
        quantity=quantity,
        balance_before=before,
        balance_after=after,
        by=by,
        witness=witness,
        **fields,
    )
    # Field checks only: the table's CHECK constraints hold the rest, and asking
    # the database to pre-check them would cost queries while the row is locked.
    try:
        movement.clean_fields(exclude=["location", "lot", "by", "witness", "stock_count"])
    except ValidationError as exc:
        field = next(iter(exc.message_dict), None)
        raise InvalidInput("movement.invalid", "; ".join(exc.messages), field=field) from None
    movement.save(force_insert=True)
    balance.quantity = after
    balance.updated_at = at
    balance.save(update_fields=["quantity", "updated_at"])
    return movement


def _audit(actor: Actor, movements: list[Movement], *, citizen_id: int | None = None) -> None:
    first = movements[0]
    audit_record(
        actor=actor,
        action=Action.CREATE,
        purpose=Purpose.TREATMENT if citizen_id else Purpose.OPERATIONS,
        citizen_id=citizen_id,
        resource_type=STOCK_RESOURCE,
        resource_id=str(first.pk),
        detail={
            "kind": first.kind,
            "lot": first.lot_id,
            "movements": [
                {
                    "id": m.pk,
                    "location": m.location_id,
                    "direction": m.direction,
                    "quantity": str(m.quantity),
                    "balance_after": str(m.balance_after),
                }
                for m in movements
            ],
            "witness": first.witness_id,
        },
    )


def _check_usable(lot: Lot, *, today: dt.date | None = None) -> None:
    if lot.is_recalled:
        raise PreconditionFailed("lot.recalled", "This lot is recalled and may not be used.")
    if lot.is_expired(today or timezone.localdate()):
        raise PreconditionFailed("lot.expired", "This lot has expired and may not be used.")


def _recheck_usable_locked(lot: Lot) -> None:
    """Inside the movement's transaction: take the lot's row lock, which a
    recall holds until it commits, so no dose leaves after a recall that
    committed first."""
    current = Lot.objects.select_for_update().only("recalled_at", "expires_on").get(pk=lot.pk)
    lot.recalled_at, lot.expires_on = current.recalled_at, current.expires_on
    _check_usable(lot)


# --- formulary and locations -----------------------------------------------


@transaction.atomic
def medicine_upsert(
    *,
    atc_code: str,
    name: str,
    strength: str,
    form: str,
    unit: str,
    package_size: Decimal,
    dispensing: str,
    dependence_forming: bool,
    minimum_stock: Decimal,
    amount_per_unit: Decimal | None = None,
    amount_unit: str = "",
) -> Medicine:
    """Add a formulary line or update the one with the same ATC code, strength and form.

    What one stock unit holds (``amount_per_unit`` of ``amount_unit``: 500 mg a
    tablet) lets a dose be compared with an order in mg (R8). Left out, it is
    read from the strength where that says it plainly (``500 mg``,
    ``10 mg/mL, 4 mL`` for an ampoule).
    """
    from acute.clinical import dosing

    amount_unit = amount_unit.strip()
    if (amount_per_unit is None) != (not amount_unit):
        raise InvalidInput(
            "medicine.amount_incomplete",
            gettext("Give both the amount in one unit and its unit, or neither."),
            field="amount_unit" if amount_per_unit is not None else "amount_per_unit",
        )
    if amount_per_unit is not None and not dosing.is_measure(amount_unit):
        raise InvalidInput(
            "medicine.amount_unit_unknown",
            gettext("Give the amount in a unit such as mg, µg, g, mL, IE or mmol."),
            field="amount_unit",
        )
    medicine = (
        Medicine.objects.select_for_update()
        .filter(atc_code=atc_code, strength=strength, form=form)
        .first()
    ) or Medicine(atc_code=atc_code, strength=strength, form=form)
    if amount_per_unit is None:
        # Left out: what the officer stated before stands, else the strength tells.
        content = dosing.strength_content(strength, unit)
        if medicine.amount_per_unit is not None and medicine.unit == unit:
            amount_per_unit, amount_unit = medicine.amount_per_unit, medicine.amount_unit
        elif content is not None:
            amount_per_unit, amount_unit = content
    medicine.name = name
    medicine.unit = unit
    medicine.amount_per_unit = amount_per_unit
    medicine.amount_unit = amount_unit
    medicine.package_size = package_size
    medicine.dispensing = dispensing
    medicine.dependence_forming = dependence_forming
    medicine.minimum_stock = minimum_stock
    full_clean_or_raise(
        medicine,
        code="medicine.invalid",
        exclude=["atc_code", "strength", "form"] if medicine.pk else None,
    )
    medicine.save()
    return medicine


@transaction.atomic
def cabinet_create(
    *, organisation: Organisation, name: str, count_interval_days: int = 7
) -> Location:
    if organisation.kind != Organisation.Kind.ACUTE_FUNCTION:
        raise InvalidInput("location.not_acute_function", "Cabinets belong to the acute function.")
    cabinet = Location(
        organisation=organisation,
        kind=Location.Kind.CABINET,
        name=name,
        count_interval_days=count_interval_days,
    )
    full_clean_or_raise(cabinet, code="location.invalid")
    cabinet.save(force_insert=True)
    return cabinet


@transaction.atomic
def bag_for_nurse(*, organisation: Organisation, nurse: User) -> Location:
    """The nurse's bag, made on first use. Only acute nurses of the function carry one."""
    is_nurse = Membership.objects.filter(
        user=nurse, organisation=organisation, role=Role.ACUTE_NURSE, is_active=True
    ).exists()
    if not is_nurse:
        raise InvalidInput("bag.not_a_nurse", "Only an acute nurse of the function carries a bag.")
    bag, _created = Location.objects.get_or_create(
        organisation=organisation,
        kind=Location.Kind.BAG,
        nurse=nurse,
        defaults={
            "name": f"Bag of {nurse.display_name} ({nurse.username})",
            "count_interval_days": 1,
        },
    )
    return bag


# --- movements ---------------------------------------------------------------


def stock_receive(
    *,
    actor: Actor,
    cabinet: Location,
    medicine: Medicine,
    batch_number: str,
    expires_on: dt.date,
    quantity: Decimal,
    unit: str,
    supplier: str,
    delivery_reference: str,
    witness: User | None = None,
) -> Movement:
    """A delivery from the pharmacy into a cabinet (*modtagelse*)."""
    _check_location(actor, cabinet)
    if actor.role != Role.MEDICINE_OFFICER:
        raise Forbidden("receive.role", "Only the medicine officer receives deliveries.")
    if cabinet.kind != Location.Kind.CABINET:
        raise InvalidInput("receive.not_cabinet", "Deliveries are received into a cabinet.")
    _check_unit(medicine, unit)
    if not medicine.is_active:
        raise InvalidInput("medicine.inactive", "This medicine is no longer in the formulary.")
    if not supplier.strip() or not delivery_reference.strip():
        raise InvalidInput(
            "receive.source_missing", "Name the supplier and the delivery reference."
        )
    batch_number = batch_number.strip()
    if not batch_number:
        raise InvalidInput("lot.batch_missing", "Give the batch number.", field="batch_number")
    if expires_on < timezone.localdate():
        raise PreconditionFailed("lot.expired", "This lot has already expired.")
    witness = _check_witness(actor=actor, medicine=medicine, witness=witness)
    now = timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                lot, _created = Lot.objects.get_or_create(
                    medicine=medicine,
                    batch_number=batch_number,
                    defaults={"expires_on": expires_on},
                )
        except IntegrityError:
            lot = Lot.objects.get(medicine=medicine, batch_number=batch_number)
        if lot.expires_on != expires_on:
            raise InvalidInput(
                "lot.expiry_mismatch",
                "This batch is already known with another expiry date.",
                field="expires_on",
            )
        if lot.is_recalled:
            raise PreconditionFailed(
                "lot.recalled", "This lot is recalled and may not be received."
            )
        balance = _lock_balances([(cabinet, lot)])[(cabinet.pk, lot.pk)]
        movement = _book(
            balance=balance,
            kind=Movement.Kind.RECEIVED,
            direction=Movement.Direction.IN,
            quantity=quantity,
            by=actor.user,  # type: ignore[arg-type]
            witness=witness,
            at=now,
            supplier=supplier.strip(),
            delivery_reference=delivery_reference.strip(),
        )
        _audit(actor, [movement])
    return movement


def stock_transfer(
    *,
    actor: Actor,
    lot: Lot,
    source: Location,
    destination: Location,
    quantity: Decimal,
    unit: str,
    witness: User | None = None,
) -> tuple[Movement, Movement]:
    """Cabinet to the nurse's own bag (*udtag*), or her bag back to a cabinet."""
    _check_location(actor, source)
    _check_location(actor, destination)
    kinds = (source.kind, destination.kind)
    if kinds == (Location.Kind.CABINET, Location.Kind.BAG):
        kind = Movement.Kind.TO_BAG
        bag = destination
    elif kinds == (Location.Kind.BAG, Location.Kind.CABINET):
        kind = Movement.Kind.TO_CABINET
        bag = source
    else:
        raise InvalidInput(
            "transfer.route_invalid", "Stock moves between a cabinet and a bag, either way."
        )
    if bag.nurse_id != actor.user.pk:  # type: ignore[union-attr]
        raise Forbidden("bag.not_yours", "You may move stock only in your own bag.")
    _check_unit(lot.medicine, unit)
    if kind == Movement.Kind.TO_BAG:
        _check_usable(lot)  # expired or recalled stock may come back, never go out
    witness = _check_witness(actor=actor, medicine=lot.medicine, witness=witness)
    now = timezone.now()
    transfer_id = uuid.uuid4()
    with transaction.atomic():
        rows = _lock_balances([(source, lot), (destination, lot)])
        if kind == Movement.Kind.TO_BAG:
            _recheck_usable_locked(lot)
        out = _book(
            balance=rows[(source.pk, lot.pk)],
            kind=kind,
            direction=Movement.Direction.OUT,
            quantity=quantity,
            by=actor.user,  # type: ignore[arg-type]
            witness=witness,
            at=now,
            transfer_id=transfer_id,
        )
        into = _book(
            balance=rows[(destination.pk, lot.pk)],
            kind=kind,
            direction=Movement.Direction.IN,
            quantity=quantity,
            by=actor.user,  # type: ignore[arg-type]
            witness=witness,
            at=now,
            transfer_id=transfer_id,
        )
        _audit(actor, [out, into])
    return out, into


def stock_waste(
    *,
    actor: Actor,
    location: Location,
    lot: Lot,
    quantity: Decimal,
    unit: str,
    reason_code: str,
    note: str = "",
    witness: User | None = None,
) -> Movement:
    """Wasted or discarded (*kasseret*), with a reason."""
    _check_location(actor, location)
    _check_own_bag(actor, location)
    _check_unit(lot.medicine, unit)
    if reason_code not in WasteReason.values:
        raise InvalidInput(
            "waste.reason_invalid", "Give one of the waste reasons.", field="reason_code"
        )
    if reason_code == WasteReason.OTHER and not note.strip():
        raise InvalidInput("waste.note_required", "Say what happened.", field="note")
    witness = _check_witness(actor=actor, medicine=lot.medicine, witness=witness)
    return _remove(
        actor=actor,
        location=location,
        lot=lot,
        quantity=quantity,
        kind=Movement.Kind.WASTED,
        witness=witness,
        reason_code=reason_code,
        note=note.strip(),
    )


def stock_remove_expired(
    *, actor: Actor, location: Location, lot: Lot, witness: User | None = None
) -> Movement:
    """Take an expired lot's whole balance out of a location."""
    _check_location(actor, location)
    _check_own_bag(actor, location)
    if not lot.is_expired(timezone.localdate()):
        raise PreconditionFailed("lot.not_expired", "This lot has not expired.")
    witness = _check_witness(actor=actor, medicine=lot.medicine, witness=witness)
    return _remove(
        actor=actor,
        location=location,
        lot=lot,
        quantity=None,
        kind=Movement.Kind.EXPIRED,
        witness=witness,
    )


def stock_remove_recalled(
    *, actor: Actor, location: Location, lot: Lot, witness: User | None = None
) -> Movement:
    """Take a recalled lot's whole balance out of a location, to go back to the pharmacy."""
    _check_location(actor, location)
    _check_own_bag(actor, location)
    if not lot.is_recalled:
        raise PreconditionFailed("lot.not_recalled", "This lot is not recalled.")
    witness = _check_witness(actor=actor, medicine=lot.medicine, witness=witness)
    return _remove(
        actor=actor,
        location=location,
        lot=lot,
        quantity=None,
        kind=Movement.Kind.RECALLED,
        witness=witness,
        reason_code="recall",
    )


def _remove(
    *,
    actor: Actor,
    location: Location,
    lot: Lot,
    quantity: Decimal | None,
    kind: str,
    witness: User | None,
    **fields: Any,
) -> Movement:
    now = timezone.now()
    with transaction.atomic():
        balance = _lock_balances([(location, lot)])[(location.pk, lot.pk)]
        amount = balance.quantity if quantity is None else quantity
        if amount <= 0:
            raise Conflict("stock.none", "There is none of this lot here.")
        movement = _book(
            balance=balance,
            kind=kind,
            direction=Movement.Direction.OUT,
            quantity=amount,
            by=actor.user,  # type: ignore[arg-type]
            witness=witness,
            at=now,
            **fields,
        )
        _audit(actor, [movement])
    return movement


# --- recall -------------------------------------------------------------------


def lot_recall(*, actor: Actor, lot: Lot, reason: str) -> list[Balance]:
    """Block a lot everywhere (*tilbagekaldelse*) and say where it is now."""
    organisation = _acute_organisation(actor)
    if actor.role != Role.MEDICINE_OFFICER:
        raise Forbidden("recall.role", "Only the medicine officer recalls a lot.")
    reason = reason.strip()
    if not reason:
        raise InvalidInput(
            "recall.reason_missing", "Give the reason for the recall.", field="reason"
        )
    with transaction.atomic():
        locked = Lot.objects.select_for_update().get(pk=lot.pk)
        if locked.is_recalled:
            raise Conflict("lot.already_recalled", "This lot is already recalled.")
        locked.recalled_at = timezone.now()
        locked.recall_reason = reason[:300]
        locked.recalled_by = actor.user
        locked.save(update_fields=["recalled_at", "recall_reason", "recalled_by"])
        lot.recalled_at, lot.recall_reason = locked.recalled_at, locked.recall_reason
        holding = list(
            Balance.objects.filter(lot=locked, quantity__gt=0, location__organisation=organisation)
            .select_related("location", "location__nurse")
            .order_by("location__kind", "location__name")
        )
        where = ", ".join(f"{b.location.name}: {_fmt(b.quantity)}" for b in holding)
        _notify(
            organisation=organisation,
            kind=Notification.Kind.RECALL,
            key=f"recall:{locked.pk}",
            message=(
                f"Lot {locked.batch_number} of {locked.medicine} is recalled."
                f" Held in: {where or 'nowhere'}."
            ),
            medicine=locked.medicine,
            lot=locked,
        )
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            purpose=Purpose.OPERATIONS,
            citizen_id=None,
            resource_type="Lot",
            resource_id=str(locked.pk),
            reason_code="recall",
            detail={
                "held_in": [
                    {"location": b.location_id, "quantity": str(b.quantity)} for b in holding
                ]
            },
        )
    return holding


# --- counts --------------------------------------------------------------------


def _check_may_count(actor: Actor, location: Location) -> None:
    _check_location(actor, location)
    if actor.role == Role.MEDICINE_OFFICER:
        return
    if actor.role == Role.ACUTE_NURSE and location.kind == Location.Kind.BAG:
        _check_own_bag(actor, location)
        return
    if actor.role == Role.ACUTE_NURSE:
        return  # nurses may count a cabinet with the officer; approval stays with the officer
    raise Forbidden("count.role", "Your role may not count stock.")


@transaction.atomic
def count_start(*, actor: Actor, location: Location) -> StockCount:
    _check_may_count(actor, location)
    count = StockCount(location=location, started_by=actor.user)
    insert_or_conflict(
        count,
        code="count.already_open",
        message="A count of this location is already under way.",
    )
    audit_record(
        actor=actor,
        action=Action.CREATE,
        purpose=Purpose.OPERATIONS,
        citizen_id=None,
        resource_type="StockCount",
        resource_id=str(count.pk),
    )
    return count


def _open_count(count: StockCount) -> StockCount:
    locked = StockCount.objects.select_for_update().select_related("location").get(pk=count.pk)
    if locked.status != StockCount.Status.OPEN:
        raise Conflict("count.not_open", "This count is no longer open.")
    return locked


def _live_balance(location_id: int, lot_id: int) -> Decimal:
    row = (
        Balance.objects.filter(location_id=location_id, lot_id=lot_id)
        .values_list("quantity", flat=True)
        .first()
    )
    return row if row is not None else Decimal("0")


@transaction.atomic
def count_record(*, actor: Actor, count: StockCount, lot: Lot, quantity: Decimal) -> CountLine:
    """The first count of a lot, against the live balance at this moment."""
    locked = _open_count(count)
    _check_may_count(actor, locked.location)
    if quantity < 0:
        raise InvalidInput(
            "quantity.negative", "A counted quantity cannot be negative.", field="quantity"
        )
    line = CountLine(
        count=locked,
        lot=lot,
        counted_quantity=quantity,
        balance_at_count=_live_balance(locked.location_id, lot.pk),
        counted_by=actor.user,
    )
    insert_or_conflict(
        line,
        code="count.line_exists",
        message="This lot is already counted; recount it instead.",
    )
    audit_record(
        actor=actor,
        action=Action.UPDATE,
        purpose=Purpose.OPERATIONS,
        citizen_id=None,
        resource_type="StockCount",
        resource_id=str(locked.pk),
        detail={"lot": lot.pk, "counted": str(quantity), "balance": str(line.balance_at_count)},
    )
    return line


@transaction.atomic
def count_recount(
    *, actor: Actor, line: CountLine, quantity: Decimal, reason_code: str = "", note: str = ""
) -> CountLine:
    """A second count where the first differed. If it still differs, a reason code is needed."""
    locked_count = _open_count(line.count)
    _check_may_count(actor, locked_count.location)
    line = CountLine.objects.select_for_update().get(pk=line.pk)
    if line.first_variance == 0:
        raise Conflict("count.recount_not_needed", "The first count matched; no recount needed.")
    if line.recounted_quantity is not None:
        raise Conflict("count.already_recounted", "This lot has been recounted.")
    if quantity < 0:
        raise InvalidInput(
            "quantity.negative", "A counted quantity cannot be negative.", field="quantity"
        )
    balance = _live_balance(locked_count.location_id, line.lot_id)
    if quantity != balance and reason_code not in CountReason.values:
        raise InvalidInput(
            "count.reason_required",
            "The recount still differs: give a reason code.",
            field="reason_code",
        )
    line.recounted_quantity = quantity
    line.balance_at_recount = balance
    line.recounted_by = actor.user
    line.recounted_at = timezone.now()
    line.reason_code = reason_code if quantity != balance else ""
    line.note = note.strip()[:300]
    line.save(
        update_fields=[
            "recounted_quantity",
            "balance_at_recount",
            "recounted_by",
            "recounted_at",
            "reason_code",
            "note",
        ]
    )
    audit_record(
        actor=actor,
        action=Action.UPDATE,
        purpose=Purpose.OPERATIONS,
        citizen_id=None,
        resource_type="StockCount",
        resource_id=str(locked_count.pk),
        detail={"lot": line.lot_id, "recounted": str(quantity), "balance": str(balance)},
    )
    return line


@transaction.atomic
def count_submit(*, actor: Actor, count: StockCount) -> StockCount:
    """Close counting: every held lot counted, every differing line recounted.
    A standing variance flags a discrepancy for the officer."""
    locked = _open_count(count)
    _check_may_count(actor, locked.location)
    lines = list(locked.lines.all())
    counted = {line.lot_id for line in lines}
    held = set(
        Balance.objects.filter(location_id=locked.location_id, quantity__gt=0).values_list(
            "lot_id", flat=True
        )
    )
    if held - counted:
        raise PreconditionFailed(
            "count.incomplete", f"{len(held - counted)} lot(s) held here are not counted yet."
        )
    if any(line.needs_recount for line in lines):
        raise PreconditionFailed("count.recount_needed", "Recount the lines that differed first.")
    locked.status = StockCount.Status.SUBMITTED
    locked.submitted_at = timezone.now()
    locked.has_discrepancy = any(line.variance != 0 for line in lines)
    locked.save(update_fields=["status", "submitted_at", "has_discrepancy"])
    if locked.has_discrepancy:
        _notify(
            organisation=locked.location.organisation,
            kind=Notification.Kind.DISCREPANCY,
            key=f"discrepancy:{locked.pk}",
            message=(
                f"The count of {locked.location.name} differs from the ledger;"
                " approve or investigate."
            ),
            location=locked.location,
            stock_count=locked,
        )
    audit_record(
        actor=actor,
        action=Action.UPDATE,
        purpose=Purpose.OPERATIONS,
        citizen_id=None,
        resource_type="StockCount",
        resource_id=str(locked.pk),
        detail={"status": locked.status, "discrepancy": locked.has_discrepancy},
    )
    return locked


@transaction.atomic
def count_approve(*, actor: Actor, count: StockCount, witness: User | None = None) -> StockCount:
    """The medicine officer approves; each standing variance is booked as a
    count adjustment on top of the live balance, so movements made while the
    count was open stand. For a §4 lot the counter is the witness, or another
    witness when the officer counted it herself."""
    if actor.role != Role.MEDICINE_OFFICER:
        raise Forbidden("count.approve_role", "Only the medicine officer approves counts.")
    locked = StockCount.objects.select_for_update().select_related("location").get(pk=count.pk)
    _check_location(actor, locked.location)
    if locked.status != StockCount.Status.SUBMITTED:
        raise Conflict("count.not_submitted", "Only a submitted count can be approved.")
    now = timezone.now()
    lines = list(locked.lines.select_related("lot__medicine", "counted_by", "recounted_by"))
    differing = [line for line in lines if line.variance != 0]
    rows = _lock_balances([(locked.location, line.lot) for line in differing])
    movements = []
    for line in differing:
        counter = line.recounted_by or line.counted_by
        line_witness = witness
        if line_witness is None and counter.pk != actor.user.pk:  # type: ignore[union-attr]
            line_witness = counter
        line_witness = _check_witness(actor=actor, medicine=line.lot.medicine, witness=line_witness)
        variance = line.variance
        movements.append(
            _book(
                balance=rows[(locked.location_id, line.lot_id)],
                kind=Movement.Kind.COUNT_ADJUSTMENT,
                direction=Movement.Direction.IN if variance > 0 else Movement.Direction.OUT,
                quantity=abs(variance),
                by=actor.user,  # type: ignore[arg-type]
                witness=line_witness,
                at=now,
                reason_code=line.reason_code or CountReason.UNKNOWN,
                stock_count=locked,
            )
        )
    locked.status = StockCount.Status.APPROVED
    locked.approved_by = actor.user
    locked.approved_at = now
    locked.save(update_fields=["status", "approved_by", "approved_at"])
    Notification.objects.filter(
        key=f"count_overdue:{locked.location_id}", acknowledged_at__isnull=True
    ).update(acknowledged_at=now, acknowledged_by=actor.user)
    for movement in movements:
        _audit(actor, [movement])
    audit_record(
        actor=actor,
        action=Action.UPDATE,
        purpose=Purpose.OPERATIONS,
        citizen_id=None,
        resource_type="StockCount",
        resource_id=str(locked.pk),
        detail={"status": locked.status, "adjustments": [m.pk for m in movements]},
    )
    return locked


# --- notifications and watch jobs ----------------------------------------------


def _notify(*, organisation: Organisation, kind: str, key: str, message: str, **refs: Any) -> bool:
    """Raise a notification once per open key; returns whether a new one was made."""
    try:
        with transaction.atomic():
            Notification.objects.create(
                organisation=organisation, kind=kind, key=key, message=message[:300], **refs
            )
    except IntegrityError:
        return False
    return True


@transaction.atomic
def notification_acknowledge(*, actor: Actor, notification: Notification) -> Notification:
    if notification.organisation_id != _acute_organisation(actor).pk:
        raise NotFoundOrNotAllowed()
    if notification.acknowledged_at is None:
        notification.acknowledged_at = timezone.now()
        notification.acknowledged_by = actor.user
        notification.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return notification


def stock_watch_low(*, organisation: Organisation) -> int:
    """Low stock: usable units across the cabinets and bags below the medicine's minimum."""
    from medicine_cabinet.selectors import usable_totals

    made = 0
    totals = usable_totals(organisation=organisation, today=timezone.localdate())
    for medicine in Medicine.objects.filter(is_active=True, minimum_stock__gt=0):
        total = totals.get(medicine.pk, Decimal("0"))
        if total < medicine.minimum_stock:
            made += _notify(
                organisation=organisation,
                kind=Notification.Kind.LOW_STOCK,
                key=f"low_stock:{medicine.pk}",
                message=(
                    f"{medicine}: {_fmt(total)} {medicine.unit} usable, "
                    f"minimum {_fmt(medicine.minimum_stock)}."
                ),
                medicine=medicine,
            )
    return made


def stock_watch_expiry(*, organisation: Organisation, today: dt.date | None = None) -> int:
    """Lots held anywhere that expire within 30, 60 or 90 days (the nearest window only)."""
    today = today or timezone.localdate()
    made = 0
    lots = (
        Lot.objects.filter(
            recalled_at__isnull=True,
            expires_on__lte=today + dt.timedelta(days=90),
            balances__quantity__gt=0,
            balances__location__organisation=organisation,
        )
        .distinct()
        .select_related("medicine")
    )
    for lot in lots:
        days = (lot.expires_on - today).days
        kind = next(k for limit, k in EXPIRY_WINDOWS if days <= limit)
        made += _notify(
            organisation=organisation,
            kind=kind,
            key=f"{kind}:{lot.pk}",
            message=f"Lot {lot.batch_number} of {lot.medicine} expires {lot.expires_on:%d-%m-%Y}.",
            medicine=lot.medicine,
            lot=lot,
        )
    return made


def count_watch_overdue(*, organisation: Organisation, now: dt.datetime | None = None) -> int:
    from medicine_cabinet.selectors import counts_overdue

    made = 0
    for location, last in counts_overdue(organisation=organisation, now=now or timezone.now()):
        since = f"last approved {timezone.localtime(last):%d-%m-%Y}" if last else "never counted"
        made += _notify(
            organisation=organisation,
            kind=Notification.Kind.COUNT_OVERDUE,
            key=f"count_overdue:{location.pk}",
            message=f"{location.name} is due for a count ({since}).",
            location=location,
        )
    return made


def cabinet_watch(*, now: dt.datetime | None = None) -> dict[str, int]:
    """All three watches for every acute function; idempotent."""
    made = {"low_stock": 0, "expiry": 0, "count_overdue": 0}
    for organisation in Organisation.objects.filter(
        kind=Organisation.Kind.ACUTE_FUNCTION, is_active=True
    ):
        made["low_stock"] += stock_watch_low(organisation=organisation)
        made["expiry"] += stock_watch_expiry(organisation=organisation)
        made["count_overdue"] += count_watch_overdue(organisation=organisation, now=now)
    return made


# --- administration (R8) ------------------------------------------------------------


def _amount(value: Decimal) -> str:
    """An amount for a message, as a Danish clinician writes it (``2,5``)."""
    return formats.number_format(format(value.normalize(), "f"), use_l10n=True)


def _unit_label(unit: str) -> str:
    """The formulary's stock units are kept in English; shown in the reader's language."""
    return gettext(unit) if unit in STOCK_UNIT_LABELS else unit


def _order_refusal_extra(order: MedicationOrder, left: Allowance) -> dict[str, object]:
    return {
        "order": order.pk,
        "unit": order.dose_unit,
        "remaining": _fmt(left.remaining),
        "given": _fmt(left.given),
        "total": _fmt(left.total),
    }


def _check_order(*, order: MedicationOrder, visit: Visit, medicine: Medicine) -> None:
    """The order may be given against at all: this visit's, for this medicine,
    not cancelled, a phone order read back, a written one for §4 (R8)."""
    from acute.clinical.models import MedicationOrder

    if order.visit_id is not None and order.visit_id != visit.pk:
        raise InvalidInput(
            "order.other_visit",
            gettext("This order belongs to another visit."),
            field="order",
            rule="R8",
        )
    if order.status == MedicationOrder.Status.CANCELLED:
        raise PreconditionFailed(
            "order.cancelled", gettext("This order was cancelled."), field="order", rule="R8"
        )
    if order.kind == MedicationOrder.Kind.PHONE and not (
        order.read_back and order.read_back_confirmed
    ):
        raise PreconditionFailed(
            "order.not_confirmed",
            gettext("The phone order was not read back and confirmed."),
            rule="R8",
        )
    if order.medicine_atc != medicine.atc_code:
        raise InvalidInput(
            "order.medicine_mismatch",
            gettext("The order is for another medicine."),
            field="medicine",
            rule="R8",
        )
    if medicine.dependence_forming and order.kind != MedicationOrder.Kind.WRITTEN:
        raise PreconditionFailed(
            "order.written_required",
            gettext("A dependence-forming (§4) medicine needs a written order."),
            rule="R8",
        )


def _dose_against_order(
    *,
    order: MedicationOrder,
    medicine: Medicine,
    quantity: Decimal,
    confirm_mismatch: bool,
    confirmed_dose: Decimal | None,
) -> tuple[Decimal | None, str]:
    """The dose in the order's unit and how it differs from the order.

    A dose of another amount than ordered (one 500 mg tablet against 1000 mg),
    or in a unit that does not convert to the order's, is a mismatch. The nurse
    confirms it with the amount she gives in the order's unit; the amount
    computed from the medicine's strength must be the one she confirms. The
    amount is None while a unit mismatch is not yet confirmed.
    """
    from acute.clinical import dosing

    amount = dosing.amount_in_unit(
        quantity=quantity,
        stock_unit=medicine.unit,
        amount_per_unit=medicine.amount_per_unit,
        amount_unit=medicine.amount_unit,
        unit=order.dose_unit,
    )
    if amount is None:
        mismatch = DoseMismatch.UNIT
    elif amount != order.dose:
        mismatch = DoseMismatch.AMOUNT
    else:
        return amount, DoseMismatch.NONE
    if not confirm_mismatch:
        return amount, mismatch
    if confirmed_dose is None:
        raise InvalidInput(
            "administration.confirmed_dose_required",
            gettext("To confirm the dose, give the amount you give in %(unit)s.")
            % {"unit": _unit_label(order.dose_unit)},
            field="confirmed_dose",
            rule="R8",
            extra={"order": order.pk, "unit": order.dose_unit},
        )
    if amount is not None and confirmed_dose != amount:
        raise PreconditionFailed(
            "administration.confirmation_mismatch",
            gettext(
                "You confirmed %(confirmed)s %(unit)s, but %(quantity)s %(stock_unit)s is "
                "%(amount)s %(unit)s. Nothing was given; check the dose and confirm again."
            )
            % {
                "confirmed": _amount(confirmed_dose),
                "unit": _unit_label(order.dose_unit),
                "quantity": _amount(quantity),
                "stock_unit": _unit_label(medicine.unit),
                "amount": _amount(amount),
            },
            field="confirmed_dose",
            rule="R8",
            extra={"order": order.pk, "amount": _fmt(amount), "unit": order.dose_unit},
        )
    return confirmed_dose, mismatch


def _check_within_order(*, order: MedicationOrder, left: Allowance, amount: Decimal | None) -> None:
    """R8: an order is a limit. Nothing after its days are over; no more than
    what remains of it in all and, for a daily schedule, in any 24 hours."""
    name = {"medicine": order.medicine_name, "order": order.pk}
    if left.ended:
        assert left.ends_at is not None
        raise PreconditionFailed(
            "order.ended",
            gettext(
                "The order for %(medicine)s (no. %(order)s) ended %(ended)s; "
                "nothing more may be given against it."
            )
            % {
                **name,
                "ended": formats.date_format(timezone.localtime(left.ends_at), "j. F Y H:i"),
            },
            field="order",
            rule="R8",
            extra={**_order_refusal_extra(order, left), "ends_at": left.ends_at.isoformat()},
        )
    if amount is None and left.remaining > 0:
        return  # what she gives is not known yet: the mismatch warning asks her
    if amount is not None and amount <= left.remaining:
        return
    if amount is None:
        message = gettext(
            "The order for %(medicine)s (no. %(order)s) allows nothing more now. Nothing was given."
        )
    elif left.limited_by_day:
        message = gettext(
            "The order for %(medicine)s (no. %(order)s) allows %(remaining)s %(unit)s more "
            "in these 24 hours; %(asked)s %(unit)s is more than that. Nothing was given."
        )
    else:
        message = gettext(
            "The order for %(medicine)s (no. %(order)s) allows %(remaining)s %(unit)s more; "
            "%(asked)s %(unit)s is more than that. Nothing was given."
        )
    raise Conflict(
        "order.limit_exceeded",
        message
        % {
            **name,
            "remaining": _amount(left.remaining),
            "unit": _unit_label(order.dose_unit),
            "asked": _amount(amount) if amount is not None else "",
        },
        field="quantity",
        rule="R8",
        extra={
            **_order_refusal_extra(order, left),
            "asked": _fmt(amount) if amount is not None else None,
            "limit": "day" if left.limited_by_day else "total",
        },
    )


def _mismatch_warning(
    *,
    order: MedicationOrder,
    medicine: Medicine,
    quantity: Decimal,
    amount: Decimal | None,
    left: Allowance,
) -> PreconditionFailed:
    values = {
        "medicine": order.medicine_name,
        "order": order.pk,
        "dose": _amount(order.dose),
        "unit": _unit_label(order.dose_unit),
        "quantity": _amount(quantity),
        "stock_unit": _unit_label(medicine.unit),
    }
    if amount is None:
        message = gettext(
            "%(quantity)s %(stock_unit)s cannot be compared with the order for %(medicine)s "
            "(no. %(order)s) of %(dose)s %(unit)s. Check the dose, and confirm how much "
            "you give in %(unit)s."
        )
    else:
        message = gettext(
            "%(quantity)s %(stock_unit)s is %(amount)s %(unit)s, but the order for "
            "%(medicine)s (no. %(order)s) is %(dose)s %(unit)s a dose. Check the dose, "
            "and confirm it if it is right."
        )
        values["amount"] = _amount(amount)
    return PreconditionFailed(
        "administration.dose_mismatch",
        message % values,
        field="quantity",
        rule="R8",
        extra={
            **_order_refusal_extra(order, left),
            "mismatch": DoseMismatch.UNIT if amount is None else DoseMismatch.AMOUNT,
            "ordered_dose": _fmt(order.dose),
            "amount": _fmt(amount) if amount is not None else None,
            "quantity": _fmt(quantity),
            "medicine_unit": medicine.unit,
        },
    )


def _refusal_audit(*, actor: Actor, citizen_id: int, visit_id: int, error: PlatformError) -> None:
    """A dose refused by a rule is a denied attempt (R9), recorded outside the
    refused write's transaction so the rollback keeps it."""
    audit_record(
        actor=actor,
        action=Action.CREATE,
        purpose=Purpose.TREATMENT,
        citizen_id=citizen_id,
        outcome=Outcome.DENIED,
        resource_type="MedicationAdministration",
        reason_code=error.code,
        detail={"visit": visit_id, **error.extra},
    )


def administration_give(
    *,
    actor: Actor,
    visit_id: int,
    order_id: int | None,
    medicine: Medicine,
    quantity: Decimal,
    unit: str,
    lot: Lot | None = None,
    witness: User | None = None,
    note: str = "",
    confirm_mismatch: bool = False,
    confirmed_dose: Decimal | None = None,
) -> Administration:
    """Give a dose from the nurse's own bag on her visit, to that visit's citizen,
    against a physician's order for this medicine (R8).

    The citizen is reached only through the access gate (audited, denials too).
    Without a lot the first-expiring usable lot in the bag is used; an expired
    or recalled lot is refused. The order is a limit: the doses given against
    it may not exceed what it allows (:func:`acute.clinical.selectors.order_allowance`),
    counted under the order's row lock; a dose that is not the ordered one is
    given only as confirmed (``confirm_mismatch`` with ``confirmed_dose``, the
    amount in the order's unit). A refusal by the rule is audited as denied.
    """
    from acute.models import Visit
    from consent.gate import access_citizen

    if actor.role != Role.ACUTE_NURSE or actor.user is None:
        raise Forbidden("administration.role", "Only an acute nurse gives medicine from her bag.")
    organisation = _acute_organisation(actor)
    _check_unit(medicine, unit)
    visit = Visit.objects.filter(pk=visit_id).first()
    if visit is None:
        raise NotFoundOrNotAllowed("visit.not_found", "No such visit.")
    citizen = access_citizen(
        actor=actor,
        citizen_id=visit.citizen_id,
        action=Action.CREATE,
        category=GATE_CATEGORY,
        purpose=Purpose.TREATMENT,
        resource_type="MedicationAdministration",
        resource_id="",
    )
    if visit.nurse_id != actor.user.pk:
        audit_record(
            actor=actor,
            action=Action.CREATE,
            purpose=Purpose.TREATMENT,
            citizen_id=citizen.pk,
            outcome=Outcome.DENIED,
            resource_type="MedicationAdministration",
            reason_code="visit_not_yours",
            detail={"visit": visit.pk},
        )
        raise NotFoundOrNotAllowed("visit.not_found", "No such visit.")
    if visit.status != Visit.Status.ON_SITE:
        raise PreconditionFailed(
            "visit.not_on_site", "Medicine is given on the visit, with the nurse on site."
        )
    try:
        return _administration_book(
            actor=actor,
            organisation=organisation,
            visit=visit,
            citizen=citizen,
            order_id=order_id,
            medicine=medicine,
            quantity=quantity,
            unit=unit,
            lot=lot,
            witness=witness,
            note=note,
            confirm_mismatch=confirm_mismatch,
            confirmed_dose=confirmed_dose,
        )
    except PlatformError as exc:
        if exc.rule == "R8":
            _refusal_audit(actor=actor, citizen_id=citizen.pk, visit_id=visit.pk, error=exc)
        raise


def _administration_book(
    *,
    actor: Actor,
    organisation: Organisation,
    visit: Visit,
    citizen: Citizen,
    order_id: int | None,
    medicine: Medicine,
    quantity: Decimal,
    unit: str,
    lot: Lot | None,
    witness: User | None,
    note: str,
    confirm_mismatch: bool,
    confirmed_dose: Decimal | None,
) -> Administration:
    from acute.clinical.models import MedicationOrder
    from acute.clinical.selectors import order_allowance
    from medicine_cabinet.selectors import lot_suggest

    assert actor.user is not None
    if order_id is None:
        raise PreconditionFailed(
            "order.missing",
            gettext("A dose leaves stock only against a physician's order."),
            field="order",
            rule="R8",
        )
    order = MedicationOrder.objects.filter(pk=order_id, citizen_id=citizen.pk).first()
    if order is None:
        raise InvalidInput(
            "order.not_for_citizen",
            gettext("No such order for this visit's citizen."),
            field="order",
            rule="R8",
        )
    _check_order(order=order, visit=visit, medicine=medicine)
    amount, mismatch = _dose_against_order(
        order=order,
        medicine=medicine,
        quantity=quantity,
        confirm_mismatch=confirm_mismatch,
        confirmed_dose=confirmed_dose,
    )
    bag = Location.objects.filter(
        organisation=organisation, kind=Location.Kind.BAG, nurse=actor.user, is_active=True
    ).first()
    if bag is None:
        raise PreconditionFailed("bag.none", "You carry no bag with stock.")
    if lot is None:
        lot = lot_suggest(bag=bag, medicine=medicine)
        if lot is None:
            raise Conflict("stock.none_usable", "Your bag holds no usable lot of this medicine.")
    elif lot.medicine_id != medicine.pk:
        raise InvalidInput("lot.wrong_medicine", "That lot is of another medicine.", field="lot")
    _check_usable(lot)
    witness = _check_witness(actor=actor, medicine=medicine, witness=witness)
    now = timezone.now()
    with transaction.atomic():
        # The order's row lock first: two doses against one order are counted
        # one after the other, so both cannot pass on the same remainder. The
        # order may also have been cancelled since it was read.
        order = MedicationOrder.objects.select_for_update().get(pk=order.pk)
        _check_order(order=order, visit=visit, medicine=medicine)
        left = order_allowance(order, now=now)
        _check_within_order(order=order, left=left, amount=amount)
        if amount is None or (mismatch and not confirm_mismatch):
            raise _mismatch_warning(
                order=order, medicine=medicine, quantity=quantity, amount=amount, left=left
            )
        balance = _lock_balances([(bag, lot)])[(bag.pk, lot.pk)]
        _recheck_usable_locked(lot)
        movement = _book(
            balance=balance,
            kind=Movement.Kind.ADMINISTERED,
            direction=Movement.Direction.OUT,
            quantity=quantity,
            by=actor.user,
            witness=witness,
            at=now,
        )
        administration = Administration(
            visit=visit,
            order=order,
            citizen=citizen,
            municipality=citizen.municipality,
            medicine=medicine,
            lot=lot,
            bag=bag,
            movement=movement,
            quantity=quantity,
            unit=unit,
            order_amount=amount,
            order_unit=order.dose_unit,
            dose_mismatch=mismatch,
            mismatch_confirmed=bool(mismatch),
            administered_at=now,
            by=actor.user,
            witness=witness,
            note=note.strip()[:300],
        )
        # Field checks only, as for the ledger entry: the table's CHECK
        # constraints hold the rest while the rows are locked.
        try:
            administration.clean_fields(
                exclude=[f.name for f in Administration._meta.fields if f.is_relation]
            )
        except ValidationError as exc:
            field = next(iter(exc.message_dict), None)
            raise InvalidInput(
                "administration.invalid", "; ".join(exc.messages), field=field
            ) from None
        administration.save(force_insert=True)
        _audit(actor, [movement], citizen_id=citizen.pk)
        audit_record(
            actor=actor,
            action=Action.CREATE,
            purpose=Purpose.TREATMENT,
            citizen_id=citizen.pk,
            resource_type="MedicationAdministration",
            resource_id=str(administration.pk),
            detail={
                "order": order.pk,
                "visit": visit.pk,
                "movement": movement.pk,
                "order_amount": _fmt(amount),
                "order_unit": order.dose_unit,
                "remaining": _fmt(left.remaining - amount),
                **({"dose_mismatch": mismatch, "mismatch_confirmed": True} if mismatch else {}),
            },
        )
    return administration
