"""The medicine officer's pages (*lægemiddelansvarlig*): stock by location and
lot, expiring lots, open notifications (discrepancies, recalls, low stock),
counts to do, a count, receiving a delivery, recalling a lot.

The cabinet holds no citizen data; every write goes through the cabinet's
services, which check the role and location and record the audit entry. The
one page that names citizens is a recalled lot's: who received a dose from
it, each citizen listed recorded in the audit log on every view (R9).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor
from core.errors import InvalidInput, PlatformError
from core.form_once import once_per_form
from core.models import Organisation, Role
from core.pages import page_actor, render_page
from core.permissions import page, serves
from core.refusals import ByAction
from core.times import typed_day
from core.validation import is_digits, row_id
from medicine_cabinet import selectors, services
from medicine_cabinet.models import CountLine, CountReason, Location, Lot, Medicine, StockCount
from medicine_cabinet.refusals import MOVES_STOCK, SEES_RECALLED_DOSES

EXPIRY_HORIZON_DAYS = 90


def acting_organisation(actor: Actor) -> Organisation:
    """The organisation the page's user acts for; refused when she acts for none."""
    organisation = actor.organisation
    if organisation is None:
        raise InvalidInput("cabinet.no_organisation", "Act for the acute function.")
    return organisation


def _stock_page(request: HttpRequest, error: PlatformError | None = None) -> HttpResponse:
    actor = page_actor(request)
    organisation = acting_organisation(actor)
    today = timezone.localdate()
    horizon = today + dt.timedelta(days=EXPIRY_HORIZON_DAYS)
    balances = list(selectors.stock_by_location(organisation=organisation))
    by_location: dict[int, tuple[Location, list[Any]]] = {}
    for balance in balances:
        by_location.setdefault(balance.location_id, (balance.location, []))[1].append(balance)
    return render_page(
        request,
        "medicine_cabinet/stock.html",
        {
            "balances": balances,
            "by_location": list(by_location.values()),
            "expiring": selectors.expiring_lots(balances, until=horizon),
            "below_minimum": selectors.below_minimum(organisation=organisation, today=today),
            "today": today,
            "notifications": list(selectors.notifications_open(organisation=organisation)),
            "cabinets": [
                loc
                for loc in selectors.locations_list(organisation=organisation)
                if loc.kind == Location.Kind.CABINET
            ],
            "medicines": Medicine.objects.order_by("name", "strength"),
            "lots": sorted({b.lot for b in balances}, key=lambda lot: (lot.medicine.name, lot.pk)),
            "values": request.POST,
        },
        error=error,
    )


@page(Role.MEDICINE_OFFICER)
def stock(request: HttpRequest) -> HttpResponse:
    return _stock_page(request)


def _id(raw: str | None) -> int:
    """A row id from a form field; anything else is no row (a 4xx, never a 500)."""
    return int(raw) if raw and is_digits(raw) else 0


def _parse_date(raw: str, field: str) -> dt.date:
    """A date typed on the cabinet's page: YYYY-MM-DD only (core.times), never
    20261208 or 2026-W50-1 read as some day."""
    day = typed_day(raw)
    if day is None:
        raise InvalidInput("date.invalid", _("Give the date as YYYY-MM-DD."), field=field)
    return day


def _witness(request: HttpRequest) -> services.WitnessCredentials | None:
    """§4: the colleague beside the officer signs with her own username and
    password; the service checks them (throttled like a login, a refusal
    recorded as a denied attempt) and judges whether she may witness and
    whether the medicine needs one."""
    return services.WitnessCredentials.from_form(request.POST, request.META.get("REMOTE_ADDR"))


