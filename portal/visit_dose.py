"""The dose from her bag on the visit page (R8): the §4 witness, the
confirmation of a dose that differs from the order, and a dose given while the
tablet had no connection, booked only when the server accepts it and
otherwise flagged for the medicine officer (docs/decisions/0013).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from acute.clinical import selectors as clinical_selectors
from acute.models import Visit, VisitSubmission
from consent.audit.services import Action
from core.errors import InvalidInput, NotFoundOrNotAllowed, PlatformError
from core.models import User
from core.pages import OFFLINE_REPLAY_HEADER, page_actor
from core.refusals import Concerns
from core.times import read_moment, shown
from core.validation import row_id
from medicine_cabinet import selectors as cabinet_selectors
from medicine_cabinet import services as cabinet_services
from medicine_cabinet.models import Medicine
from portal.visit_forms import _once, _received_before, _write_visit, queued_time, tablet_form
from portal.visit_page import _visit_page


def _witness_credentials(request: HttpRequest) -> cabinet_services.WitnessCredentials | None:
    """§4: the witness signs with her own username and password, checked (and
    throttled) like a login by the cabinet's service once the citizen is
    reached, so a wrong one refuses the dose as a denied attempt on her (R9)."""
    return cabinet_services.WitnessCredentials.from_form(
        request.POST, request.META.get("REMOTE_ADDR")
    )


def _as_the_form_says(exc: PlatformError) -> PlatformError:
    """A refused witness, in the words of the dose form (which asks for her
    username and password)."""
    if exc.code == "witness.required":
        message = _("A §4 medicine is given only with a witness: her username and password.")
    elif exc.code == "witness.invalid_credentials":
        message = _("The witness's username or password is wrong. Nothing was given.")
    else:
        return exc
    return InvalidInput(exc.code, message, field="witness")


@tablet_form(Concerns("MedicationAdministration", Visit, path="visit_id"))
def visit_give(request: HttpRequest, visit_id: int) -> HttpResponse:
    """A dose from her bag against an order on this visit (R8); the cabinet's
    service gates the citizen, picks the suggested lot and books the ledger.

    A dose given while the tablet had no connection arrives later with
    ``given_offline_at``: it is booked only if the server accepts it now, with
    the time she gave it in the note and checked against a registered death
    (a dose given before it is booked); if refused, the medicine officer is
    flagged, because the medicine has left her bag without a booking."""

    actor = page_actor(request)
    post = request.POST
    if _received_before(request, actor, visit_id):
        return redirect("nurse-visit", visit_id=visit_id)
    # Sent from her tablet's queue: the medicine has left her bag, whatever
    # the server says now, even when the time it carries cannot be taken.
    queued = (
        bool(post.get("given_offline_at", "").strip())
        and request.headers.get(OFFLINE_REPLAY_HEADER) == "1"
    )
    given_offline_at: dt.datetime | None = None
    medicine: Medicine | None = None
    try:
        # The gate first: a dose on a visit she may not act on is a denied
        # attempt on its citizen (R9), whatever the form says.
        visit = _write_visit(actor, visit_id)
        given_offline_at = queued_time(
            post,
            actor=actor,
            visit=visit,
            action=Action.CREATE,
            resource_type="MedicationAdministration",
        )
        try:
            order_id = int(post.get("order_id", ""))
        except ValueError:
            raise InvalidInput(
                "administration.order_required", _("Choose the order."), field="order"
            ) from None
        order = next(
            (o for o in clinical_selectors.visit_orders(visit=visit) if o.pk == order_id), None
        )
        if order is None:
            raise NotFoundOrNotAllowed()
        medicine = Medicine.objects.filter(
            pk=row_id(post.get("medicine_id")), atc_code=order.medicine_atc
        ).first()
        if medicine is None:
            raise InvalidInput(
                "administration.medicine_not_stocked",
                _("This medicine is not kept in the cabinet."),
                field="order",
            )
        given = medicine
        quantity = cabinet_services.quantity_parse(post.get("quantity", ""), typed=True)
        confirmed = post.get("confirmed_dose", "").strip()
        _once(
            request,
            actor,
            visit,
            VisitSubmission.Form.DOSE,
            lambda: cabinet_services.administration_give(
                actor=actor,
                visit_id=visit_id,
                order_id=order.pk,
                medicine=given,
                quantity=quantity,
                unit=post.get("unit", "").strip() or given.unit,
                witness_credentials=_witness_credentials(request),
                note=_offline_note(given_offline_at),
                given_at=given_offline_at,
                confirm_mismatch=post.get("confirm_mismatch") == "on",
                confirmed_dose=cabinet_services.quantity_parse(
                    confirmed, field="confirmed_dose", typed=True
                )
                if confirmed
                else None,
            ),
        )
    except PlatformError as refused:
        exc = _as_the_form_says(refused)
        given_at = given_offline_at or _tablet_time(post)
        if queued or given_at is not None:
            cabinet_services.offline_dose_refused_flag(
                actor=actor,
                medicine=medicine,
                quantity=post.get("quantity", "").replace(",", ".").strip()[:20],
                given_at=given_at,
                error=exc,
                client_ref=post.get("client_ref", "")[:64],
            )
        return _visit_page(request, visit_id, exc, confirm=_dose_confirmation(exc, post))
    messages.success(request, _dose_given(actor.user, given))  # type: ignore[arg-type]
    return redirect("nurse-visit", visit_id=visit_id)


def _tablet_time(post: Any) -> dt.datetime | None:
    """The time her tablet gave a refused dose, for the officer's flag only
    (a time it cannot be booked at may still tell the officer when)."""
    moment = read_moment(post.get("given_offline_at", "").strip()[:40])
    return moment if moment is not None and timezone.is_aware(moment) else None


def _dose_given(nurse: User, medicine: Medicine) -> str:
    """The confirmation, saying so when the rest of an opened ampoule or a
    split tablet was discarded with the dose."""
    rest = cabinet_selectors.last_dose_rest(nurse=nurse)
    if rest is None:
        return _("Dose given and booked from your bag.")
    return _(
        "Dose given and booked from your bag. The rest of the opened unit"
        " (%(rest)s %(unit)s) was discarded and booked as waste."
    ) % {
        "rest": formats.number_format(format(rest.quantity.normalize(), "f"), use_l10n=True),
        "unit": _(medicine.unit),
    }


def _offline_note(given_at: dt.datetime | None) -> str:
    if given_at is None:
        return ""
    return _("Given without a connection at %(time)s; recorded when the tablet sent it.") % {
        "time": shown(given_at, "d-m-Y H:i")
    }


# The refusals she can answer by confirming the dose (R8): the dose is not the
# ordered one, or what she confirmed is not what she is giving.
CONFIRMABLE = (
    "administration.dose_mismatch",
    "administration.confirmation_mismatch",
    "administration.confirmed_dose_required",
)


def _dose_confirmation(exc: PlatformError, post: Any) -> dict[str, Any] | None:
    """What the dose form asks her to confirm after a mismatch warning: the
    same quantity, and the amount in the order's unit — computed, or for her
    to state when the units do not convert."""
    if exc.code not in CONFIRMABLE or "order" not in exc.extra:
        return None
    amount = exc.extra.get("amount")
    return {
        "order": exc.extra["order"],
        "quantity": post.get("quantity", ""),
        "amount": Decimal(str(amount)) if amount is not None else None,
        "unit": exc.extra.get("unit", ""),
    }
