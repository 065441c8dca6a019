"""The acute nurse's visits on her tablet: her list and the visit page.

The visit page combines the apps a nurse needs in the citizen's home: the
referral and visit (acute), results and orders (acute.clinical), the shared
record's summary (consent) and the doses her bag holds (medicine_cabinet),
which is why it lives in the composition layer. Every read of a citizen's
data goes through ``acute.clinical.selectors.visit_access`` (the consent gate,
audited) or is audited as a list (one entry per citizen, as IHE BALP asks).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import pgettext

from acute import selectors as acute_selectors
from acute.clinical import selectors as clinical_selectors
from acute.clinical.dosing import amount_in_unit
from acute.models import Visit, VisitNote, VitalSign
from acute.pages.shift import current_shift, nurse_visits_list
from acute.services.admissions import outcomes_open_to
from consent.analyses.catalogue import SERVICE_LABELS
from consent.audit.services import Action, Purpose
from consent.classifications import ICD10_SYSTEM
from consent.fhir.record import CATEGORY_SYSTEM, MUNICIPAL_SERVICE_SYSTEM
from consent.models import DataCategory
from consent.selectors import patient_everything
from core.actors import Actor
from core.deaths import is_registered_dead
from core.errors import NotFoundOrNotAllowed, PlatformError
from core.labels import resource_type_label
from core.models import Organisation, Role
from core.pages import OFFLINE_REPLAY_HEADER, maps_link, page_actor, render_page
from core.permissions import page
from core.refusals import Concerns
from core.times import read_day, read_moment
from medicine_cabinet.models import Location, Medicine
from medicine_cabinet.selectors import lot_suggest
from medicine_cabinet.services import needs_witness
from portal.selectors import nurse_visit_warnings


# Another role refused here is recorded (R9): the list names citizens.
@page(Role.ACUTE_NURSE, concerns=Concerns("Encounter", action="search"))
def nurse_visits(request: HttpRequest) -> HttpResponse:
    actor = page_actor(request)
    rows = []
    visits = nurse_visits_list(actor=actor)
    warnings = nurse_visit_warnings(visits=visits)
    for visit in visits:
        citizen = visit.citizen
        address = f"{citizen.address_line}, {citizen.postal_code} {citizen.city}"
        rows.append(
            {
                "visit": visit,
                "deadline": visit.referral.deadline_at if visit.referral else visit.planned_for,
                "address": address,
                "warnings": warnings.get(visit.pk, []),
                "maps": maps_link(float(citizen.latitude), float(citizen.longitude), address)
                if citizen.latitude is not None and citizen.longitude is not None
                else "",
            }
        )
    shift = current_shift(actor)
    return render_page(
        request,
        "acute/nurse_visits.html",
        {
            "rows": rows,
            "shift": shift,
            "now": timezone.now(),
            # Told here, not only when she opens it: she may be on her way (R12).
            "withdrawn": acute_selectors.nurse_visits_withdrawn(actor=actor, shift=shift),
        },
    )


# --- the visit -----------------------------------------------------------------


def _summary(actor: Actor, visit: Visit) -> tuple[list[tuple[str, list[dict[str, Any]]]], bool]:
    """The consent-filtered shared record, grouped by its data category (R2)
    under the category's Danish name; the consent selector gates and audits
    the read. Returns (groups, refused)."""

    try:
        resources = patient_everything(
            actor=actor, citizen_id=str(visit.citizen_id), purpose=Purpose.TREATMENT
        )
    except NotFoundOrNotAllowed:
        return [], True
    resources = [r for r in resources if r.get("resourceType") != "Patient"]
    departments = _department_names(resources)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for resource in resources:
        groups[_category_heading(resource)].append(_resource_line(resource, departments))
    return sorted(groups.items()), False


def _category_heading(resource: dict[str, Any]) -> str:
    """The data category a resource is shared under, in words (as the
    insight report names it); a resource without one by its kind."""
    for tag in (resource.get("meta") or {}).get("tag") or []:
        if isinstance(tag, dict) and tag.get("system") == CATEGORY_SYSTEM:
            try:
                return pgettext("record label", DataCategory(str(tag.get("code"))).label)
            except ValueError:
                break
    return resource_type_label(resource.get("resourceType"))


def _department_names(resources: list[dict[str, Any]]) -> dict[str, str]:
    """The names of the hospital departments the contacts name, in one query."""
    ids = {
        reference.removeprefix("Organization/")
        for resource in resources
        if isinstance(reference := (resource.get("serviceProvider") or {}).get("reference"), str)
        and reference.startswith("Organization/")
    }
    ids = {i for i in ids if i.isdigit()}
    return {
        str(pk): name
        for pk, name in Organisation.objects.filter(pk__in=ids).values_list("pk", "name")
    }


def _first_coding(concept: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A CodeableConcept (or the first of a list of them) and its first coding."""
    if isinstance(concept, list):
        concept = concept[0] if concept else {}
    if not isinstance(concept, dict):
        return {}, {}
    codings = concept.get("coding") or [{}]
    coding = codings[0] if isinstance(codings[0], dict) else {}
    return concept, coding


