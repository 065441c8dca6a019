"""The acute nurse's shift page: her status, her position and her visits of the day."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from acute import selectors as acute_selectors
from acute import services
from acute.clinical import selectors as clinical_selectors
from acute.models import NurseShift, Visit
from consent.audit.services import Action
from core.actors import Actor
from core.errors import InvalidInput, NotFoundOrNotAllowed, PlatformError
from core.models import Role
from core.pages import page_actor, render_page
from core.permissions import page, serves
from core.refusals import Concerns
from core.validation import typed_coordinate

# --- the nurse's shift -----------------------------------------------------------


def current_shift(actor: Actor) -> NurseShift | None:
    """The nurse's own shift on now (her rota, not citizen data)."""
    if actor.user is None:
        return None
    now = timezone.now()
    return (
        NurseShift.objects.filter(nurse=actor.user, starts_at__lte=now, ends_at__gt=now)
        .select_related("acute_function")
        .order_by("starts_at")
        .first()
    )


def nurse_visits_list(*, actor: Actor) -> list[Visit]:
    """The nurse's active visits by deadline (the acute selector gates and
    audits one entry per citizen)."""
    far = timezone.now() + dt.timedelta(days=365)
    return sorted(
        acute_selectors.nurse_visits(actor=actor),
        key=lambda v: (v.referral.deadline_at if v.referral else v.planned_for or far, v.pk),
    )


def _shift_page(request: HttpRequest, error: PlatformError | None = None) -> HttpResponse:
    actor = page_actor(request)
    shift = current_shift(actor)
    return render_page(
        request,
        "acute/nurse_shift.html",
        {
            "shift": shift,
            "statuses": [(s, NurseShift.Status(s).label) for s in services.STATUSES_SET_BY_HAND],
            "places": _places(actor) if shift is not None else [],
        },
        error=error,
    )


def _places(actor: Actor) -> list[tuple[str, str]]:
    """Where she can say she is when the tablet cannot tell: her base, or the
    address of one of her visits (listed through the gate, audited)."""
    return [("base", _("At the base"))] + [
        (
            f"visit-{v.pk}",
            _("At %(name)s's home, %(address)s")
            % {"name": v.citizen.given_name, "address": v.citizen.address_line},
        )
        for v in nurse_visits_list(actor=actor)
        if v.citizen.latitude is not None and v.citizen.longitude is not None
    ]


# Another role refused here is recorded (R9): the page names her visits'
# citizens and their addresses.
@page(Role.ACUTE_NURSE, concerns=Concerns("Encounter", action="search"))
def nurse_shift(request: HttpRequest) -> HttpResponse:
    return _shift_page(request)


@page(Role.ACUTE_NURSE)
@serves("POST")
def nurse_status_set(request: HttpRequest) -> HttpResponse:
    actor = page_actor(request)
    shift = current_shift(actor)
    try:
        if shift is None:
            raise NotFoundOrNotAllowed()
        services.shift_status_set(shift=shift, status=request.POST.get("status", ""), actor=actor)
    except PlatformError as exc:
        return _shift_page(request, exc)
    return redirect("nurse-shift")


# The tablet reports at most this often (position.js asks every minute); a
# report sooner than this after the last one is acknowledged but not stored.
POSITION_MIN_INTERVAL = dt.timedelta(seconds=30)


def _coordinate(raw: str, field: str) -> float:
    """A latitude or longitude from the tablet's script: a plain decimal only."""
    value = typed_coordinate(raw)
    if value is None:
        raise InvalidInput(
            "shift.position_invalid", _("Latitude and longitude as numbers."), field=field
        )
    return value


@page(Role.ACUTE_NURSE)
@serves("POST")
def nurse_position(request: HttpRequest) -> HttpResponse:
    """Her position for the coordinator's map: from the tablet's location
    (``source=device``, throttled) or chosen by hand (``place``: her base or a
    visit's address). The tablet's script gets JSON; the form a page."""
    actor = page_actor(request)
    shift = current_shift(actor)
    place = request.POST.get("place", "")
    from_device = not place
    try:
        if shift is None:
            raise NotFoundOrNotAllowed()
        if from_device:
            latitude = _coordinate(request.POST.get("latitude", ""), "latitude")
            longitude = _coordinate(request.POST.get("longitude", ""), "longitude")
        elif place == "base":
            latitude, longitude = shift.base_latitude, shift.base_longitude
        else:
            visit_id = int(place.removeprefix("visit-")) if place.startswith("visit-") else 0
            visit = clinical_selectors.visit_access(
                actor=actor, visit_id=visit_id, action=Action.READ, own_visit=True
            )
            if visit.citizen.latitude is None or visit.citizen.longitude is None:
                raise InvalidInput(
                    "shift.place_unknown", _("That address has no position."), field="place"
                )
            latitude, longitude = float(visit.citizen.latitude), float(visit.citizen.longitude)
        before = shift.position_at
        shift = services.shift_position_report(
            shift=shift,
            latitude=latitude,
            longitude=longitude,
            actor=actor,
            min_interval=POSITION_MIN_INTERVAL if from_device else None,
        )
    except PlatformError as exc:
        if from_device:
            status = 403 if isinstance(exc, NotFoundOrNotAllowed) else 400
            # The tablet's script is told why, in Danish, and on which field.
            body = {"code": exc.code, "stored": False, "message": gettext(exc.message)}
            if exc.field:
                body["field"] = exc.field
            return JsonResponse(body, status=status)
        return _shift_page(request, exc)
    stored = shift.position_at != before
    if from_device:
        return JsonResponse(
            {"stored": stored, "at": shift.position_at.isoformat() if shift.position_at else None}
        )
    messages.success(request, _("Position saved."))
    return redirect("nurse-shift")
