"""The physician's pages: her orders waiting for confirmation, confirm, mark
the prescription sent; reject or correct a phone order as it was taken down;
a written order (the only way to order a §4 medicine). Reads and writes go
through the clinical selectors and services, which gate and audit them
exactly as the API does."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from acute.clinical import services
from acute.clinical.forms import order_details_from
from acute.clinical.models import MedicationOrder, PhysicianAlert
from acute.clinical.selectors import (
    alert_access,
    order_access_for_physician,
    order_allowance,
    own_order_visit,
    physician_alerts_open,
    physician_orders,
    physician_visits,
    visit_access,
)
from acute.models import Visit
from consent.audit.services import Action
from core.errors import InvalidInput, PlatformError
from core.form_once import once_per_form
from core.models import Citizen, Role
from core.pages import page_actor, render_page
from core.permissions import page, serves
from core.refusals import Concerns
from core.validation import row_id

# What the pages on one order are about: a role refused there is an attempt
# on the order's citizen (R9).
ORDER = Concerns("MedicationRequest", MedicationOrder, path="order_id")


def _orders_page(request: HttpRequest, error: PlatformError | None = None) -> HttpResponse:
    actor = page_actor(request)
    orders = physician_orders(actor=actor)
    # A critical result, a reminder or an overdue prescription addressed to
    # her (or to her organisation): she sees it here and says she has seen it.
    alerts = physician_alerts_open(actor=actor)
    # Names for the listed orders and alerts in one query: the selectors have
    # already audited one entry per citizen in each list.
    citizens = Citizen.objects.only("given_name", "family_name").in_bulk(
        {o.citizen_id for o in orders} | {a.citizen_id for a in alerts}
    )
    for order in orders:
        order.citizen = citizens[order.citizen_id]
    for alert in alerts:
        alert.citizen = citizens[alert.citizen_id]
    waiting = [o for o in orders if o.status == MedicationOrder.Status.AWAITING_CONFIRMATION]
    # Confirmed orders, and cancelled ones after doses were given against
    # them: those doses are prescribed all the same (R8).
    prescriptions = [
        o
        for o in orders
        if o.prescription_status == MedicationOrder.PrescriptionStatus.PENDING
        and (
            o.status == MedicationOrder.Status.CONFIRMED
            or (o.status == MedicationOrder.Status.CANCELLED and getattr(o, "given_total", 0) > 0)
        )
    ]
    # Confirmed orders whose prescription is sent and that still allow a dose:
    # she can stop them at any time (R8), so they stay on her page with the
    # stop beside them (the others above carry it too).
    in_force = [
        o
        for o in orders
        if o.status == MedicationOrder.Status.CONFIRMED
        and o.prescription_status == MedicationOrder.PrescriptionStatus.SENT
        and _still_allows_a_dose(o)
    ]
    done = [o for o in orders if o not in waiting and o not in prescriptions and o not in in_force][
        :20
    ]
    return render_page(
        request,
        "clinical/physician_orders.html",
        {
            "alerts": alerts,
            "waiting": waiting,
            "prescriptions": prescriptions,
            "in_force": in_force,
            "done": done,
        },
        error=error,
    )


def _still_allows_a_dose(order: MedicationOrder) -> bool:
    """Its days are not over and not all of it is given (from the list's sums)."""
    left = order_allowance(order)
    return not left.ended and left.remaining_in_all > 0


# Another role refused here is recorded (R9): the page lists her orders and
# alerts, which name citizens, as the API's lists do.
@page(Role.PHYSICIAN, concerns=Concerns("MedicationRequest", action="search"))
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
        order = order_access_for_physician(actor=actor, order_id=order_id, action=Action.UPDATE)
        step(actor=actor, order=order)
    except PlatformError as exc:
        return _orders_page(request, exc)
    messages.success(request, done)
    return redirect("physician-orders")


@page(Role.PHYSICIAN, concerns=ORDER)
@serves("POST")
@once_per_form
def order_confirm(request: HttpRequest, order_id: int) -> HttpResponse:
    return _own_order_step(
        request, order_id, services.medication_order_confirm, _("Order confirmed.")
    )


@page(Role.PHYSICIAN, concerns=ORDER)
@serves("POST")
@once_per_form
def prescription_sent(request: HttpRequest, order_id: int) -> HttpResponse:
    return _own_order_step(
        request, order_id, services.prescription_mark_sent, _("Prescription marked as sent.")
    )


@page(Role.PHYSICIAN, concerns=ORDER)
@serves("POST")
@once_per_form
def order_reject(request: HttpRequest, order_id: int) -> HttpResponse:
    """The physician rejects her phone order as it was taken down, before she
    confirmed it: no dose may be given against it from now on, and the nurse
    sees why. A confirmed order is stopped, not rejected."""
    return _own_order_step(
        request,
        order_id,
        partial(services.medication_order_reject, reason=request.POST.get("reason", "")),
        _("Order rejected. No dose can be given against it."),
    )


@page(Role.PHYSICIAN, concerns=ORDER)
@serves("POST")
@once_per_form
def order_stop(request: HttpRequest, order_id: int) -> HttpResponse:
    """The physician stops her order with a reason — after an adverse
    reaction, say — whatever its prescription's status: no further dose may
    be given against it; the prescription for the doses given stands."""
    return _own_order_step(
        request,
        order_id,
        partial(services.medication_order_cancel, reason=request.POST.get("reason", "")),
        _("Order stopped. No further dose can be given against it."),
    )


@page(Role.PHYSICIAN, concerns=Concerns("Flag", PhysicianAlert, path="alert_id"))
@serves("POST")
@once_per_form
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    """She has seen the alert (a critical result: she acts on it by phone);
    the nurse's warning on the visit ends with it."""
    actor = page_actor(request)
    try:
        alert = alert_access(actor=actor, alert_id=alert_id)
        services.physician_alert_acknowledge(actor=actor, alert=alert)
    except PlatformError as exc:
        return _orders_page(request, exc)
    messages.success(request, _("Alert marked as seen."))
    return redirect("physician-orders")


# --- the written order, and a phone order corrected in writing ------------------

ORDER_FIELD_NAMES = {"visit": "visit_id"}


def _written_form(
    request: HttpRequest,
    *,
    error: PlatformError | None = None,
    order: MedicationOrder | None = None,
) -> HttpResponse:
    """The written order's form; correcting, it starts from the phone order's
    details. A refusal keeps everything typed and marks each refused field."""
    actor = page_actor(request)
    start: dict[str, str] = {}
    if order is not None:
        start = {
            "medicine_atc": order.medicine_atc,
            "medicine_name": order.medicine_name,
            "dose": f"{order.dose.normalize():f}",
            "dose_unit": order.dose_unit,
            "route": order.route,
            "frequency": order.frequency,
            "duration": order.duration,
            "indication": order.indication,
            "doses_per_day": str(order.doses_per_day or ""),
            "duration_days": str(order.duration_days or ""),
        }
    return render_page(
        request,
        "clinical/written_order.html",
        {
            "order": order,
            "visits": physician_visits(actor=actor) if order is None else [],
            "start": start,
        },
        error=error,
        field_names=ORDER_FIELD_NAMES,
    )


@page(Role.PHYSICIAN, concerns=Concerns("MedicationRequest", Visit, body="visit_id"))
@once_per_form
@serves("GET", "POST")
def written_order(request: HttpRequest) -> HttpResponse:
    """A written electronic order on one of the open visits she may reach."""
    if request.method != "POST":
        return _written_form(request)
    actor = page_actor(request)
    try:
        visit_id = row_id(request.POST.get("visit_id"))
        if not visit_id:
            raise InvalidInput("order.visit_required", _("Choose the visit."), field="visit_id")
        visit = visit_access(actor=actor, visit_id=visit_id, action=Action.CREATE, own_visit=False)
        services.written_order_record(
            actor=actor, visit=visit, details=order_details_from(request.POST)
        )
    except PlatformError as exc:
        return _written_form(request, error=exc)
    messages.success(request, _("Written order saved. The nurse can give it now."))
    return redirect("physician-orders")


@page(Role.PHYSICIAN, concerns=ORDER)
@once_per_form
@serves("GET", "POST")
def order_correct(request: HttpRequest, order_id: int) -> HttpResponse:
    """Her phone order corrected: cancelled with her reason, and the order as
    she meant it entered in writing on the same visit, in one step."""
    actor = page_actor(request)
    action = Action.UPDATE if request.method == "POST" else Action.READ
    try:
        order = order_access_for_physician(actor=actor, order_id=order_id, action=action)
    except PlatformError as exc:
        return _orders_page(request, exc)
    if request.method != "POST":
        return _written_form(request, order=order)
    try:
        services.medication_order_correct(
            actor=actor,
            order=order,
            visit=own_order_visit(order=order),
            details=order_details_from(request.POST),
            reason=request.POST.get("reason", ""),
        )
    except PlatformError as exc:
        return _written_form(request, error=exc, order=order)
    messages.success(request, _("Order corrected. The corrected order is in force."))
    return redirect("physician-orders")