@page(Role.MEDICINE_OFFICER, concerns=MOVES_STOCK)
@serves("POST")
@once_per_form
def receive(request: HttpRequest) -> HttpResponse:
    """A delivery from the pharmacy into a cabinet (*modtagelse*)."""
    actor = page_actor(request)
    post = request.POST
    try:
        organisation = acting_organisation(actor)
        cabinet = selectors.location_get(
            organisation=organisation, location_id=_id(post.get("cabinet"))
        )
        medicine = selectors.medicine_get(medicine_id=_id(post.get("medicine")))
        services.stock_receive(
            actor=actor,
            cabinet=cabinet,
            medicine=medicine,
            batch_number=post.get("batch_number", "").strip(),
            expires_on=_parse_date(post.get("expires_on", ""), "expires_on"),
            quantity=services.quantity_parse(post.get("quantity", ""), typed=True),
            unit=medicine.unit,
            supplier=post.get("supplier", "").strip(),
            delivery_reference=post.get("delivery_reference", "").strip(),
            witness=_witness(request),
        )
    except PlatformError as exc:
        return _stock_page(request, exc)
    messages.success(request, _("Delivery received."))
    return redirect("cabinet-stock")


@page(Role.MEDICINE_OFFICER, concerns=SEES_RECALLED_DOSES)
@serves("POST")
@once_per_form
def recall(request: HttpRequest) -> HttpResponse:
    """Recall a lot: it can no longer be given, and the officer is told where it is."""
    actor = page_actor(request)
    try:
        lot = selectors.lot_get(
            organisation=acting_organisation(actor), lot_id=_id(request.POST.get("lot"))
        )
        services.lot_recall(actor=actor, lot=lot, reason=request.POST.get("reason", ""))
    except PlatformError as exc:
        return _stock_page(request, exc)
    messages.warning(request, _("Lot recalled."))
    return redirect("cabinet-recall-detail", lot_id=lot.pk)


@page(Role.MEDICINE_OFFICER, concerns=SEES_RECALLED_DOSES)
@serves("GET")
def recall_detail(request: HttpRequest, lot_id: int) -> HttpResponse:
    """A recalled lot: where it is held and who already received a dose from
    it, to be followed up (their GP told, the citizen observed)."""
    actor = page_actor(request)
    try:
        organisation = acting_organisation(actor)
        lot = selectors.lot_get(organisation=organisation, lot_id=lot_id)
        given = selectors.recall_administrations(actor=actor, organisation=organisation, lot=lot)
    except PlatformError as exc:
        return render_page(request, "medicine_cabinet/recall.html", {}, error=exc)
    return render_page(
        request,
        "medicine_cabinet/recall.html",
        {
            "lot": lot,
            "held_in": selectors.lot_holdings(organisation=organisation, lot=lot),
            "given": given,
        },
    )


# --- counts ----------------------------------------------------------------------


def _counts_page(request: HttpRequest, error: PlatformError | None = None) -> HttpResponse:
    actor = page_actor(request)
    organisation = acting_organisation(actor)
    return render_page(
        request,
        "medicine_cabinet/counts.html",
        {
            "overdue": selectors.counts_overdue(organisation=organisation, now=timezone.now()),
            "open_counts": list(
                selectors.counts_list(organisation=organisation)
                .exclude(status=StockCount.Status.APPROVED)
                .order_by("-started_at")
            ),
            "recent": list(
                selectors.counts_list(
                    organisation=organisation, status=StockCount.Status.APPROVED
                ).order_by("-approved_at")[:10]
            ),
            "locations": selectors.locations_list(organisation=organisation),
        },
        error=error,
    )


@page(Role.MEDICINE_OFFICER)
def counts(request: HttpRequest) -> HttpResponse:
    return _counts_page(request)


@page(Role.MEDICINE_OFFICER)
@serves("POST")
@once_per_form
def count_start(request: HttpRequest) -> HttpResponse:
    """A count of one location started; a refusal (a location not the acute
    function's, a count already open there) is shown on the counts page
    with its 4xx status, as every page form shows one."""
    actor = page_actor(request)
    try:
        location = selectors.location_get(
            organisation=acting_organisation(actor), location_id=_id(request.POST.get("location"))
        )
        count = services.count_start(actor=actor, location=location)
    except PlatformError as exc:
        return _counts_page(request, exc)
    return redirect("cabinet-count", count_id=count.pk)