def _resource_line(resource: dict[str, Any], departments: dict[str, str]) -> dict[str, Any]:
    """One readable line for a FHIR resource of the shared record: what it is
    in words — a diagnosis by its name and ICD-10 code, the municipal help by
    its kind, a hospital contact by its department — never a bare code."""
    concept, coding = _first_coding(resource.get("code") or resource.get("category"))
    text = concept.get("text") or coding.get("display") or ""
    code = ""
    if coding.get("system") == ICD10_SYSTEM and coding.get("code"):
        code = f"ICD-10 {coding['code']}"
    service_concept, service = _first_coding(resource.get("type"))
    if not text and service.get("system") == MUNICIPAL_SERVICE_SYSTEM:
        label = SERVICE_LABELS.get(service.get("code", ""))
        text = capfirst(str(label)) if label is not None else service_concept.get("text", "")
    reference = (resource.get("serviceProvider") or {}).get("reference")
    if not text and isinstance(reference, str):
        text = departments.get(reference.removeprefix("Organization/"), "")
    if not text and code:
        # A diagnosis sent by its code alone reads as the code under its heading.
        text, code = code, ""
    text = (
        text
        or resource.get("description")
        or resource.get("title")
        or resource_type_label(resource.get("resourceType"))
    )
    when = (
        resource.get("recordedDate")
        or resource.get("onsetDateTime")
        or resource.get("effectiveDateTime")
        or (resource.get("period") or {}).get("start")
        or resource.get("created")
        or ""
    )
    moment = _when(when)
    return {
        "text": text,
        "code": code,
        "when": moment,
        "when_has_time": isinstance(moment, dt.datetime),
    }


def _when(value: str) -> dt.date | dt.datetime | None:
    """A FHIR date or date-time as Copenhagen time (a bare date stays a date).
    Read as every door reads it (:mod:`core.times`): a form it does not read
    is shown as no time, never as another one."""
    if not isinstance(value, str) or not value:
        return None
    moment = read_moment(value)
    if moment is not None:
        return timezone.localtime(moment) if timezone.is_aware(moment) else moment
    return read_day(value)


def _visit_context(actor: Actor, visit: Visit) -> dict[str, Any]:
    groups, refused = _summary(actor, visit)
    citizen = visit.citizen
    results = clinical_selectors.visit_results(visit=visit)
    orders = clinical_selectors.visit_orders(visit=visit)
    catalogue = list(clinical_selectors.catalogue())
    delegations = clinical_selectors.visit_delegations(visit=visit)
    delegated = {d.test_id: d for d in delegations}
    return {
        "visit": visit,
        "citizen": citizen,
        "age": _age(citizen.birth_date),
        "referral": visit.referral,
        "summary": groups,
        "summary_refused": refused,
        "notes": list(VisitNote.objects.filter(visit=visit).order_by("-written_at")),
        "vitals": list(VitalSign.objects.filter(visit=visit).order_by("-measured_at", "code")),
        "vital_codes": VitalSign.Code.choices,
        "catalogue": catalogue,
        "results": results,
        "orders": orders,
        "warnings": nurse_visit_warnings(visits=[visit]).get(visit.pk, []),
        "procedures": clinical_selectors.visit_procedures(visit=visit),
        # Each procedure she may do: predefined (R7) or under this visit's delegation.
        "procedure_options": [
            {"test": t, "delegation": delegated.get(t.pk)}
            for t in catalogue
            if t.kind == "procedure" and (t.predefined or t.pk in delegated)
        ],
        "delegations": delegations,
        # What a physician may still delegate on this visit (R7: not the predefined).
        "delegable": [
            t for t in catalogue if not t.predefined and not t.derivation and t.pk not in delegated
        ],
        "bag": _bag_context(actor, visit, orders),
        "outcomes": outcomes_open_to(citizen),
        "registered_dead": is_registered_dead(citizen),
        "maps": maps_link(float(citizen.latitude), float(citizen.longitude))
        if citizen.latitude is not None and citizen.longitude is not None
        else "",
        "now": timezone.now(),
    }


