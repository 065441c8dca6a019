"""What an order form posts, read into :class:`OrderDetails`: the nurse's
phone order on the visit page and the physician's written order and
correction read the same fields the same way: every number as a person
types it (:func:`core.validation.typed_number`)."""

from __future__ import annotations

from collections.abc import Mapping

from acute.clinical.services import OrderDetails
from core.validation import TypedNumber, typed_number


def _number(raw: str | None) -> TypedNumber | None:
    """A number field as typed; None when left empty."""
    return typed_number(raw) or None


def order_details_from(post: Mapping[str, str]) -> OrderDetails:
    """The order's details as typed; the service checks them (R8)."""
    return OrderDetails(
        medicine_atc=post.get("medicine_atc", "").strip().upper(),
        medicine_name=post.get("medicine_name", "").strip(),
        dose=typed_number(post.get("dose")),
        dose_unit=post.get("dose_unit", "").strip(),
        route=post.get("route", "").strip(),
        frequency=post.get("frequency", "").strip(),
        duration=post.get("duration", "").strip(),
        indication=post.get("indication", "").strip(),
        doses_per_day=_number(post.get("doses_per_day")),
        duration_days=_number(post.get("duration_days")),
        total_quantity=_number(post.get("total_quantity")),
    )
