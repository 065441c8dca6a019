"""What an order form posts, read into :class:`OrderDetails`: the nurse's
phone order on the visit page and the physician's written order and
correction read the same fields the same way (a decimal comma is a dot)."""

from __future__ import annotations

from collections.abc import Mapping

from acute.clinical.services import OrderDetails


def _decimal_text(raw: str | None) -> str:
    return (raw or "").replace(",", ".").strip()


def order_details_from(post: Mapping[str, str]) -> OrderDetails:
    """The order's details as typed; the service checks them (R8)."""
    return OrderDetails(
        medicine_atc=post.get("medicine_atc", "").strip().upper(),
        medicine_name=post.get("medicine_name", "").strip(),
        dose=_decimal_text(post.get("dose")),
        dose_unit=post.get("dose_unit", "").strip(),
        route=post.get("route", "").strip(),
        frequency=post.get("frequency", "").strip(),
        duration=post.get("duration", "").strip(),
        indication=post.get("indication", "").strip(),
        doses_per_day=post.get("doses_per_day", "").strip() or None,
        duration_days=post.get("duration_days", "").strip() or None,
        total_quantity=_decimal_text(post.get("total_quantity")) or None,
    )
