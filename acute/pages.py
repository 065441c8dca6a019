"""The acute nurse's tablet pages: her shift and status, her visits, the visit.

Every read of a citizen's data goes through ``acute.clinical.selectors.visit_access``
(the consent gate, audited) or is audited as a list (one entry per citizen, as
IHE BALP asks); every write calls the same service as the API.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from acute import selectors as acute_selectors
from acute import services
from acute.clinical import selectors as clinical_selectors
from acute.clinical import services as clinical_services
from acute.clinical.catalogue import interpret, reference_interval
from acute.models import NurseShift, Outcome, Visit, VisitNote, VisitSubmission, VitalSign
from consent.audit.services import Action, Purpose
from core.actors import Actor
from core.errors import InvalidInput, NotFoundOrNotAllowed, PlatformError
from core.models import Role, User
from core.pages import maps_link, page_actor, render_page
from core.permissions import page

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


def _current_shift(actor: Actor) -> NurseShift | None:
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


STATUS_CHOICES_FOR_NURSE = (
    NurseShift.Status.AVAILABLE,
    NurseShift.Status.ON_BREAK,
    NurseShift.Status.OFF,
)


def _shift_page(request: HttpRequest, error: PlatformError | None = None) -> HttpResponse:
    actor = page_actor(request)
    shift = _current_shift(actor)
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
    shift = _current_shift(actor)
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
    shift = _current_shift(actor)
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


def nurse_visits_list(*, actor: Actor) -> list[Visit]:
    """The nurse's active visits by deadline (the acute selector gates and
    audits one entry per citizen)."""
    far = timezone.now() + dt.timedelta(days=365)
    return sorted(
        acute_selectors.nurse_visits(actor=actor),
        key=lambda v: (v.referral.deadline_at if v.referral else v.planned_for or far, v.pk),
    )


@page(Role.ACUTE_NURSE)
def nurse_visits(request: HttpRequest) -> HttpResponse:
    actor = page_actor(request)
    rows = []
    visits = nurse_visits_list(actor=actor)
    warnings = acute_selectors.nurse_visit_warnings(visits=visits)
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
    return render_page(
        request,
        "acute/nurse_visits.html",
        {"rows": rows, "shift": _current_shift(actor), "now": timezone.now()},
    )


# --- the visit -----------------------------------------------------------------


def _summary(actor: Actor, visit: Visit) -> tuple[list[tuple[str, list[dict[str, Any]]]], bool]:
    """The consent-filtered shared record, grouped by resource type; the consent
    selector gates and audits the read. Returns (groups, refused)."""
    from consent.selectors import patient_everything

    try:
        resources = patient_everything(
            actor=actor, citizen_id=str(visit.citizen_id), purpose=Purpose.TREATMENT
        )
    except NotFoundOrNotAllowed:
        return [], True
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for resource in resources:
        if resource.get("resourceType") == "Patient":
            continue
        groups[resource.get("resourceType", "")].append(_resource_line(resource))
    return sorted(groups.items()), False


def _resource_line(resource: dict[str, Any]) -> dict[str, Any]:
    """One readable line for a FHIR resource of the shared record."""
    code = resource.get("code") or resource.get("category") or {}
    if isinstance(code, list):
        code = code[0] if code else {}
    coding = (code.get("coding") or [{}])[0] if isinstance(code, dict) else {}
    text = (
        (code.get("text") if isinstance(code, dict) else "")
        or coding.get("display")
        or resource.get("description")
        or resource.get("title")
        or resource.get("id", "")
    )
    when = (
        resource.get("recordedDate")
        or resource.get("onsetDateTime")
        or resource.get("effectiveDateTime")
        or (resource.get("period") or {}).get("start")
        or resource.get("created")
        or ""
    )
    return {"text": text, "code": coding.get("code", ""), "when": when[:10]}


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
        "referral": visit.referral,
        "summary": groups,
        "summary_refused": refused,
        "notes": list(VisitNote.objects.filter(visit=visit).order_by("-written_at")),
        "vitals": list(VitalSign.objects.filter(visit=visit).order_by("-measured_at", "code")),
        "vital_codes": VitalSign.Code.choices,
        "catalogue": catalogue,
        "results": results,
        "orders": orders,
        "warnings": acute_selectors.nurse_visit_warnings(visits=[visit]).get(visit.pk, []),
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
        "outcomes": Outcome.choices,
        "maps": maps_link(float(citizen.latitude), float(citizen.longitude))
        if citizen.latitude is not None and citizen.longitude is not None
        else "",
        "now": timezone.now(),
    }


def _bag_context(actor: Actor, visit: Visit, orders: list[Any]) -> list[dict[str, Any]]:
    """For each usable order on the visit: the medicine in the cabinet's
    catalogue and the lot her bag should give from (first to expire)."""
    from medicine_cabinet.models import Location, Medicine
    from medicine_cabinet.selectors import lot_suggest

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
        chosen = next(((m, lot) for m, lot in lots if lot is not None), (None, None))
        rows.append({"order": order, "medicine": chosen[0], "lot": chosen[1]})
    return rows


def _visit_page(
    request: HttpRequest, visit_id: int, error: PlatformError | None = None
) -> HttpResponse:
    actor = page_actor(request)
    try:
        visit = clinical_selectors.visit_access(
            actor=actor, visit_id=visit_id, action=Action.READ, own_visit=True
        )
    except PlatformError as exc:
        return render_page(request, "acute/visit.html", {}, error=exc)
    return render_page(request, "acute/visit.html", _visit_context(actor, visit), error=error)


@page(Role.ACUTE_NURSE)
def nurse_visit(request: HttpRequest, visit_id: int) -> HttpResponse:
    return _visit_page(request, visit_id)


def _write_visit(actor: Actor, visit_id: int) -> Visit:
    return clinical_selectors.visit_access(
        actor=actor, visit_id=visit_id, action=Action.UPDATE, own_visit=True
    )


def _once(request: HttpRequest, actor: Actor, visit: Visit, form: str, write: Any) -> bool:
    """Run a documentation write once per ``client_ref`` (the tablet's reference
    for a queued form); True when this was a re-send of one already received."""
    outcome = services.visit_submission_once(
        visit=visit,
        actor=actor,
        client_ref=request.POST.get("client_ref", ""),
        form=form,
        write=write,
    )
    if outcome.replayed:
        messages.info(request, _("Already received; nothing was saved twice."))
    return outcome.replayed


def _document(
    request: HttpRequest,
    visit_id: int,
    form: str,
    write: Callable[[Actor, Visit], object],
    saved: str,
) -> HttpResponse:
    """One documentation form on her own visit: gated, received once per
    ``client_ref``, refused with the visit page and the reason, or saved with
    ``saved`` shown."""
    actor = page_actor(request)
    try:
        visit = _write_visit(actor, visit_id)
        replayed = _once(request, actor, visit, form, lambda: write(actor, visit))
    except PlatformError as exc:
        return _visit_page(request, visit_id, exc)
    if not replayed:
        messages.success(request, saved)
    return redirect("nurse-visit", visit_id=visit_id)


STEPS = {
    "accept": services.visit_accept,
    "set_off": services.visit_set_off,
    "arrive": services.visit_arrive,
}


@page(Role.ACUTE_NURSE)
@require_POST
def visit_step(request: HttpRequest, visit_id: int) -> HttpResponse:
    """Accept, set off, arrive: one tap each."""
    actor = page_actor(request)
    step = STEPS.get(request.POST.get("step", ""))
    try:
        if step is None:
            raise InvalidInput("visit.step_unknown", "Unknown step.", field="step")
        step(visit=_write_visit(actor, visit_id), actor=actor)
    except PlatformError as exc:
        return _visit_page(request, visit_id, exc)
    return redirect("nurse-visit", visit_id=visit_id)


@page(Role.ACUTE_NURSE)
@require_POST
def visit_note(request: HttpRequest, visit_id: int) -> HttpResponse:
    return _document(
        request,
        visit_id,
        VisitSubmission.Form.NOTE,
        lambda actor, visit: services.visit_note_add(
            visit=visit,
            kind=request.POST.get("kind", VisitNote.Kind.NOTE),
            text=request.POST.get("text", ""),
            actor=actor,
        ),
        _("Note saved."),
    )


@page(Role.ACUTE_NURSE)
@require_POST
def visit_vitals(request: HttpRequest, visit_id: int) -> HttpResponse:
    measurements = [
        (code, request.POST[f"vital_{code}"].replace(",", ".").strip())
        for code in VitalSign.Code.values
        if request.POST.get(f"vital_{code}", "").strip()
    ]
    return _document(
        request,
        visit_id,
        VisitSubmission.Form.VITALS,
        lambda actor, visit: services.vital_signs_record(
            visit=visit, measurements=measurements, actor=actor
        ),
        _("Vital signs saved."),
    )


@page(Role.ACUTE_NURSE)
def lab_interpret(request: HttpRequest, visit_id: int) -> HttpResponse:
    """Instant interpretation while she types a value (htmx): against the
    reference interval for the citizen's sex; nothing is stored."""
    actor = page_actor(request)
    try:
        visit = clinical_selectors.visit_access(
            actor=actor, visit_id=visit_id, action=Action.READ, own_visit=True
        )
    except PlatformError as exc:
        return render_page(request, "acute/_interpretation.html", {}, error=exc)
    code = request.GET.get("code", "")
    raw = request.GET.get("value", "").replace(",", ".").strip()
    test = next((t for t in clinical_selectors.catalogue() if t.code == code), None)
    context: dict[str, Any] = {"test": test}
    if test is not None and raw:
        try:
            value = Decimal(raw)
            if not value.is_finite():
                raise ArithmeticError
        except (ArithmeticError, ValueError):
            context["invalid"] = True
        else:
            context["value"] = value
            context["interpretation"] = interpret(test, value, sex=visit.citizen.sex)
            context["interval"] = reference_interval(test, sex=visit.citizen.sex)
    return render_page(request, "acute/_interpretation.html", context)


