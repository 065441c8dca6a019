"""A dose checked against the physician's order it is given on (R8): the
order itself, the dose in the order's unit, and what the order still allows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils.translation import gettext

from acute.clinical import dosing
from acute.clinical.dosing import Allowance
from acute.clinical.models import MedicationOrder
from acute.clinical.services.common import CLOCK_SKEW
from acute.models import Visit
from core.errors import (
    Conflict,
    InvalidInput,
    PreconditionFailed,
)
from core.times import api_instant, shown
from core.units import decimals_label
from medicine_cabinet.models import (
    DoseMismatch,
    Medicine,
)
from medicine_cabinet.services.checks import needs_witness
from medicine_cabinet.services.formulary import amount_text, unit_label
from medicine_cabinet.services.ledger import quantity_text


def _order_refusal_extra(order: MedicationOrder, left: Allowance) -> dict[str, object]:
    return {
        "order": order.pk,
        "unit": order.dose_unit,
        "remaining": quantity_text(left.remaining),
        "given": quantity_text(left.given),
        "total": quantity_text(left.total),
    }


def _local(moment: dt.datetime) -> str:
    return shown(moment, "j. F Y H:i")


def _check_order(
    *, order: MedicationOrder, visit: Visit, medicine: Medicine, at: dt.datetime
) -> None:
    """The order may be given against at all: this visit's, for this medicine,
    made before the dose and not cancelled when it was given (``at``), a phone
    order read back, a written one for §4 (R8).

    A dose given before a cancellation and booked after it (queued offline)
    was given against a standing order: it left the bag then, and is booked.
    """

    if order.visit_id is not None and order.visit_id != visit.pk:
        raise InvalidInput(
            "order.other_visit",
            gettext("This order belongs to another visit."),
            field="order",
            rule="R8",
        )
    if at < order.ordered_at - CLOCK_SKEW:
        # Clocks (the nurse's tablet, the server) may differ by a few minutes;
        # more than that, and the dose was not given on this order.
        raise PreconditionFailed(
            "order.given_before_order",
            f"The dose was given {_local(at)}, before the order for {order.medicine_name} "
            f"(no. {order.pk}) was made {_local(order.ordered_at)}; it cannot be recorded "
            "against that order. Nothing was recorded.",
            field="given_at",
            rule="R8",
            params={
                "medicine": decimals_label(order.medicine_name),
                "order": order.pk,
                "given": _local(at),
                "ordered": _local(order.ordered_at),
            },
            extra={
                "order": order.pk,
                "ordered_at": api_instant(order.ordered_at),
                "given_at": api_instant(at),
            },
        )
    if order.status == MedicationOrder.Status.CANCELLED and (
        order.cancelled_at is None or at >= order.cancelled_at
    ):
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
    if order.kind != MedicationOrder.Kind.WRITTEN and (
        needs_witness(medicine) or order.dependence_forming
    ):
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
            % {"unit": unit_label(order.dose_unit)},
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
                "confirmed": amount_text(confirmed_dose),
                "unit": unit_label(order.dose_unit),
                "quantity": amount_text(quantity),
                "stock_unit": unit_label(medicine.unit),
                "amount": amount_text(amount),
            },
            field="confirmed_dose",
            rule="R8",
            extra={"order": order.pk, "amount": quantity_text(amount), "unit": order.dose_unit},
        )
    return confirmed_dose, mismatch


def _check_within_order(*, order: MedicationOrder, left: Allowance, amount: Decimal | None) -> None:
    """R8: an order is a limit. Nothing after its days are over; no more than
    what remains of it in all and, for a daily schedule, in any 24 hours."""
    # The medicine as the order names it, its strength with the reader's
    # decimal mark ("0,4 mg/mL"); the error's fields keep the machine form.
    name = {"medicine": decimals_label(order.medicine_name), "order": order.pk}
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
                "ended": _local(left.ends_at),
            },
            field="order",
            rule="R8",
            extra={**_order_refusal_extra(order, left), "ends_at": api_instant(left.ends_at)},
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
            "remaining": amount_text(left.remaining),
            "unit": unit_label(order.dose_unit),
            "asked": amount_text(amount) if amount is not None else "",
        },
        field="quantity",
        rule="R8",
        extra={
            **_order_refusal_extra(order, left),
            "asked": quantity_text(amount) if amount is not None else None,
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
        "medicine": decimals_label(order.medicine_name),
        "order": order.pk,
        "dose": amount_text(order.dose),
        "unit": unit_label(order.dose_unit),
        "quantity": amount_text(quantity),
        "stock_unit": unit_label(medicine.unit),
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
        values["amount"] = amount_text(amount)
    return PreconditionFailed(
        "administration.dose_mismatch",
        message % values,
        field="quantity",
        rule="R8",
        extra={
            **_order_refusal_extra(order, left),
            "mismatch": DoseMismatch.UNIT if amount is None else DoseMismatch.AMOUNT,
            "ordered_dose": quantity_text(order.dose),
            "amount": quantity_text(amount) if amount is not None else None,
            "quantity": quantity_text(quantity),
            "medicine_unit": medicine.unit,
        },
    )