def _age(birth_date: dt.date) -> int:
    """Whole years today, in Danish time: what the header shows beside the
    masked CPR number."""
    today = timezone.localdate()
    return (
        today.year
        - birth_date.year
        - ((today.month, today.day) < (birth_date.month, birth_date.day))
    )


def _bag_context(actor: Actor, visit: Visit, orders: list[Any]) -> list[dict[str, Any]]:
    """For each usable order on the visit: the medicine in the cabinet's
    catalogue, the lot her bag should give from (first to expire), and what
    the order still allows (R8) — in its own unit and, where the medicine's
    strength tells, in tablets or ampoules — so she sees it before she gives."""

    bag = Location.objects.filter(
        organisation=visit.shift.acute_function, kind=Location.Kind.BAG, nurse=actor.user
    ).first()
    usable = [o for o in orders if o.status != "cancelled"]
    medicines: dict[str, list[Medicine]] = defaultdict(list)
    for line in Medicine.objects.filter(atc_code__in={o.medicine_atc for o in usable}):
        medicines[line.atc_code].append(line)
    rows = []
    for order in usable:
        lots = [
            (medicine, lot_suggest(bag=bag, medicine=medicine) if bag else None)
            for medicine in medicines.get(order.medicine_atc, [])
        ]
        medicine, lot = next(((m, lot) for m, lot in lots if lot is not None), (None, None))
        left = clinical_selectors.order_allowance(order)
        # One stock unit in the order's unit: 1 tablet = 500 mg.
        one = (
            amount_in_unit(
                quantity=Decimal("1"),
                stock_unit=medicine.unit,
                amount_per_unit=medicine.amount_per_unit,
                amount_unit=medicine.amount_unit,
                unit=order.dose_unit,
            )
            if medicine is not None
            else None
        )
        rows.append(
            {
                "order": order,
                "medicine": medicine,
                # §4 by its mark or its ATC code: the dose asks for a witness.
                "needs_witness": medicine is not None and needs_witness(medicine),
                "lot": lot,
                "left": left,
                "one": one,
                "dose_in_units": order.dose / one if one else None,
                "remaining_in_units": left.remaining / one if one else None,
            }
        )
    return rows


def _own_cancelled(actor: Actor, visit_id: int) -> Visit | None:
    """Her own visit, cancelled: her access to the citizen ended with it (R1),
    so the page says only when and why, with the note given (no citizen data)."""
    if actor.user is None:
        return None
    return (
        Visit.objects.filter(pk=visit_id, nurse=actor.user, status=Visit.Status.CANCELLED)
        .only("pk", "cancelled_at", "cancel_reason", "cancel_note")
        .first()
    )


def _visit_page(
    request: HttpRequest,
    visit_id: int,
    error: PlatformError | None = None,
    confirm: dict[str, Any] | None = None,
    field_names: dict[str, str] | None = None,
) -> HttpResponse:
    actor = page_actor(request)
    try:
        visit = clinical_selectors.visit_access(
            actor=actor, visit_id=visit_id, action=Action.READ, own_visit=True
        )
    except PlatformError as exc:
        cancelled = _own_cancelled(actor, visit_id)
        if cancelled is not None and request.headers.get(OFFLINE_REPLAY_HEADER) != "1":
            # Still "not available" (403), but she is told why her visit went.
            return render(
                request, "acute/visit.html", {"cancelled": cancelled, "error": None}, status=403
            )
        return render_page(request, "acute/visit.html", {}, error=exc)
    context = {
        **_visit_context(actor, visit),
        "confirm": confirm,
        # Which of the page's forms a refusal answers: several share field
        # names (code, note), and only that form gets back what was typed.
        "sent_form": request.resolver_match.url_name if error and request.resolver_match else "",
        # ... and, of a form drawn once per result, which result's.
        "sent_result": (
            request.resolver_match.kwargs.get("result_id")
            if error and request.resolver_match
            else None
        ),
    }
    return render_page(request, "acute/visit.html", context, error=error, field_names=field_names)


@page(Role.ACUTE_NURSE, concerns=Concerns("Encounter", Visit, path="visit_id"))
def nurse_visit(request: HttpRequest, visit_id: int) -> HttpResponse:
    return _visit_page(request, visit_id)