@page(Role.ACUTE_NURSE)
@require_POST
def visit_lab(request: HttpRequest, visit_id: int) -> HttpResponse:
    code = request.POST.get("code", "")

    def record(actor: Actor, visit: Visit) -> object:
        test = next((t for t in clinical_selectors.catalogue() if t.code == code), None)
        entry = clinical_services.ResultInput(
            code=code,
            value=request.POST.get("value", "").replace(",", ".").strip(),
            unit=request.POST.get("unit") or (test.unit if test else ""),
        )
        return clinical_services.lab_results_record(actor=actor, visit=visit, entries=[entry])

    return _document(request, visit_id, VisitSubmission.Form.LAB, record, _("Result saved."))


@page(Role.ACUTE_NURSE)
@require_POST
def visit_phone_order(request: HttpRequest, visit_id: int) -> HttpResponse:
    """The physician's order by phone, recorded only after it was read back
    and the physician confirmed the read-back (R8)."""
    post = request.POST

    def record(actor: Actor, visit: Visit) -> object:
        return clinical_services.phone_order_record(
            actor=actor,
            visit=visit,
            details=clinical_services.OrderDetails(
                medicine_atc=post.get("medicine_atc", "").strip().upper(),
                medicine_name=post.get("medicine_name", "").strip(),
                dose=post.get("dose", "").replace(",", ".").strip(),
                dose_unit=post.get("dose_unit", "").strip(),
                route=post.get("route", "").strip(),
                frequency=post.get("frequency", "").strip(),
                duration=post.get("duration", "").strip(),
                indication=post.get("indication", "").strip(),
            ),
            ordered_at=timezone.now(),
            ordered_by_name=post.get("ordered_by_name", "").strip(),
            ordered_by_role=post.get("ordered_by_role", "").strip() or "physician",
            ordered_by_organisation_name=post.get("ordered_by_organisation_name", "").strip(),
            ordered_by_authorisation_id=post.get("ordered_by_authorisation_id", "").strip(),
            read_back=post.get("read_back") == "on",
            read_back_confirmed=post.get("read_back_confirmed") == "on",
        )

    return _document(
        request,
        visit_id,
        VisitSubmission.Form.PHONE_ORDER,
        record,
        _("Phone order recorded. The physician confirms it on her page."),
    )


