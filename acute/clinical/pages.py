"""The physician's page: her orders waiting for confirmation, confirm, mark the
prescription sent. Reads and writes go through the clinical selectors and
services, which gate and audit them exactly as the API does."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from acute.clinical.models import MedicationOrder
from acute.clinical.selectors import order_access_for_physician, physician_orders
from acute.clinical.services import medication_order_confirm, prescription_mark_sent
from core.errors import PlatformError
from core.models import Citizen, Role
from core.pages import page_actor, render_page
from core.permissions import page


def _orders_page(request: HttpRequest, error: PlatformError | None = None) -> HttpResponse:
    actor = page_actor(request)
    orders = physician_orders(actor=actor)
    # Names for the listed orders in one query: the selector has already
    # audited one entry per citizen in the list.
    citizens = Citizen.objects.only("given_name", "family_name").in_bulk(
        {o.citizen_id for o in orders}
    )
    for order in orders:
        order.citizen = citizens[order.citizen_id]
    waiting = [o for o in orders if o.status == MedicationOrder.Status.AWAITING_CONFIRMATION]
    prescriptions = [
        o
        for o in orders
        if o.status == MedicationOrder.Status.CONFIRMED
        and o.prescription_status == MedicationOrder.PrescriptionStatus.PENDING
    ]
    done = [o for o in orders if o not in waiting and o not in prescriptions][:20]
    return render_page(
        request,
        "clinical/physician_orders.html",
        {"waiting": waiting, "prescriptions": prescriptions, "done": done},
        error=error,
    )


@page(Role.PHYSICIAN)
def physician_orders_page(request: HttpRequest) -> HttpResponse:
    return _orders_page(request)


def _own_order_step(
    request: HttpRequest,
    order_id: int,
    step: Callable[..., MedicationOrder],
    done: str,
) -> HttpResponse:
    """A step the physician takes on her own order from her page: done, she is
    sent back to the page with ``done``; refused, the page shows why."""
    actor = page_actor(request)
    try:
        order = order_access_for_physician(actor=actor, order_id=order_id)
        step(actor=actor, order=order)
    except PlatformError as exc:
        return _orders_page(request, exc)
    messages.success(request, done)
    return redirect("physician-orders")


@page(Role.PHYSICIAN)
@require_POST
def order_confirm(request: HttpRequest, order_id: int) -> HttpResponse:
    return _own_order_step(request, order_id, medication_order_confirm, _("Order confirmed."))


@page(Role.PHYSICIAN)
@require_POST
def prescription_sent(request: HttpRequest, order_id: int) -> HttpResponse:
    return _own_order_step(
        request, order_id, prescription_mark_sent, _("Prescription marked as sent.")
    )
