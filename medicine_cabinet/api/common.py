"""What every cabinet endpoint shares: the roles, the witness of a §4
movement, quantities, and the JSON shapes of what the cabinet holds."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.request import Request

from core.actors import Actor
from core.api import decimal_text
from core.errors import Forbidden
from core.models import Organisation, Role
from core.openapi import Reference, decimal_forms
from core.times import api_instant
from core.validation import DecimalBounds
from medicine_cabinet import selectors, services
from medicine_cabinet.models import (
    Administration,
    Balance,
    CountLine,
    CountReason,
    Location,
    Medicine,
    Movement,
    Notification,
    StockCount,
)

if TYPE_CHECKING:
    # Named only in a signature.
    from medicine_cabinet.models import Lot

OFFICER = Role.MEDICINE_OFFICER
NURSE = Role.ACUTE_NURSE
COORDINATOR = Role.COORDINATOR


def _organisation(actor: Actor) -> Organisation:
    organisation = actor.organisation
    if organisation is None or organisation.kind != Organisation.Kind.ACUTE_FUNCTION:
        raise Forbidden("cabinet.not_acute_function", "Only the acute function keeps this stock.")
    return organisation


def _location(actor: Actor, location_id: int) -> Location:
    """A cabinet or bag of the caller's acute function ("not found" otherwise)."""
    return selectors.location_get(organisation=_organisation(actor), location_id=location_id)