def _witness(request: HttpRequest, *, dependence_forming: bool) -> User | None:
    """§4: the witness signs with her own username and password, checked (and
    throttled) like a login; a wrong one refuses the dose."""
    from medicine_cabinet import services as cabinet_services

    username = request.POST.get("witness_username", "").strip()
    password = request.POST.get("witness_password", "")
    if not username and not password:
        if dependence_forming:
            raise InvalidInput(
                "witness.required",
                _("A §4 medicine is given only with a witness: her username and password."),
                field="witness",
            )
        return None
    try:
        return cabinet_services.witness_verify(
            username=username, password=password, client_address=request.META.get("REMOTE_ADDR")
        )
    except InvalidInput as exc:
        raise InvalidInput(
            exc.code,
            _("The witness's username or password is wrong. Nothing was given."),
            field="witness",
        ) from None


@page(Role.ACUTE_NURSE)
@require_POST
def visit_give(request: HttpRequest, visit_id: int) -> HttpResponse:
    """A dose from her bag against an order on this visit (R8); the cabinet's
    service gates the citizen, picks the suggested lot and books the ledger."""
    from medicine_cabinet import services as cabinet_services
    from medicine_cabinet.models import Medicine

    actor = page_actor(request)
    post = request.POST
    try:
        order_id = int(post.get("order_id", ""))
    except ValueError:
        return _visit_page(
            request,
            visit_id,
            InvalidInput("administration.order_required", _("Choose the order."), field="order"),
        )
    try:
        order = next(
            (
                o
                for o in clinical_selectors.visit_orders(visit=_write_visit(actor, visit_id))
                if o.pk == order_id
            ),
            None,
        )
        if order is None:
            raise NotFoundOrNotAllowed()
        medicine = Medicine.objects.filter(
            pk=post.get("medicine_id") or 0, atc_code=order.medicine_atc
        ).first()
        if medicine is None:
            raise InvalidInput(
                "administration.medicine_not_stocked",
                _("This medicine is not kept in the cabinet."),
                field="order",
            )
        quantity = cabinet_services.quantity_parse(post.get("quantity", ""))
        cabinet_services.administration_give(
            actor=actor,
            visit_id=visit_id,
            order_id=order.pk,
            medicine=medicine,
            quantity=quantity,
            unit=post.get("unit", "").strip() or order.dose_unit,
            witness=_witness(request, dependence_forming=medicine.dependence_forming),
        )
    except PlatformError as exc:
        return _visit_page(request, visit_id, exc)
    messages.success(request, _("Dose given and booked from your bag."))
    return redirect("nurse-visit", visit_id=visit_id)


