"""The forms that create a referral: the coordinator's phone referral, with
the CPR number looked up as it is typed and the citizen registered from the
same form, and the short referral form of physicians and home nurses. Every
write calls the same service as the API.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from acute import services
from acute.models import Referral, Skill, Urgency
from acute.occurrence import (
    OCCURRENCE_INVALID,
    OCCURRENCE_TIME_MISSING,
    Occurrence,
    occurrence_period,
)
from consent import selectors as consent_selectors
from consent.audit.services import Purpose
from consent.selectors import IntakeLookup
from core.actors import Actor
from core.errors import InvalidInput, PlatformError
from core.form_once import once_per_form
from core.models import Organisation, Role
from core.pages import page_actor, render_page
from core.permissions import page, serves
from core.refusals import Concerns
from core.times import local_wall_time, typed_clock, typed_day

# A referral form names its citizen by the CPR number typed into it: a role
# refused there made an attempt on her (R9), a referral (``create``) or, the
# look-up as it is typed, a search for who the number names.
TYPED_REFERRAL = Concerns("ServiceRequest", cpr="cpr")
TYPED_LOOKUP = Concerns("Patient", cpr="cpr", action="search")


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


# The requested time (*ønsket tidspunkt*): a day and a from and/or to time,
# typed in Copenhagen time.
REQUESTED_FIELDS = ("requested_date", "requested_from", "requested_to")
# What the forms' requested time is called in a refusal of the period.
REQUESTED_TIME_FIELDS = {
    "occurrencePeriod": "requested_date",
    "occurrencePeriod.start": "requested_from",
    "occurrencePeriod.end": "requested_to",
}
REQUESTED_DATE_MISSING = "referral.occurrence_date_missing"


def _referral_form(
    request: HttpRequest,
    template: str,
    error: PlatformError | None = None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    values = {
        k: request.POST.get(k, "") for k in (*REFERRAL_FIELDS, *REQUESTED_FIELDS) if k != "cpr"
    }
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
    """The form's fields; the CPR number as typed (spaces dropped) is checked
    by the service, as on the API and FHIR."""
    data: dict[str, Any] = {k: request.POST.get(k, "").strip() for k in REFERRAL_FIELDS}
    data["cpr"] = data["cpr"].replace(" ", "")
    if not data["cpr"]:
        raise InvalidInput(
            "referral.cpr_invalid", _("Type the CPR number as 10 digits."), field="cpr"
        )
    data["required_skills"] = request.POST.getlist("required_skills")
    data["occurrence"] = _requested_typed(request)
    return data


def _requested_typed(request: HttpRequest) -> Occurrence | None:
    """The requested time (*ønsket tidspunkt*, "kom i morgen formiddag") as
    the period a ServiceRequest would send: the day with a from time (the
    start) and/or a to time (the end), Copenhagen wall-clock time read by the
    platform's one rule (a time the clocks skip is refused, never moved an
    hour; one they show twice until the coordinator chooses which of the
    two she means), judged by ``referral_create`` as on every door.
    None when nothing is typed; what cannot be read is refused under its
    own field."""
    day_typed, from_typed, to_typed = (request.POST.get(k, "").strip() for k in REQUESTED_FIELDS)
    if not (day_typed or from_typed or to_typed):
        return None
    refused: list[InvalidInput] = []
    day: dt.date | None = None
    if not day_typed:
        refused.append(
            InvalidInput(
                REQUESTED_DATE_MISSING,
                "Choose the date of the requested time.",
                field="requested_date",
            )
        )
    else:
        day = typed_day(day_typed)
        if day is None:
            refused.append(_unreadable("requested_date"))
    if not (from_typed or to_typed):
        refused.append(
            InvalidInput(
                OCCURRENCE_TIME_MISSING,
                "Give the requested time for the visit as a time of day, not only a date.",
                field="requested_from",
            )
        )
    moments: dict[str, dt.datetime | None] = {}
    for name, typed in (("requested_from", from_typed), ("requested_to", to_typed)):
        moments[name] = None
        if not typed:
            continue
        clock = typed_clock(typed)
        if clock is None:
            refused.append(_unreadable(name))
        elif day is not None:
            try:
                moments[name] = local_wall_time(
                    dt.datetime.combine(day, clock), field=name, form=request.POST
                )
            except InvalidInput as exc:
                refused.append(exc)
    if refused:
        raise InvalidInput.all_of(refused)
    return occurrence_period(
        moments["requested_from"], moments["requested_to"], fields=REQUESTED_TIME_FIELDS
    )


def _unreadable(field: str) -> InvalidInput:
    return InvalidInput(
        OCCURRENCE_INVALID, "The requested date or time cannot be read.", field=field
    )


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
            "municipalities": participating_municipalities(page_actor(request)),
        },
    )


def participating_municipalities(actor: Actor) -> list[Organisation]:
    """The municipalities a citizen may be registered in at intake: those
    taking part that the coordinator's own acute function serves (the gate's
    rule, so the form offers no municipality it would refuse)."""
    if actor.organisation is None:
        return []
    return list(
        actor.organisation.serves.filter(
            kind=Organisation.Kind.MUNICIPALITY, participates=True
        ).order_by("name")
    )


def _registration_typed(request: HttpRequest) -> dict[str, str]:
    """The registration fields of the phone referral, for the same service,
    gate and audit as ``POST /fhir/Patient``."""
    post = request.POST
    return {
        "given_name": post.get("given_name", ""),
        "family_name": post.get("family_name", ""),
        "address_line": post.get("address_line", ""),
        "postal_code": post.get("postal_code", ""),
        "city": post.get("city", ""),
        "municipality_code": post.get("municipality", ""),
        "latitude": post.get("latitude", ""),
        "longitude": post.get("longitude", ""),
        "phone": post.get("citizen_phone", ""),
    }


# The form sent twice (a double click, back and send again) is one referral:
# the second send is sent to the first's and told so (``core.form_once``).
REFERRAL_ALREADY_RECEIVED = gettext_noop("This referral was already received.")


@page(Role.COORDINATOR, concerns=TYPED_REFERRAL)
@serves("GET", "POST")
def referral_phone(request: HttpRequest) -> HttpResponse:
    """The phone referral, typed in while the caller talks; accepted at once
    unless the coordinator unticks it. A citizen not registered here is
    registered from the same form (``register``), in one unit with the
    referral: a refusal leaves neither, and keeps everything typed, so the
    corrected form registers her once and nothing has to be typed twice."""
    if request.method != "POST" or request.POST.get("action") == "lookup":
        return _phone_form(request)
    return _phone_take(request)


@once_per_form(notice=REFERRAL_ALREADY_RECEIVED)
def _phone_take(request: HttpRequest) -> HttpResponse:
    actor = page_actor(request)
    try:
        # Registration and referral are one unit: a refused referral
        # leaves no citizen registered, only the attempt on the log (R9).
        referral = services.referral_phone_take(
            actor=actor,
            registration=_registration_typed(request)
            if request.POST.get("register") == "on"
            else None,
            accept=request.POST.get("accept") == "on",
            **_referral_data(request),
        )
    except PlatformError as exc:
        if exc.code == "referral.citizen_unknown":
            # Not a dead end: the form stays, with the offer to register.
            exc = InvalidInput(exc.code, exc.message, field="cpr")
        return _phone_form(request, exc)
    messages.success(request, _("Referral received."))
    return redirect("referral-detail", referral_id=referral.pk)


@page(Role.COORDINATOR, concerns=TYPED_LOOKUP)
@serves("POST")
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
            "municipalities": participating_municipalities(page_actor(request)),
            "posted": {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"},
        },
    )


@page(Role.PHYSICIAN, Role.HOME_NURSE, concerns=TYPED_REFERRAL)
@once_per_form(notice=REFERRAL_ALREADY_RECEIVED)
@serves("GET", "POST")
def referral_short(request: HttpRequest) -> HttpResponse:
    """A physician's or home nurse's short referral form."""
    if request.method != "POST":
        return _referral_form(request, "acute/referral_short.html")
    actor = page_actor(request)
    try:
        services.referral_intake(actor=actor, **_referral_data(request))
    except PlatformError as exc:
        if exc.code == "referral.citizen_unknown":
            # A number not registered here is a field to correct, not a dead
            # end: the form stays with everything she typed.
            exc = InvalidInput(exc.code, exc.message, field="cpr")
        return _referral_form(
            request,
            "acute/referral_short.html",
            exc,
            {"cpr": _cpr_typed(request.POST.get("cpr"))},
        )
    messages.success(request, _("Referral sent to the acute function."))
    return redirect("referral-short")