class WitnessInput(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


def _witness(request: Request, data: dict[str, Any]) -> services.WitnessCredentials | None:
    """The body's ``witness``, checked by the service, where a refused witness
    is recorded as a denied attempt."""
    given = data.get("witness")
    if not given:
        return None
    return services.WitnessCredentials(
        username=given["username"],
        password=given["password"],
        client_address=request.META.get("REMOTE_ADDR"),
    )


class QuantityField(serializers.Field[Any, Any, Any, Any]):
    """An exact decimal: a string or a whole number; floats are refused
    (:func:`medicine_cabinet.services.quantity_parse`). ``bounds``: the column
    it is kept in, when not a movement's quantity (a count, a minimum stock)."""

    def __init__(self, *, bounds: DecimalBounds | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bounds = bounds or services.QUANTITY

    def to_internal_value(self, data: Any) -> Any:
        return services.quantity_parse(
            data, field=self.field_name or "quantity", bounds=self.bounds
        )

    def to_representation(self, value: Any) -> str:
        return str(value)


class QuantityScheme(OpenApiSerializerFieldExtension):
    """A quantity as :func:`services.quantity_parse` reads it against the
    field's column: an exact decimal as text, or a whole number."""

    target_class = QuantityField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        number, text = decimal_forms(self.target.bounds, whole_numbers_only=True)
        text["description"] = f"An exact decimal, e.g. `0.5`. {text['description']}"
        if direction != "request":
            return {k: v for k, v in text.items() if k != "pattern"}
        return {"oneOf": [text, number]}


# --- read shapes ------------------------------------------------------------------


def _plain(value: Decimal) -> str:
    """An exact amount without trailing zeros: ``500``, ``0.5``."""
    return format(value.normalize(), "f")


# Stock quantities are kept to three decimals (the ledger's columns); an
# answer writes them so, whether the row was just booked or read again.
STOCK_QUANTUM = Decimal("0.001")


def stock_amount(value: Decimal) -> str:
    """A stock quantity as the API writes it: ``"0.500"``, ``"10.000"``."""
    return format(Decimal(value).quantize(STOCK_QUANTUM), "f")


def medicine_json(m: Medicine) -> dict[str, Any]:
    return {
        "id": m.pk,
        "atc_code": m.atc_code,
        "name": m.name,
        "strength": m.strength,
        "form": m.form,
        "unit": m.unit,
        "package_size": stock_amount(m.package_size),
        "dispensing": m.dispensing,
        # §4 as every movement is judged: by the mark or by the rules' ATC codes.
        "dependence_forming": services.needs_witness(m),
        "minimum_stock": stock_amount(m.minimum_stock),
        "amount_per_unit": _plain(m.amount_per_unit) if m.amount_per_unit is not None else None,
        "amount_unit": m.amount_unit,
        "is_active": m.is_active,
    }


def location_json(loc: Location) -> dict[str, Any]:
    return {
        "id": loc.pk,
        "kind": loc.kind,
        "name": loc.name,
        "nurse": loc.nurse.username if loc.nurse else None,
        "count_interval_days": loc.count_interval_days,
    }


def lot_json(lot: Lot) -> dict[str, Any]:
    """A lot as :class:`LotOut` describes it; the answers that say more of it add to this."""
    return {
        "id": lot.pk,
        "batch_number": lot.batch_number,
        "expires_on": lot.expires_on.isoformat(),
    }


def balance_json(b: Balance) -> dict[str, Any]:
    return {
        "location": {"id": b.location_id, "name": b.location.name, "kind": b.location.kind},
        "lot": {**lot_json(b.lot), "recalled": b.lot.is_recalled},
        "medicine": {"id": b.lot.medicine_id, "name": str(b.lot.medicine)},
        "quantity": stock_amount(b.quantity),
        "unit": b.lot.medicine.unit,
    }


def _plain_movement_json(m: Movement) -> dict[str, Any]:
    """A ledger entry as a write answers it: what moved, and the balance it left."""
    return {
        "id": m.pk,
        "kind": m.kind,
        "direction": m.direction,
        "location": m.location_id,
        "lot": m.lot_id,
        "quantity": stock_amount(m.quantity),
        "balance_before": stock_amount(m.balance_before),
        "balance_after": stock_amount(m.balance_after),
    }


def movement_json(m: Movement) -> dict[str, Any]:
    """A ledger entry as the history shows it: with when, where, who and why."""
    return {
        **_plain_movement_json(m),
        "at": api_instant(m.at),
        "location": {"id": m.location_id, "name": m.location.name},
        "by": m.by.username,
        "witness": m.witness.username if m.witness else None,
        "transfer_id": str(m.transfer_id) if m.transfer_id else None,
        "supplier": m.supplier,
        "delivery_reference": m.delivery_reference,
        "reason_code": m.reason_code,
        "note": m.note,
    }


def count_json(c: StockCount) -> dict[str, Any]:
    return {
        "id": c.pk,
        "location": {"id": c.location_id, "name": c.location.name},
        "status": c.status,
        "has_discrepancy": c.has_discrepancy,
        "started_at": api_instant(c.started_at),
        "submitted_at": api_instant(c.submitted_at),
        "approved_at": api_instant(c.approved_at),
        "lines": [line_json(line) for line in c.lines.all()],
    }


def line_json(line: CountLine) -> dict[str, Any]:
    return {
        "id": line.pk,
        "lot": line.lot_id,
        "counted_quantity": stock_amount(line.counted_quantity),
        "balance_at_count": stock_amount(line.balance_at_count),
        "recounted_quantity": (
            stock_amount(line.recounted_quantity) if line.recounted_quantity is not None else None
        ),
        "balance_at_recount": (
            stock_amount(line.balance_at_recount) if line.balance_at_recount is not None else None
        ),
        "needs_recount": line.needs_recount,
        "variance": stock_amount(line.variance),
        "reason_code": line.reason_code,
    }


def recall_dose_json(a: Administration) -> dict[str, Any]:
    """A dose given from a recalled lot, with what following it up takes:
    the citizen by id, name and masked CPR number, never the number itself."""
    return {
        "id": a.pk,
        "administered_at": api_instant(a.administered_at),
        "quantity": stock_amount(a.quantity),
        "unit": a.unit,
        "citizen": {
            "id": a.citizen_id,
            "name": a.citizen.full_name,
            "masked_cpr": a.citizen.masked_cpr,
        },
        "nurse": a.by.display_name,
        "visit": a.visit_id,
        "referral": a.visit.referral_id,
        "order": a.order_id,
        "ordered_by": a.order.ordered_by_name,
    }


def notification_json(n: Notification) -> dict[str, Any]:
    return {
        "id": n.pk,
        "kind": n.kind,
        "message": n.message,
        "created_at": api_instant(n.created_at),
        "medicine": n.medicine_id,
        "lot": n.lot_id,
        "location": n.location_id,
        "count": n.stock_count_id,
    }


# --- the same shapes for the OpenAPI description (core/openapi.py) ---------------------
# Quantities are exact decimals written as text ("0.5"), never floats.


class MedicineOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    atc_code = serializers.CharField()
    name = serializers.CharField()
    strength = serializers.CharField()
    form = serializers.CharField()
    unit = serializers.CharField()
    package_size = decimal_text()
    dispensing = serializers.ChoiceField(choices=Medicine.Dispensing.choices)
    dependence_forming = serializers.BooleanField()
    minimum_stock = decimal_text()
    amount_per_unit = decimal_text(allow_null=True)
    amount_unit = serializers.CharField(allow_blank=True)
    is_active = serializers.BooleanField()


class LocationOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Location.Kind.choices)
    name = serializers.CharField()
    nurse = serializers.CharField(allow_null=True, help_text="A bag's nurse (username).")
    count_interval_days = serializers.IntegerField()


class LocationRefOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class LocationKindRefOut(LocationRefOut):
    kind = serializers.ChoiceField(choices=Location.Kind.choices)


class LotOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    batch_number = serializers.CharField()
    expires_on = serializers.DateField()


class BalanceLotOut(LotOut):
    recalled = serializers.BooleanField()


class BalanceOut(serializers.Serializer[Any]):
    location = LocationKindRefOut()
    lot = BalanceLotOut()
    medicine = Reference()
    quantity = decimal_text()
    unit = serializers.CharField()


class MovementOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=Movement.Kind.choices)
    direction = serializers.ChoiceField(choices=Movement.Direction.choices)
    location = LocationRefOut()
    lot = serializers.IntegerField()
    quantity = decimal_text()
    balance_before = decimal_text()
    balance_after = decimal_text()
    by = serializers.CharField(help_text="Username.")
    witness = serializers.CharField(allow_null=True, help_text="The §4 witness's username.")
    transfer_id = serializers.UUIDField(allow_null=True)
    supplier = serializers.CharField(allow_blank=True)
    delivery_reference = serializers.CharField(allow_blank=True)
    reason_code = serializers.CharField(allow_blank=True)
    note = serializers.CharField(allow_blank=True)


class PlainMovementOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Movement.Kind.choices)
    direction = serializers.ChoiceField(choices=Movement.Direction.choices)
    location = serializers.IntegerField()
    lot = serializers.IntegerField()
    quantity = decimal_text()
    balance_before = decimal_text()
    balance_after = decimal_text()


class CountLineOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    lot = serializers.IntegerField()
    counted_quantity = decimal_text()
    balance_at_count = decimal_text()
    recounted_quantity = decimal_text(allow_null=True)
    balance_at_recount = decimal_text(allow_null=True)
    needs_recount = serializers.BooleanField()
    variance = decimal_text()
    reason_code = serializers.ChoiceField(choices=CountReason.choices, allow_blank=True)


class CountOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    location = LocationRefOut()
    status = serializers.ChoiceField(choices=StockCount.Status.choices)
    has_discrepancy = serializers.BooleanField()
    started_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    lines = CountLineOut(many=True)


class RecallCitizenOut(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The citizen (Patient id).")
    name = serializers.CharField()
    masked_cpr = serializers.CharField(help_text="The CPR number with its last four digits hidden.")


class RecallDoseOut(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The administration.")
    administered_at = serializers.DateTimeField()
    quantity = decimal_text()
    unit = serializers.CharField()
    citizen = RecallCitizenOut()
    nurse = serializers.CharField(help_text="Who gave the dose.")
    visit = serializers.IntegerField()
    referral = serializers.IntegerField(
        allow_null=True, help_text="The referral the visit answers; empty for a follow-up."
    )
    order = serializers.IntegerField(help_text="The physician's order the dose was given against.")
    ordered_by = serializers.CharField(help_text="The physician who gave the order.")


class NotificationOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Notification.Kind.choices)
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    medicine = serializers.IntegerField(allow_null=True)
    lot = serializers.IntegerField(allow_null=True)
    location = serializers.IntegerField(allow_null=True)
    count = serializers.IntegerField(allow_null=True)
