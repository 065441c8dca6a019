"""The stock ledger (R8): balance rows locked in one order, one entry per
movement booked with its balance, and the audit of stock work (R9)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model, Q

from consent.audit.services import Action, Purpose, audit_record
from consent.services.denied import audit_denied
from core.actors import Actor
from core.errors import (
    Conflict,
    InvalidInput,
)
from core.models import User
from medicine_cabinet.models import (
    Balance,
    Location,
    Lot,
    Movement,
)

STOCK_RESOURCE = "StockMovement"


def quantity_text(value: Decimal) -> str:
    """A quantity for people: ``30``, ``2.5`` (never ``3E+1``)."""
    return format(value.normalize(), "f")


def lock_balances(pairs: Iterable[tuple[Location, Lot]]) -> dict[tuple[int, int], Balance]:
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


# What a balance column holds: 12 digits, three of them decimals.
BALANCE_MOST = Decimal("999999999.999")


def book(
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
            f"Only {quantity_text(before)} left of this lot here;"
            f" {quantity_text(quantity)} asked for.",
            field="quantity",
            params={"left": quantity_text(before), "asked": quantity_text(quantity)},
        )
    if after > BALANCE_MOST:
        # The column would refuse it with a generic error on a field nobody sent.
        raise Conflict(
            "stock.balance_too_large",
            f"{quantity_text(before)} of this lot is here already; {quantity_text(quantity)}"
            " more is more than one place can hold of one lot.",
            field="quantity",
            params={"held": quantity_text(before), "asked": quantity_text(quantity)},
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
    fields_clean_or_raise(
        movement,
        code="movement.invalid",
        exclude=["location", "lot", "by", "witness", "stock_count"],
    )
    movement.save(force_insert=True)
    balance.quantity = after
    balance.updated_at = at
    balance.save(update_fields=["quantity", "updated_at"])
    return movement


def movements_audit(
    actor: Actor, movements: list[Movement], *, citizen_id: int | None = None
) -> None:
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


def fields_clean_or_raise(instance: Model, *, code: str, exclude: list[str]) -> None:
    """Field checks only: the table's CHECK constraints hold the rest, and asking
    the database to pre-check them would cost queries while the rows are locked."""
    try:
        instance.clean_fields(exclude=exclude)
    except ValidationError as exc:
        field = next(iter(exc.message_dict), None)
        raise InvalidInput(code, "; ".join(exc.messages), field=field) from None


def operation_audit(
    *,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: str,
    reason_code: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Stock work is the acute function's operations, not a citizen's care:
    the entry names no citizen (R9)."""
    audit_record(
        actor=actor,
        action=action,
        purpose=Purpose.OPERATIONS,
        citizen_id=None,
        resource_type=resource_type,
        resource_id=resource_id,
        reason_code=reason_code,
        detail=detail,
    )


def movement_denied(*, actor: Actor, reason_code: str, detail: dict[str, Any]) -> None:
    """A refused stock movement, recorded before anything is booked (R9): the
    officer sees who tried to take stock when she might not, and why not."""
    audit_denied(
        actor=actor,
        action=Action.CREATE,
        purpose=Purpose.OPERATIONS,
        resource_type=STOCK_RESOURCE,
        reason_code=reason_code,
        detail=detail,
    )
