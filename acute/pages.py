"""The acute nurse's tablet pages: her shift and status, her visits, the visit.

Every read of a citizen's data goes through ``acute.clinical.selectors.visit_access``
(the consent gate, audited) or is audited as a list (one entry per citizen, as
IHE BALP asks); every write calls the same service as the API.

One module, longer than most: it is the one set of pages a nurse's tablet
shows, each view a few lines that hand the form to a service, and they share
the visit's access check and the form handling that sits beside them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.db import models
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from acute import selectors as acute_selectors
from acute import services
from acute.clinical import selectors as clinical_selectors
from acute.models import NurseShift, Outcome, Urgency, Visit
from consent import selectors as consent_selectors
from consent import services as consent_services
from consent.audit.services import Action, Purpose
from consent.selectors import IntakeLookup
from core.actors import Actor
from core.errors import InvalidInput, NotFoundOrNotAllowed, PlatformError
from core.models import Organisation, Role
from core.pages import page_actor, render_page
from core.permissions import page
from core.validation import row_id

# Labels that stay English in the models because FHIR exchanges them as code
# displays (urgency, outcome, LOINC vital signs), because they are catalogue
# data (the tests and procedures, R7) or because another app owns them. The
# pages translate them where they are shown (``{% trans value %}``); listed
# here so the catalogue has them.
EDGE_LABELS = (
    gettext_noop("Within 2 hours"),
    gettext_noop("Within the shift"),
    gettext_noop("Next day"),
    gettext_noop("Treated at home"),
    gettext_noop("Admitted to hospital"),
    gettext_noop("Handed back to home nursing"),
    gettext_noop("Declined by the citizen"),
    gettext_noop("Died"),
    gettext_noop("Heart rate"),
    gettext_noop("Respiratory rate"),
    gettext_noop("Oxygen saturation"),
    gettext_noop("Systolic blood pressure"),
    gettext_noop("Diastolic blood pressure"),
    gettext_noop("Body temperature"),
    gettext_noop("Glucose; capillary blood plasma"),
    gettext_noop("Glucose; venous blood plasma"),
    gettext_noop("C-reactive protein (CRP); plasma"),
    gettext_noop("Sodium; plasma"),
    gettext_noop("Potassium; plasma"),
    gettext_noop("Creatininium; plasma"),
    gettext_noop("eGFR (CKD-EPI 2021); creatinine-based"),
    gettext_noop("Haemoglobin(Fe); blood"),
    gettext_noop("Coagulation factor II+VII+X (INR); plasma"),
    gettext_noop("Urinary catheter placement"),
    gettext_noop("Feeding tube placement"),
    gettext_noop("Urine dipstick test"),
    # The hand-off states the board shows (integrations.OutboundMessage.Status).
    gettext_noop("Waiting to be sent"),
    gettext_noop("Being sent"),
    gettext_noop("Sent, waiting for acknowledgement"),
    gettext_noop("Acknowledged"),
    gettext_noop("Failed: needs a person"),
    gettext_noop("Withheld: the citizen refused disclosure"),
)

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


STATUS_CHOICES_FOR_NURSE = (
    NurseShift.Status.AVAILABLE,
    NurseShift.Status.ON_BREAK,
    NurseShift.Status.OFF,
)


def _shift_page(request: HttpRequest, error: PlatformError | None = None) -> HttpResponse:
    actor = page_actor(request)
    shift = current_shift(actor)
    return render_page(
        request,
        "acute/nurse_shift.html",
        {
            "shift": shift,
            "statuses": [(s, NurseShift.Status(s).label) for s in STATUS_CHOICES_FOR_NURSE],
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


@page(Role.ACUTE_NURSE)
def nurse_shift(request: HttpRequest) -> HttpResponse:
    return _shift_page(request)


@page(Role.ACUTE_NURSE)
@require_POST
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
    try:
        value = float(raw.replace(",", ".").strip())
    except ValueError:
        raise InvalidInput(
            "shift.position_invalid", _("Latitude and longitude as numbers."), field=field
        ) from None
    return value


@page(Role.ACUTE_NURSE)
@require_POST
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
            return JsonResponse({"code": exc.code, "stored": False}, status=status)
        return _shift_page(request, exc)
    stored = shift.position_at != before
    if from_device:
        return JsonResponse(
            {"stored": stored, "at": shift.position_at.isoformat() if shift.position_at else None}
        )
    messages.success(request, _("Position saved."))
    return redirect("nurse-shift")


# --- her visits ------------------------------------------------------------------


def _referral_page(
    request: HttpRequest, referral_id: int, error: PlatformError | None = None
) -> HttpResponse:
    actor = page_actor(request)
    try:
        referral = acute_selectors.referral_get(actor=actor, referral_id=referral_id)
    except PlatformError as exc:
        return render_page(request, "acute/referral.html", {}, error=exc)
    active = referral.visits.filter(status__in=Visit.ACTIVE_STATUSES).select_related("nurse")
    return render_page(
        request,
        "acute/referral.html",
        {
            "referral": referral,
            "active_visit": active.first(),
            "suggestions": services.dispatch_rank(referral=referral)
            if referral.status == "accepted"
            else [],
            # A refused override keeps what she typed.
            "hold_override_reason": request.POST.get("hold_override_reason", ""),
            "now": timezone.now(),
        },
        error=error,
    )


@page(Role.COORDINATOR)
def referral_detail(request: HttpRequest, referral_id: int) -> HttpResponse:
    return _referral_page(request, referral_id)


@page(Role.COORDINATOR)
@require_POST
def referral_assign(request: HttpRequest, referral_id: int) -> HttpResponse:
    """Assign, or reassign (the active visit is replaced in the same transaction).
    The form of a referral on hold for a hospital admission carries the reason
    field; the service refuses the assignment without a reason (R12)."""
    actor = page_actor(request)
    try:
        referral = acute_selectors.referral_get(
            actor=actor, referral_id=referral_id, action=Action.UPDATE
        )
        shift = acute_selectors.shifts_on().filter(pk=row_id(request.POST.get("shift_id"))).first()
        if shift is None:
            raise InvalidInput("assign.shift_unknown", _("Choose a nurse on shift."), field="shift")
        replacing = referral.visits.filter(status__in=Visit.ACTIVE_STATUSES).first()
        services.visit_assign(
            referral=referral,
            shift=shift,
            actor=actor,
            replacing=replacing,
            hold_override_reason=request.POST.get("hold_override_reason"),
        )
    except PlatformError as exc:
        return _referral_page(request, referral_id, exc)
    messages.success(request, _("Nurse assigned."))
    return redirect("coordinator-board")


@page(Role.COORDINATOR)
@require_POST
def referral_triage(request: HttpRequest, referral_id: int) -> HttpResponse:
    actor = page_actor(request)
    try:
        referral = acute_selectors.referral_get(
            actor=actor, referral_id=referral_id, action=Action.UPDATE
        )
        if request.POST.get("decision") == "decline":
            services.referral_decline(
                referral=referral, reason=request.POST.get("reason", ""), actor=actor
            )
        else:
            services.referral_accept(referral=referral, actor=actor)
    except PlatformError as exc:
        return _referral_page(request, referral_id, exc)
    return redirect("referral-detail", referral_id=referral_id)


REFERRAL_FIELDS = (
    "cpr",
    "source",
    "referrer_name",
    "referrer_phone",
    "reason",
    "clinical_picture",
    "requested_actions",
    "urgency",
    "responsible_physician_name",
    "responsible_physician_phone",
)


def _referral_form(
    request: HttpRequest,
    template: str,
    error: PlatformError | None = None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    from acute.models import Referral, Skill, Urgency

    values = {k: request.POST.get(k, "") for k in REFERRAL_FIELDS if k != "cpr"}
    return render_page(
        request,
        template,
        {
            "values": values,
            "sources": Referral.Source.choices,
            "urgencies": Urgency.choices,
            "skills": Skill.choices,
            "chosen_skills": request.POST.getlist("required_skills"),
            **(extra or {}),
        },
        error=error,
        field_names={"citizen": "cpr", "subject": "cpr", **REGISTRATION_FIELD_NAMES},
    )


def _cpr_typed(raw: str | None) -> str:
    """The CPR number as typed, without dash or spaces; empty unless ten digits."""
    cpr = (raw or "").replace("-", "").replace(" ", "").strip()
    return cpr if cpr.isdigit() and len(cpr) == 10 else ""


def _referral_data(request: HttpRequest) -> dict[str, Any]:
    data: dict[str, Any] = {k: request.POST.get(k, "").strip() for k in REFERRAL_FIELDS}
    data["cpr"] = _cpr_typed(data["cpr"])
    if not data["cpr"]:
        raise InvalidInput(
            "referral.cpr_invalid", _("Type the CPR number as 10 digits."), field="cpr"
        )
    data["required_skills"] = request.POST.getlist("required_skills")
    return data


# --- the phone referral: the CPR number looked up as it is typed ----------------

# What the registration refuses, named as the phone referral's fields.
REGISTRATION_FIELD_NAMES = {
    "identifier": "cpr",
    "name": "family_name",
    "address": "address_line",
    "address.extension": "latitude",
    "extension": "municipality",
}


def _citizen_lookup(actor: Actor, cpr: str) -> IntakeLookup | None:
    """Who the typed CPR number names, for the coordinator to confirm with the
    caller (gated and audited in ``consent``); nothing before ten digits."""
    if not cpr:
        return None
    return consent_selectors.patient_intake_lookup(actor=actor, cpr=cpr, purpose=Purpose.TREATMENT)


def _phone_form(request: HttpRequest, error: PlatformError | None = None) -> HttpResponse:
    """The phone referral as typed so far: every field kept, a well-formed CPR
    number kept with who it names (or the offer to register the citizen)."""
    cpr = _cpr_typed(request.POST.get("cpr"))
    return _referral_form(
        request,
        "acute/referral_phone.html",
        error,
        {
            "cpr": cpr,
            "lookup": _citizen_lookup(page_actor(request), cpr),
            "municipalities": participating_municipalities(),
        },
    )


def participating_municipalities() -> list[Organisation]:
    """The municipalities a citizen may be registered in at intake."""
    return list(
        Organisation.objects.filter(
            kind=Organisation.Kind.MUNICIPALITY, participates=True
        ).order_by("name")
    )


def _register_typed(request: HttpRequest, actor: Actor, cpr: str) -> None:
    """Register the citizen from the registration fields of the phone referral
    (the same service, gate and audit as ``POST /fhir/Patient``)."""
    post = request.POST
    consent_services.patient_register(
        actor=actor,
        cpr=cpr,
        given_name=post.get("given_name", ""),
        family_name=post.get("family_name", ""),
        address_line=post.get("address_line", ""),
        postal_code=post.get("postal_code", ""),
        city=post.get("city", ""),
        municipality_code=post.get("municipality", ""),
        latitude=post.get("latitude", ""),
        longitude=post.get("longitude", ""),
        phone=post.get("citizen_phone", ""),
        purpose=Purpose.TREATMENT,
    )


@page(Role.COORDINATOR)
def referral_phone(request: HttpRequest) -> HttpResponse:
    """The phone referral, typed in while the caller talks; accepted at once
    unless the coordinator unticks it. A citizen not registered here is
    registered from the same form (``register``), and a refusal keeps
    everything typed: nothing has to be typed twice."""
    if request.method != "POST":
        return _phone_form(request)
    if request.POST.get("action") == "lookup":
        return _phone_form(request)
    actor = page_actor(request)
    try:
        data = _referral_data(request)
        if request.POST.get("register") == "on":
            _register_typed(request, actor, data["cpr"])
        referral = services.referral_intake(actor=actor, **data)
        if request.POST.get("accept") == "on" and referral.status == "received":
            referral = services.referral_accept(referral=referral, actor=actor)
    except PlatformError as exc:
        if exc.code == "referral.citizen_unknown":
            # Not a dead end: the form stays, with the offer to register.
            exc = InvalidInput(exc.code, exc.message, field="cpr")
        return _phone_form(request, exc)
    messages.success(request, _("Referral received."))
    return redirect("referral-detail", referral_id=referral.pk)


@page(Role.COORDINATOR)
@require_POST
def referral_citizen_lookup(request: HttpRequest) -> HttpResponse:
    """Who the CPR number typed so far names (htmx, by POST: a CPR number is
    never in a URL). The answer is the form's citizen box only."""
    cpr = _cpr_typed(request.POST.get("cpr"))
    return render_page(
        request,
        "acute/_citizen_lookup.html",
        {
            "cpr": cpr,
            "lookup": _citizen_lookup(page_actor(request), cpr),
            "municipalities": participating_municipalities(),
            "posted": {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"},
        },
    )


@page(Role.PHYSICIAN, Role.HOME_NURSE)
def referral_short(request: HttpRequest) -> HttpResponse:
    """A physician's or home nurse's short referral form."""
    if request.method != "POST":
        return _referral_form(request, "acute/referral_short.html")
    actor = page_actor(request)
    try:
        services.referral_intake(actor=actor, **_referral_data(request))
    except PlatformError as exc:
        return _referral_form(request, "acute/referral_short.html", exc)
    messages.success(request, _("Referral sent to the acute function."))
    return redirect("referral-short")


def _choice_label(choices: type[models.TextChoices], value: str) -> str:
    """A stored choice as a person reads it (the label, translated); never the raw value."""
    try:
        return _(choices(value).label)
    except ValueError:
        return value


@page(Role.COORDINATOR)
def coordinator_figures(request: HttpRequest) -> HttpResponse:
    """Follow-up figures with charts (aggregates only: no citizen data)."""
    from core.pages import bar_chart

    today = timezone.localdate()
    typed = {name: request.GET.get(name, "") for name in ("start", "end")}
    dates: dict[str, dt.date] = {}
    refused: list[PlatformError] = []
    for name, default in (("start", today - dt.timedelta(29)), ("end", today)):
        try:
            dates[name] = dt.date.fromisoformat(typed[name]) if typed[name] else default
        except ValueError:
            refused.append(
                InvalidInput("figures.date_invalid", _("Dates as YYYY-MM-DD."), field=name)
            )
    if refused:
        return render_page(
            request,
            "acute/figures.html",
            {"posted": typed},
            error=PlatformError.all_of(refused),
        )
    start, end = dates["start"], dates["end"]
    try:
        rows = acute_selectors.figures_release(
            actor=page_actor(request), start=start, end=end, period="day"
        )
    except PlatformError as exc:
        return render_page(
            request, "acute/figures.html", {"start": start, "end": end, "posted": typed}, error=exc
        )
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    outcomes: dict[str, int] = defaultdict(int)
    visits: dict[str, int] = defaultdict(int)
    for row in rows:
        if row["figure"] == "reached_within_deadline" and row["dimension"] == "urgency":
            totals[row["value"]][0] += row["met"] or 0
            totals[row["value"]][1] += row["count"]
        elif row["figure"] == "episode_outcome":
            outcomes[row["value"]] += row["count"]
        elif row["figure"] == "visits":
            visits[row["value"]] += row["count"]
    within = [
        (_choice_label(Urgency, k), round(100 * met / n) if n else 0)
        for k, (met, n) in sorted(totals.items())
    ]
    return render_page(
        request,
        "acute/figures.html",
        {
            "start": start,
            "end": end,
            "within": within,
            "within_chart": bar_chart(within),
            "outcomes_chart": bar_chart(
                [(_choice_label(Outcome, k), n) for k, n in sorted(outcomes.items())]
            ),
            "visits_chart": bar_chart(sorted(visits.items())),
            "rows": rows,
        },
    )