@page(Role.ACUTE_NURSE)
@require_POST
def visit_procedure(request: HttpRequest, visit_id: int) -> HttpResponse:
    """A procedure done on the visit: a predefined one (R7) or one under the
    visit's delegation; the clinical service refuses anything else."""
    post = request.POST
    return _document(
        request,
        visit_id,
        VisitSubmission.Form.PROCEDURE,
        lambda actor, visit: clinical_services.procedure_record(
            actor=actor,
            visit=visit,
            code=post.get("code", ""),
            status=post.get("status", "") or "completed",
            note=post.get("note", ""),
        ),
        _("Procedure recorded."),
    )


@page(Role.ACUTE_NURSE)
@require_POST
def visit_delegation(request: HttpRequest, visit_id: int) -> HttpResponse:
    """A physician's delegation of one task for this citizen (R7), recorded as
    she heard it; the task can then be done under it."""
    post = request.POST
    return _document(
        request,
        visit_id,
        VisitSubmission.Form.DELEGATION,
        lambda actor, visit: clinical_services.delegation_record(
            actor=actor,
            visit=visit,
            test_code=post.get("code", ""),
            physician_name=post.get("physician_name", ""),
            physician_authorisation_id=post.get("physician_authorisation_id", ""),
            physician_organisation_name=post.get("physician_organisation_name", ""),
            delegated_at=timezone.now(),
            note=post.get("note", ""),
        ),
        _("Delegation recorded."),
    )


