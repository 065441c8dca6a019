"""What every cabinet endpoint shares: the roles, the witness of a §4
movement, quantities, and the JSON shapes of what the cabinet holds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from core.actors import Actor
from core.errors import Forbidden
from core.models import Organisation, Role, User
from medicine_cabinet import selectors, services
from medicine_cabinet.models import (
    Balance,
    CountLine,
    Location,
    Medicine,
    Movement,
    Notification,
    StockCount,
)

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


def _witness(request: Request, data: dict[str, Any]) -> User | None:
    given = data.get("witness")
    if not given:
        return None
    return services.witness_verify(
        username=given["username"],
        password=given["password"],
        client_address=request.META.get("REMOTE_ADDR"),
    )


class QuantityField(serializers.Field[Any, Any, Any, Any]):
    """An exact decimal: a string or a whole number; floats are refused."""

    def to_internal_value(self, data: Any) -> Any:
        return services.quantity_parse(data, field=self.field_name or "quantity")

    def to_representation(self, value: Any) -> str:
        return str(value)


# --- read shapes ------------------------------------------------------------------


def _plain(value: Decimal) -> str:
    """An exact amount without trailing zeros: ``500``, ``0.5``."""
    return format(value.normalize(), "f")


def medicine_json(m: Medicine) -> dict[str, Any]:
    return {
        "id": m.pk,
        "atc_code": m.atc_code,
        "name": m.name,
        "strength": m.strength,
        "form": m.form,
        "unit": m.unit,
        "package_size": str(m.package_size),
        "dispensing": m.dispensing,
        "dependence_forming": m.dependence_forming,
        "minimum_stock": str(m.minimum_stock),
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


def balance_json(b: Balance) -> dict[str, Any]:
    return {
        "location": {"id": b.location_id, "name": b.location.name, "kind": b.location.kind},
        "lot": {
            "id": b.lot_id,
            "batch_number": b.lot.batch_number,
            "expires_on": b.lot.expires_on.isoformat(),
            "recalled": b.lot.is_recalled,
        },
        "medicine": {"id": b.lot.medicine_id, "name": str(b.lot.medicine)},
        "quantity": str(b.quantity),
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
        "quantity": str(m.quantity),
        "balance_before": str(m.balance_before),
        "balance_after": str(m.balance_after),
    }


def movement_json(m: Movement) -> dict[str, Any]:
    """A ledger entry as the history shows it: with when, where, who and why."""
    return {
        **_plain_movement_json(m),
        "at": m.at.isoformat(),
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
        "started_at": c.started_at.isoformat(),
        "submitted_at": c.submitted_at.isoformat() if c.submitted_at else None,
        "approved_at": c.approved_at.isoformat() if c.approved_at else None,
        "lines": [line_json(line) for line in c.lines.all()],
    }


def line_json(line: CountLine) -> dict[str, Any]:
    return {
        "id": line.pk,
        "lot": line.lot_id,
        "counted_quantity": str(line.counted_quantity),
        "balance_at_count": str(line.balance_at_count),
        "recounted_quantity": (
            str(line.recounted_quantity) if line.recounted_quantity is not None else None
        ),
        "balance_at_recount": (
            str(line.balance_at_recount) if line.balance_at_recount is not None else None
        ),
        "needs_recount": line.needs_recount,
        "variance": str(line.variance),
        "reason_code": line.reason_code,
    }


def notification_json(n: Notification) -> dict[str, Any]:
    return {
        "id": n.pk,
        "kind": n.kind,
        "message": n.message,
        "created_at": n.created_at.isoformat(),
        "medicine": n.medicine_id,
        "lot": n.lot_id,
        "location": n.location_id,
        "count": n.stock_count_id,
    }
