"""Deliveries from the pharmacy into a cabinet (*modtagelse*)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.actors import Actor
from core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    PreconditionFailed,
)
from core.models import Role, User
from core.validation import text_blank, text_trimmed
from medicine_cabinet.models import (
    Location,
    Lot,
    Medicine,
    Movement,
)
from medicine_cabinet.services.checks import (
    WitnessCredentials,
    check_location,
    check_unit,
    check_whole_units,
    check_witness,
)
from medicine_cabinet.services.ledger import book, lock_balances, movements_audit

BATCH_NUMBER_MOST = Lot._meta.get_field("batch_number").max_length or 40

# Shelf lives are a few years; ten is beyond any medicine's.
EXPIRY_AHEAD_AT_MOST = dt.timedelta(days=3653)


def batch_number_normal(raw: str) -> str:
    """A batch number as the package prints it: capitals, no spaces. "ab 12"
    and "AB12" typed from the same package are one lot, so a recall of it
    blocks every unit of it and the expiry list shows it once."""
    return "".join(raw.split()).upper()


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
    witness: User | WitnessCredentials | None = None,
) -> Movement:
    """A delivery from the pharmacy into a cabinet (*modtagelse*)."""
    check_location(actor, cabinet)
    if actor.role != Role.MEDICINE_OFFICER:
        raise Forbidden("receive.role", "Only the medicine officer receives deliveries.")
    if cabinet.kind != Location.Kind.CABINET:
        raise InvalidInput("receive.not_cabinet", "Deliveries are received into a cabinet.")
    check_unit(medicine, unit)
    check_whole_units(medicine, quantity)
    if not medicine.is_active:
        raise InvalidInput("medicine.inactive", "This medicine is no longer in the formulary.")
    if text_blank(supplier) or text_blank(delivery_reference):
        raise InvalidInput(
            "receive.source_missing", "Name the supplier and the delivery reference."
        )
    batch_number = batch_number_normal(batch_number)
    if not batch_number:
        raise InvalidInput("lot.batch_missing", "Give the batch number.", field="batch_number")
    if len(batch_number) > BATCH_NUMBER_MOST:
        # Refused before the lot is looked up: the column would refuse it with a 500.
        raise InvalidInput(
            "lot.batch_too_long",
            f"A batch number has at most {BATCH_NUMBER_MOST} characters.",
            field="batch_number",
            params={"most": BATCH_NUMBER_MOST},
        )
    if expires_on < timezone.localdate():
        raise PreconditionFailed("lot.expired", "This lot has already expired.", field="expires_on")
    if expires_on > timezone.localdate() + EXPIRY_AHEAD_AT_MOST:
        # No medicine keeps that long: a slip of the keys (9999, a year typed
        # wrong) would keep the lot out of every expiry warning for good.
        raise InvalidInput(
            "lot.expiry_implausible",
            "No medicine keeps for more than ten years; check the expiry date on the package.",
            field="expires_on",
        )
    checked = check_witness(
        actor=actor,
        medicine=medicine,
        witness=witness,
        attempt={
            "kind": Movement.Kind.RECEIVED,
            "medicine": medicine.pk,
            "location": cabinet.pk,
            "batch_number": batch_number,
            "quantity": str(quantity),
        },
    )
    now = timezone.now()
    with transaction.atomic():
        # A batch already known in other case (saved before numbers were
        # written in capitals) is the same batch.
        lot = Lot.objects.filter(medicine=medicine, batch_number__iexact=batch_number).first()
        if lot is None:
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
        balance = lock_balances([(cabinet, lot)])[(cabinet.pk, lot.pk)]
        # Then the lot's row lock, as a draw takes it, which a recall holds
        # until it commits: no receipt is booked into a lot recalled
        # meanwhile, nor missed from the recall's list of where it is.
        if Lot.objects.select_for_update().values_list("recalled_at", flat=True).get(pk=lot.pk):
            raise PreconditionFailed(
                "lot.recalled", "This lot is recalled and may not be received."
            )
        # Under the balance's row lock: the same delivery note's line sent
        # twice (a double click, a reload) is booked once, not twice.
        if Movement.objects.filter(
            kind=Movement.Kind.RECEIVED,
            location=cabinet,
            lot=lot,
            delivery_reference__iexact=text_trimmed(delivery_reference),
        ).exists():
            raise Conflict(
                "receive.already_received",
                "This batch is already received on this delivery reference; nothing was booked"
                " twice.",
                field="delivery_reference",
            )
        movement = book(
            balance=balance,
            kind=Movement.Kind.RECEIVED,
            direction=Movement.Direction.IN,
            quantity=quantity,
            by=actor.user,  # type: ignore[arg-type]
            witness=checked,
            at=now,
            supplier=text_trimmed(supplier),
            delivery_reference=text_trimmed(delivery_reference),
        )
        movements_audit(actor, [movement])
    return movement