def _count_page(
    request: HttpRequest, count_id: int, error: PlatformError | None = None
) -> HttpResponse:
    actor = page_actor(request)
    try:
        count = selectors.count_get(organisation=acting_organisation(actor), count_id=count_id)
    except PlatformError as exc:
        return render_page(request, "medicine_cabinet/count.html", {}, error=exc)
    lines = {
        line.lot_id: line
        for line in CountLine.objects.filter(count=count).select_related("lot__medicine")
    }
    held = [
        b.lot
        for b in selectors.stock_by_location(
            organisation=count.location.organisation, location=count.location
        )
    ]
    lots = held + [line.lot for lot_id, line in lines.items() if lot_id not in {x.pk for x in held}]
    rows: list[dict[str, Any]] = [
        {
            "lot": lot,
            "line": lines.get(lot.pk),
            "field": f"lot_{lot.pk}",
            "recount_field": f"recount_{lines[lot.pk].pk}" if lot.pk in lines else "",
            "reason_field": f"reason_{lines[lot.pk].pk}" if lot.pk in lines else "",
        }
        for lot in lots
    ]
    return render_page(
        request,
        "medicine_cabinet/count.html",
        {"count": count, "rows": rows, "reasons": CountReason.choices},
        error=error,
    )


@page(Role.MEDICINE_OFFICER)
def count_detail(request: HttpRequest, count_id: int) -> HttpResponse:
    return _count_page(request, count_id)


# Approving books the count's variances as stock movements: another role
# pressing it tried to move stock, recorded as the API's approval records it.
@page(Role.MEDICINE_OFFICER, concerns=ByAction({"approve": MOVES_STOCK}))
@serves("POST")
@once_per_form
def count_action(request: HttpRequest, count_id: int) -> HttpResponse:
    """The whole count sheet at once: every lot's count and every recount
    typed on the page are saved together (``save``), and submitted with them
    (``submit``); or the submitted count approved (``approve``)."""
    actor = page_actor(request)
    action = request.POST.get("action", "save")
    try:
        count = selectors.count_get(organisation=acting_organisation(actor), count_id=count_id)
        if action in ("save", "submit"):
            services.count_sheet_save(
                actor=actor,
                count=count,
                first_counts=_first_counts(request, count),
                recounts=_recounts(request, count),
                submit=action == "submit",
            )
        elif action == "approve":
            services.count_approve(actor=actor, count=count, witness=_witness(request))
        else:
            raise InvalidInput("count.action_unknown", "Unknown action.", field="action")
    except PlatformError as exc:
        return _count_page(request, count_id, exc)
    if action == "submit":
        messages.success(request, _("Count submitted."))
    return redirect("cabinet-count", count_id=count_id)


def _first_counts(request: HttpRequest, count: StockCount) -> dict[Lot, str]:
    """The first counts typed on the sheet (``lot_<id>``); an empty field is a
    lot not counted yet. A lot the acute function never booked is no lot."""
    typed = {
        row_id(key.removeprefix("lot_")): raw
        for key in request.POST
        if key.startswith("lot_") and (raw := request.POST.get(key, "")).strip()
    }
    lots = (
        selectors.lots_known(organisation=count.location.organisation, lot_ids=list(typed))
        if typed
        else {}
    )
    if len(lots) != len(typed):
        raise InvalidInput("count.lot_unknown", _("No such lot."), field="lot")
    return {lots[lot_id]: raw for lot_id, raw in typed.items()}


def _recounts(request: HttpRequest, count: StockCount) -> list[services.Recount]:
    """The recounts typed on the sheet (``recount_<line>``, with ``reason_<line>``)."""
    post = request.POST
    return [
        services.Recount(
            line=line,
            quantity=post.get(f"recount_{line.pk}", ""),
            reason_code=post.get(f"reason_{line.pk}", ""),
        )
        for line in CountLine.objects.filter(count=count).select_related("count")
        if post.get(f"recount_{line.pk}", "").strip()
    ]
