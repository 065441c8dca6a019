"""Stock moved between a cabinet and a bag, wasted, or taken out as expired or recalled."""

from __future__ import annotations

import uuid
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.actors import Actor
from core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    PlatformError,
    PreconditionFailed,
)
from core.models import User
from core.validation import text_blank, text_trimmed
from medicine_cabinet.models import (
    Balance,
    Location,
    Lot,
    Medicine,
    Movement,
    WasteReason,
)
from medicine_cabinet.services.checks import (
    WitnessCredentials,
    check_location,
    check_on_shift_to_pack,
    check_own_bag,
    check_unit,
    check_usable,
    check_whole_units,
    check_witness,
    counted_in_whole_units,
    is_whole,
    movement_refused,
    recheck_usable_locked,
)
from medicine_cabinet.services.formulary import amount_text, unit_label
from medicine_cabinet.services.ledger import (
    book,
    lock_balances,
    movements_audit,
)


def stock_transfer(
    *,
    actor: Actor,
    lot: Lot,
    source: Location,
    destination: Location,
    quantity: Decimal,
    unit: str,
    witness: User | WitnessCredentials | None = None,
) -> tuple[Movement, Movement]:
    """Cabinet to the nurse's own bag (*udtag*), or her bag back to a cabinet."""
    check_location(actor, source)
    check_location(actor, destination)
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
    attempt = {
        "kind": kind,
        "lot": lot.pk,
        "from": source.pk,
        "to": destination.pk,
        "quantity": str(quantity),
    }
    if bag.nurse_id != actor.user.pk:  # type: ignore[union-attr]
        # A colleague's bag: a denied movement, recorded (R9).
        refused = Forbidden("bag.not_yours", "You may move stock only in your own bag.")
        movement_refused(actor=actor, exc=refused, attempt=attempt)
        raise refused
    check_unit(lot.medicine, unit)
    check_whole_units(lot.medicine, quantity)
    if kind == Movement.Kind.TO_BAG:
        check_usable(lot)  # expired or recalled stock may come back, never go out
        try:
            check_on_shift_to_pack(actor)  # she may bring it back after her shift
        except PlatformError as exc:
            movement_refused(actor=actor, exc=exc, attempt=attempt)
            raise
    witness = check_witness(actor=actor, medicine=lot.medicine, witness=witness, attempt=attempt)
    now = timezone.now()
    transfer_id = uuid.uuid4()
    with transaction.atomic():
        rows = lock_balances([(source, lot), (destination, lot)])
        if kind == Movement.Kind.TO_BAG:
            recheck_usable_locked(lot)
        # The same entry twice, out of one location and into the other.
        out, into = (
            book(
                balance=rows[(location.pk, lot.pk)],
                kind=kind,
                direction=direction,
                quantity=quantity,
                by=actor.user,  # type: ignore[arg-type]
                witness=witness,
                at=now,
                transfer_id=transfer_id,
            )
            for location, direction in (
                (source, Movement.Direction.OUT),
                (destination, Movement.Direction.IN),
            )
        )
        movements_audit(actor, [out, into])
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
    witness: User | WitnessCredentials | None = None,
) -> Movement:
    """Wasted or discarded (*kasseret*), with a reason.

    Stock counted in whole units is wasted in whole units, except the rest of
    an opened one (reason ``partial_dose``): then the waste must leave the
    balance whole — the way to clear a fraction left from before doses booked
    their rest themselves."""
    check_location(actor, location)
    check_own_bag(
        actor,
        location,
        attempt={
            "kind": Movement.Kind.WASTED,
            "lot": lot.pk,
            "location": location.pk,
            "quantity": str(quantity),
        },
    )
    check_unit(lot.medicine, unit)
    if reason_code not in WasteReason.values:
        raise InvalidInput(
            "waste.reason_invalid", "Give one of the waste reasons.", field="reason_code"
        )
    rest_of_opened = reason_code == WasteReason.PARTIAL_DOSE and counted_in_whole_units(
        lot.medicine
    )
    if not rest_of_opened:
        check_whole_units(lot.medicine, quantity)
    if reason_code == WasteReason.OTHER and text_blank(note):
        raise InvalidInput("waste.note_required", "Say what happened.", field="note")
    witness = check_witness(
        actor=actor,
        medicine=lot.medicine,
        witness=witness,
        attempt={
            "kind": Movement.Kind.WASTED,
            "lot": lot.pk,
            "location": location.pk,
            "quantity": str(quantity),
            "reason_code": reason_code,
        },
    )
    return _remove(
        actor=actor,
        location=location,
        lot=lot,
        quantity=quantity,
        kind=Movement.Kind.WASTED,
        witness=witness,
        leaves_whole=rest_of_opened,
        reason_code=reason_code,
        note=text_trimmed(note),
    )