@page(Role.ACUTE_NURSE)
@require_POST
def visit_complete(request: HttpRequest, visit_id: int) -> HttpResponse:
    """Outcome and hand-back (R11): the service closes the episode, which sends
    the hand-back to the citizen's home nursing and tells the referrer."""
    actor = page_actor(request)
    try:
        services.visit_complete(
            visit=_write_visit(actor, visit_id),
            outcome=request.POST.get("outcome", ""),
            assessment=request.POST.get("assessment", ""),
            note=request.POST.get("note", ""),
            actor=actor,
        )
    except PlatformError as exc:
        return _visit_page(request, visit_id, exc)
    messages.success(request, _("Visit completed. The hand-back is on its way."))
    return redirect("nurse-visits")


@page(Role.ACUTE_NURSE)
@require_POST
def break_glass(request: HttpRequest, visit_id: int) -> HttpResponse:
    """Break-the-glass (R4): a stated reason, a short time, flagged for the auditors."""
    from consent.services import break_glass_open

    actor = page_actor(request)
    visit = Visit.objects.filter(pk=visit_id, nurse=actor.user).only("citizen_id").first()
    try:
        if visit is None:
            raise NotFoundOrNotAllowed()
        break_glass_open(
            actor=actor,
            citizen_id=visit.citizen_id,
            reason=request.POST.get("reason", ""),
            basis=request.POST.get("basis", ""),
        )
    except PlatformError as exc:
        return _visit_page(request, visit_id, exc)
    messages.warning(request, _("Access opened for a short time. The auditors are told."))
    return redirect("nurse-visit", visit_id=visit_id)


# --- the coordinator's board -----------------------------------------------------

RISK_SOON_MINUTES = 30


def _risk(referral: Any, now: dt.datetime) -> str:
    """on_hold | late | at_risk | ok — from the time left and the assigned nurse's
    arrival. A referral held while the citizen is in hospital is neither late nor
    at risk: nobody is to go until the discharge."""
    if referral.on_hold_since is not None:
        return "on_hold"
    visit = referral.active_visits[0] if referral.active_visits else None
    if referral.deadline_at <= now:
        return "late"
    if visit is not None and visit.estimated_arrival_at is not None:
        return "at_risk" if visit.estimated_arrival_at > referral.deadline_at else "ok"
    if visit is None and referral.deadline_at - now <= dt.timedelta(minutes=RISK_SOON_MINUTES):
        return "at_risk"
    return "at_risk" if referral.open_warnings else "ok"


