"""The acute nurse's bag on her tablet (*min taske*, R8): what it holds, the
cabinet's lots she may take from (earliest expiry first), and two forms —
take a quantity of a lot into the bag (*udtag*), return a quantity to a
cabinet.

Both forms book through :func:`medicine_cabinet.services.stock_transfer`,
the service ``POST /api/cabinet/transfers`` calls, so every rule holds the
same on both doors: her own bag only, filled only on her shift (or in the 30
minutes before it), whole units, enough stock, and a §4 medicine only with a
witness on duty, who signs with her own username and password, checked and
throttled like a login. Stock is not citizen data: the reads are not in the
audit log; every movement is in the ledger and the audit log, and so is a
refused one — also another role's attempt at either form.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from core.errors import InvalidInput, PlatformError
from core.form_once import once_per_form
from core.models import Role
from core.pages import page_actor, render_page
from core.permissions import page, serves
from core.validation import row_id
from medicine_cabinet import selectors, services
from medicine_cabinet.models import Location, Lot, Movement
from medicine_cabinet.pages import acting_organisation
from medicine_cabinet.refusals import MOVES_STOCK

TAKE = "take"
RETURN = "return"

# The service names the lot ``lot``; the take form chooses a cabinet's lot
# in one list (``stock``: ``<cabinet>:<lot>``).
TAKE_FIELDS = {"lot": "stock", "from_location": "stock"}
RETURN_FIELDS = {"to_location": "cabinet"}


def _bag_page(
    request: HttpRequest, error: PlatformError | None = None, refused: str = ""
) -> HttpResponse:
    actor = page_actor(request)
    organisation = acting_organisation(actor)
    bag = services.bag_for_nurse(organisation=organisation, nurse=actor.user)  # type: ignore[arg-type]
    today = timezone.localdate()
    held = list(selectors.stock_by_location(organisation=organisation, location=bag))
    to_take = selectors.cabinet_lots_to_take(organisation=organisation, today=today)
    return render_page(
        request,
        "medicine_cabinet/bag.html",
        {
            "bag": bag,
            "held": [(b, services.needs_witness(b.lot.medicine)) for b in held],
            "to_take": [
                (b, services.needs_witness(b.lot.medicine), f"{b.location_id}:{b.lot_id}")
                for b in to_take
            ],
            "cabinets": [
                location
                for location in selectors.locations_list(organisation=organisation)
                if location.kind == Location.Kind.CABINET
            ],
            "today": today,
            "refused": refused,
        },
        error=error,
        field_names=TAKE_FIELDS if refused == TAKE else RETURN_FIELDS,
    )


@page(Role.ACUTE_NURSE)
@serves("GET")
def nurse_bag(request: HttpRequest) -> HttpResponse:
    return _bag_page(request)


def _witness(request: HttpRequest) -> services.WitnessCredentials | None:
    """§4: the colleague beside her signs with her own username and password;
    the service checks them (a refusal recorded as a denied attempt) and
    judges whether she may witness, whether she is on duty and whether the
    medicine needs one."""
    return services.WitnessCredentials.from_form(request.POST, request.META.get("REMOTE_ADDR"))


def _take_choice(raw: str) -> tuple[int, int]:
    """``<cabinet>:<lot>`` from the take form's list; anything else is no lot."""
    cabinet, _sep, lot = raw.partition(":")
    return row_id(cabinet), row_id(lot)


def _moved(movement: Movement, lot: Lot) -> dict[str, str]:
    return {
        "quantity": formats.number_format(
            format(movement.quantity.normalize(), "f"), use_l10n=True
        ),
        "unit": _(lot.medicine.unit),
        "medicine": str(services.medicine_label(lot.medicine)),
        "lot": lot.batch_number,
    }


@page(Role.ACUTE_NURSE, concerns=MOVES_STOCK)
@serves("POST")
@once_per_form
def bag_take(request: HttpRequest) -> HttpResponse:
    """A quantity of a cabinet's lot into her own bag (*udtag*)."""
    cabinet_id, lot_id = _take_choice(request.POST.get("stock", ""))
    return _transfer(
        request,
        lot_id=lot_id,
        cabinet_id=cabinet_id,
        chosen=bool(cabinet_id and lot_id),
        lot_field="stock",
        into_bag=True,
        refused=TAKE,
        done=_("Taken into your bag: %(quantity)s %(unit)s %(medicine)s, lot %(lot)s."),
    )


@page(Role.ACUTE_NURSE, concerns=MOVES_STOCK)
@serves("POST")
@once_per_form
def bag_return(request: HttpRequest) -> HttpResponse:
    """A quantity of a lot in her bag back to a cabinet."""
    lot_id = row_id(request.POST.get("lot"))
    return _transfer(
        request,
        lot_id=lot_id,
        cabinet_id=row_id(request.POST.get("cabinet")),
        chosen=bool(lot_id),
        lot_field="lot",
        into_bag=False,
        refused=RETURN,
        done=_("Returned to the cabinet: %(quantity)s %(unit)s %(medicine)s, lot %(lot)s."),
    )


def _transfer(
    request: HttpRequest,
    *,
    lot_id: int,
    cabinet_id: int,
    chosen: bool,
    lot_field: str,
    into_bag: bool,
    refused: str,
    done: str,
) -> HttpResponse:
    """Her bag and a cabinet, either way, through the API's service
    (``services.stock_transfer``): a refusal shows the page again with what
    she typed and the message under its field; nothing moves."""
    actor = page_actor(request)
    try:
        organisation = acting_organisation(actor)
        if not chosen:
            raise InvalidInput("transfer.lot_required", _("Choose a lot."), field=lot_field)
        lot = selectors.lot_get(organisation=organisation, lot_id=lot_id)
        cabinet = selectors.location_get(organisation=organisation, location_id=cabinet_id)
        bag = services.bag_for_nurse(organisation=organisation, nurse=actor.user)  # type: ignore[arg-type]
        quantity = services.quantity_parse(request.POST.get("quantity", ""), typed=True)
        source, destination = (cabinet, bag) if into_bag else (bag, cabinet)
        out, _into = services.stock_transfer(
            actor=actor,
            lot=lot,
            source=source,
            destination=destination,
            quantity=quantity,
            unit=lot.medicine.unit,
            witness=_witness(request),
        )
    except PlatformError as exc:
        return _bag_page(request, exc, refused=refused)
    messages.success(request, done % _moved(out, lot))
    return redirect("nurse-bag")