def stock_remove_expired(
    *, actor: Actor, location: Location, lot: Lot, witness: User | WitnessCredentials | None = None
) -> Movement:
    """Take an expired lot's whole balance out of a location."""
    check_location(actor, location)
    check_own_bag(
        actor,
        location,
        attempt={"kind": Movement.Kind.EXPIRED, "lot": lot.pk, "location": location.pk},
    )
    if not lot.is_expired(timezone.localdate()):
        raise PreconditionFailed("lot.not_expired", "This lot has not expired.")
    return _remove_whole_lot(
        actor=actor, location=location, lot=lot, kind=Movement.Kind.EXPIRED, witness=witness
    )


def stock_remove_recalled(
    *, actor: Actor, location: Location, lot: Lot, witness: User | WitnessCredentials | None = None
) -> Movement:
    """Take a recalled lot's whole balance out of a location, to go back to the pharmacy."""
    check_location(actor, location)
    check_own_bag(
        actor,
        location,
        attempt={"kind": Movement.Kind.RECALLED, "lot": lot.pk, "location": location.pk},
    )
    if not lot.is_recalled:
        raise PreconditionFailed("lot.not_recalled", "This lot is not recalled.")
    return _remove_whole_lot(
        actor=actor,
        location=location,
        lot=lot,
        kind=Movement.Kind.RECALLED,
        witness=witness,
        reason_code="recall",
    )


def _remove_whole_lot(
    *,
    actor: Actor,
    location: Location,
    lot: Lot,
    kind: str,
    witness: User | WitnessCredentials | None,
    **fields: Any,
) -> Movement:
    """The lot's whole balance here, out; §4 stock only with a witness."""
    checked = check_witness(
        actor=actor,
        medicine=lot.medicine,
        witness=witness,
        attempt={"kind": kind, "lot": lot.pk, "location": location.pk},
    )
    return _remove(
        actor=actor, location=location, lot=lot, quantity=None, kind=kind, witness=checked, **fields
    )


def _remove(
    *,
    actor: Actor,
    location: Location,
    lot: Lot,
    quantity: Decimal | None,
    kind: str,
    witness: User | None,
    leaves_whole: bool = False,
    **fields: Any,
) -> Movement:
    now = timezone.now()
    with transaction.atomic():
        balance = lock_balances([(location, lot)])[(location.pk, lot.pk)]
        amount = balance.quantity if quantity is None else quantity
        if amount <= 0:
            raise Conflict("stock.none", "There is none of this lot here.")
        if leaves_whole:
            _check_rest_of_opened(lot.medicine, held=balance.quantity, wasted=amount)
        movement = book(
            balance=balance,
            kind=kind,
            direction=Movement.Direction.OUT,
            quantity=amount,
            by=actor.user,  # type: ignore[arg-type]
            witness=witness,
            at=now,
            **fields,
        )
        movements_audit(actor, [movement])
    return movement


def _check_rest_of_opened(medicine: Medicine, *, held: Decimal, wasted: Decimal) -> None:
    """Under the balance's lock: waste of part of a unit is the opened unit's
    rest, which leaves whole units behind."""
    if is_whole(wasted) or wasted > held:
        return  # whole units, or more than is here: the ledger answers that
    rest = held - held.to_integral_value(rounding=ROUND_FLOOR)
    if rest == 0:
        check_whole_units(medicine, wasted)  # nothing is opened here
    if not is_whole(held - wasted):
        raise Conflict(
            "waste.rest_mismatch",
            f"The rest of the opened unit here is {rest.normalize():f} {medicine.unit};"
            " waste that, or whole units.",
            field="quantity",
            params={"rest": amount_text(rest), "unit": unit_label(medicine.unit)},
        )


def dose_rest_waste(
    *, actor: Actor, balance: Balance, dose: Movement, medicine: Medicine
) -> Movement | None:
    """The rest of a unit opened for a dose of part of it (half an ampoule,
    half a tablet), discarded as ``partial_dose`` waste in the dose's
    transaction, under the same lock, by the same nurse with the same witness:
    an opened ampoule is never kept, and a split tablet's other half is not
    kept in a bag either. The bag then holds whole units again, and the §4
    register balances. ``None`` when the dose used whole units."""
    if not counted_in_whole_units(medicine):
        return None
    left = balance.quantity
    rest = left - left.to_integral_value(rounding=ROUND_FLOOR)
    if rest == 0:
        return None
    waste = book(
        balance=balance,
        kind=Movement.Kind.WASTED,
        direction=Movement.Direction.OUT,
        quantity=rest,
        by=dose.by,
        witness=dose.witness,
        at=dose.at,
        reason_code=WasteReason.PARTIAL_DOSE,
        # Kept in the ledger in the language of the nurse who gave the dose.
        note=gettext("Rest of the unit opened for the dose (ledger entry %(movement)s).")
        % {"movement": dose.pk},
    )
    movements_audit(actor, [waste])
    return waste