def _board_context(actor: Actor) -> dict[str, Any]:
    from core.pages import Marker, municipality_map
    from integrations.selectors import outbox_problems

    now = timezone.now()
    referrals = acute_selectors.referral_board(actor=actor)
    shifts = list(acute_selectors.shifts_on(at=now))
    markers = [
        Marker(s.latitude, s.longitude, s.nurse.display_name, "nurse", s.status)
        for s in shifts
        if s.latitude is not None and s.longitude is not None
    ]
    markers += [
        Marker(
            float(r.citizen.latitude),
            float(r.citizen.longitude),
            r.citizen.municipality.name,
            "referral",
        )
        for r in referrals
        if r.citizen.latitude is not None and not getattr(r, "active_visits", None)
    ]
    return {
        "now": now,
        "rows": [{"referral": r, "risk": _risk(r, now)} for r in referrals],
        "shifts": shifts,
        "map": municipality_map(markers),
        "warnings": list(acute_selectors.warnings_open()[:50]),
        "failed_messages": list(outbox_problems()[:50]),
    }


@page(Role.COORDINATOR)
def coordinator_board(request: HttpRequest) -> HttpResponse:
    return render_page(request, "acute/board.html", _board_context(page_actor(request)))


@page(Role.COORDINATOR)
def coordinator_board_live(request: HttpRequest) -> HttpResponse:
    """The board's body, polled by htmx every few seconds."""
    return render_page(request, "acute/_board.html", _board_context(page_actor(request)))


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
        shift = acute_selectors.shifts_on().filter(pk=request.POST.get("shift_id") or 0).first()
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
    request: HttpRequest, template: str, error: PlatformError | None = None
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
        },
        error=error,
    )


def _referral_data(request: HttpRequest) -> dict[str, Any]:
    data: dict[str, Any] = {k: request.POST.get(k, "").strip() for k in REFERRAL_FIELDS}
    data["cpr"] = data["cpr"].replace("-", "").replace(" ", "")
    if not data["cpr"].isdigit() or len(data["cpr"]) != 10:
        raise InvalidInput(
            "referral.cpr_invalid", _("Type the CPR number as 10 digits."), field="cpr"
        )
    data["required_skills"] = request.POST.getlist("required_skills")
    return data


@page(Role.COORDINATOR)
def referral_phone(request: HttpRequest) -> HttpResponse:
    """The phone referral, typed in while the caller talks; accepted at once
    unless the coordinator unticks it."""
    if request.method != "POST":
        return _referral_form(request, "acute/referral_phone.html")
    actor = page_actor(request)
    try:
        referral = services.referral_intake(actor=actor, **_referral_data(request))
        if request.POST.get("accept") == "on" and referral.status == "received":
            referral = services.referral_accept(referral=referral, actor=actor)
    except PlatformError as exc:
        return _referral_form(request, "acute/referral_phone.html", exc)
    messages.success(request, _("Referral received."))
    return redirect("referral-detail", referral_id=referral.pk)


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


@page(Role.COORDINATOR)
def coordinator_figures(request: HttpRequest) -> HttpResponse:
    """Follow-up figures with charts (aggregates only: no citizen data)."""
    from core.pages import bar_chart

    today = timezone.localdate()
    try:
        start = dt.date.fromisoformat(request.GET.get("start") or str(today - dt.timedelta(29)))
        end = dt.date.fromisoformat(request.GET.get("end") or str(today))
    except ValueError:
        return render_page(
            request,
            "acute/figures.html",
            {},
            error=InvalidInput("figures.date_invalid", _("Dates as YYYY-MM-DD."), field="start"),
        )
    try:
        rows = acute_selectors.figures(start=start, end=end, period="day")
    except PlatformError as exc:
        return render_page(request, "acute/figures.html", {"start": start, "end": end}, error=exc)
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
    within = [(k, round(100 * met / n) if n else 0) for k, (met, n) in sorted(totals.items())]
    return render_page(
        request,
        "acute/figures.html",
        {
            "start": start,
            "end": end,
            "within": within,
            "within_chart": bar_chart(within),
            "outcomes_chart": bar_chart(sorted(outcomes.items())),
            "visits_chart": bar_chart(sorted(visits.items())),
            "rows": rows,
        },
    )
