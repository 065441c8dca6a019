"""What the nurse records on the visit page: status steps, notes, vital signs,
lab results, phone orders, doses from her bag, procedures, delegations, the
outcome and break-the-glass. Every write calls the same service as the API;
a refusal re-renders the visit page with what she typed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from acute import selectors as acute_selectors
from acute import services
from acute.clinical import selectors as clinical_selectors
from acute.clinical import services as clinical_services
from acute.clinical.catalogue import (
    check_plausible,
    interpret,
    parse_value,
    reference_interval,
    stored_value,
)
from acute.clinical.forms import order_details_from
from acute.models import Visit, VisitNote, VisitSubmission, VitalSign
from acute.pages.referrals import EPISODE_CLOSED
from consent.audit.services import Action, Purpose
from consent.services import break_glass_open
from consent.services.denied import audit_denied
from core.actors import Actor
from core.errors import Conflict, InvalidInput, NotFoundOrNotAllowed, PlatformError
from core.form_once import FIELD as FORM_REF
from core.form_once import once_per_form
from core.messages import user_message
from core.models import Role
from core.pages import page_actor, render_page
from core.permissions import ViewFunc, page, serves
from core.refusals import Concerns
from core.times import read_moment
from core.validation import typed_number
from portal.visit_page import _visit_page

# What the visit's forms are about: a role refused there is an attempt on the
# visit's citizen (R9), as through the API's doors to the same writes.
ENCOUNTER = Concerns("Encounter", Visit, path="visit_id")
OBSERVATION = Concerns("Observation", Visit, path="visit_id")


def _write_visit(actor: Actor, visit_id: int) -> Visit:
    return clinical_selectors.visit_access(
        actor=actor, visit_id=visit_id, action=Action.UPDATE, own_visit=True
    )


# The tablet's own reference for an entry its script sends or queues: such a
# send is received once by it (``visit_submission_once``); a form sent
# without the script is received once by its form's reference
# (``core.form_once``).
CLIENT_REF = "client_ref"


def tablet_form(concerns: Concerns) -> Callable[[ViewFunc], ViewFunc]:
    """A form of the nurse's visit that her tablet sends, at once or later
    from its queue: hers to send (``concerns`` names what it is about, so a
    role refused there is recorded on the citizen), POST only, and done once
    however often it arrives (by the queue's entry reference, else by the
    form's)."""

    def decorate(view: ViewFunc) -> ViewFunc:
        once = once_per_form(unless_sent=CLIENT_REF)(view)
        return page(Role.ACUTE_NURSE, concerns=concerns)(serves("POST")(once))

    return decorate


# What may differ between two sends of one queued entry: the form token, the
# references, the §4 witness's password (kept only in memory, so gone
# after a reload) and the time the tablet queued the entry.
_NOT_THE_ENTRY = frozenset(
    {"csrfmiddlewaretoken", CLIENT_REF, FORM_REF, "witness_password", "given_offline_at"}
)


QUEUED_TIME_UNREADABLE = (
    "The tablet sent no readable time for this entry, so it is not recorded;"
    " enter it again and note when it was done."
)


def offline_moment(post: QueryDict) -> dt.datetime | None:
    """When she did what her tablet queued (``given_offline_at``, ISO 8601
    from the tablet's clock, set on every queued entry): the time a dose was
    given, vital signs measured, a sample taken, a procedure done, an order
    or a delegation received by phone, a note written, a step of the visit
    taken. A queued
    entry may arrive long after, when the world has changed (the citizen
    registered dead meanwhile): judged at the time she did it, not when it
    arrived. None for an entry sent at once (no ``given_offline_at``). A
    clinical time is never moved: a time that is no moment in ISO 8601's
    extended form with its offset (:func:`core.times.read_moment`) refuses
    the entry, and so does one the rule of every door's tablet time refuses
    (:func:`acute.services.tablet_time_judged`: ahead of the server's
    clock, more than a day back); the tablet keeps it with the reason."""
    raw = post.get("given_offline_at", "").strip()
    if not raw:
        return None
    moment = read_moment(raw[:40])
    if moment is None or timezone.is_naive(moment):
        raise InvalidInput(
            "offline.time_unreadable", QUEUED_TIME_UNREADABLE, field="given_offline_at"
        )
    return services.tablet_time_judged(moment, field="given_offline_at")


def queued_time(
    post: QueryDict, *, actor: Actor, visit: Visit, action: str, resource_type: str
) -> dt.datetime | None:
    """:func:`offline_moment` on her own visit, its refusal a denied attempt
    on the citizen's record (R9), as a refused time through the API is."""
    try:
        return offline_moment(post)
    except InvalidInput as error:
        audit_denied(
            actor=actor,
            action=action,
            purpose=Purpose.TREATMENT,
            reason_code=error.code,
            citizen_id=visit.citizen_id,
            resource_type=resource_type,
            resource_id=f"visit-{visit.pk}",
        )
        raise


def _step_queued_at(request: HttpRequest, actor: Actor, visit: Visit) -> dt.datetime | None:
    """When she took a step of the visit (the Encounter) that her tablet
    queued: :func:`queued_time` of an update of it."""
    return queued_time(
        request.POST, actor=actor, visit=visit, action=Action.UPDATE, resource_type="Encounter"
    )


def _fingerprint(request: HttpRequest) -> str:
    """What the form says, so the same ``client_ref`` with another entry is
    told apart from a re-send of the first."""
    return services.submission_fingerprint(
        (name, value)
        for name, values in request.POST.lists()
        if name not in _NOT_THE_ENTRY
        for value in values
    )


def _received_before(request: HttpRequest, actor: Actor, visit_id: int) -> bool:
    """A re-send of a form already received (its first answer was lost on the
    way back): answered "already received" before the gate, which would
    refuse a visit completed meanwhile. The same reference with another
    entry is no re-send: it goes on and is refused."""
    if acute_selectors.visit_submission_received(
        actor=actor,
        visit_id=visit_id,
        client_ref=request.POST.get("client_ref", ""),
        fingerprint=_fingerprint(request),
    ):
        messages.info(request, _("Already received; nothing was saved twice."))
        return True
    return False


def _once(request: HttpRequest, actor: Actor, visit: Visit, form: str, write: Any) -> bool:
    """Run a documentation write once per ``client_ref`` (the tablet's reference
    for a queued form); True when this was a re-send of one already received."""
    outcome = services.visit_submission_once(
        visit=visit,
        actor=actor,
        client_ref=request.POST.get("client_ref", ""),
        form=form,
        write=write,
        fingerprint=_fingerprint(request),
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
    field_names: dict[str, str] | None = None,
    resource_type: str = "Observation",
) -> HttpResponse:
    """One documentation form on her own visit: gated, its queued time
    judged (:func:`queued_time`), received once per ``client_ref``, refused
    with the visit page and the reason, or saved with ``saved`` shown."""
    actor = page_actor(request)
    if _received_before(request, actor, visit_id):
        return redirect("nurse-visit", visit_id=visit_id)
    try:
        visit = _write_visit(actor, visit_id)
        queued_time(
            request.POST,
            actor=actor,
            visit=visit,
            action=Action.CREATE,
            resource_type=resource_type,
        )
        replayed = _once(request, actor, visit, form, lambda: write(actor, visit))
    except PlatformError as exc:
        return _visit_page(request, visit_id, exc, field_names=field_names)
    if not replayed:
        messages.success(request, saved)
    return redirect("nurse-visit", visit_id=visit_id)


STEPS = {
    "accept": services.visit_accept,
    "set_off": services.visit_set_off,
    "arrive": services.visit_arrive,
}


@tablet_form(ENCOUNTER)
def visit_step(request: HttpRequest, visit_id: int) -> HttpResponse:
    """Accept, set off, arrive: one tap each, received once per ``client_ref``
    (a tap queued offline and replayed is not a second step)."""
    actor = page_actor(request)
    if _received_before(request, actor, visit_id):
        return redirect("nurse-visit", visit_id=visit_id)
    step = STEPS.get(request.POST.get("step", ""))
    try:
        # The gate first: a step on a visit she may not act on is a denied
        # attempt on its citizen (R9), whatever the form says.
        visit = _write_visit(actor, visit_id)
        if step is None:
            raise InvalidInput("visit.step_unknown", "Unknown step.", field="step")
        # A step her tablet queued is taken when she tapped it: the
        # referral is reached when she arrived (R10), not when it was sent.
        at = _step_queued_at(request, actor, visit)
        _once(
            request,
            actor,
            visit,
            VisitSubmission.Form.STEP,
            lambda: step(visit=visit, actor=actor, at=at),
        )
    except PlatformError as exc:
        return _visit_page(request, visit_id, exc)
    return redirect("nurse-visit", visit_id=visit_id)


@tablet_form(ENCOUNTER)
def visit_decline(request: HttpRequest, visit_id: int) -> HttpResponse:
    """She cannot take an assignment: declined at once, with her reason if
    she gives one, so dispatch sends another nurse now rather than when the
    time to accept runs out. Online only (the form says so): offline, the
    time to accept runs out as it would. The visit is no longer hers: back to
    her list."""
    actor = page_actor(request)
    try:
        visit = _write_visit(actor, visit_id)
        services.visit_decline(visit=visit, reason=request.POST.get("reason", ""), actor=actor)
    except PlatformError as exc:
        return _visit_page(request, visit_id, exc)
    messages.success(request, _("Visit declined. The coordinator sends another nurse."))
    return redirect("nurse-visits")


@tablet_form(ENCOUNTER)
def visit_note(request: HttpRequest, visit_id: int) -> HttpResponse:
    return _document(
        request,
        visit_id,
        VisitSubmission.Form.NOTE,
        lambda actor, visit: services.visit_note_add(
            visit=visit,
            kind=request.POST.get("kind", VisitNote.Kind.NOTE),
            text=request.POST.get("text", ""),
            written_at=offline_moment(request.POST),
            actor=actor,
        ),
        _("Note saved."),
        resource_type="Encounter",
    )


@tablet_form(OBSERVATION)
def visit_vitals(request: HttpRequest, visit_id: int) -> HttpResponse:
    measurements = [
        (code, typed_number(request.POST[f"vital_{code}"]))
        for code in VitalSign.Code.values
        if request.POST.get(f"vital_{code}", "").strip()
    ]
    return _document(
        request,
        visit_id,
        VisitSubmission.Form.VITALS,
        lambda actor, visit: services.vital_signs_record(
            visit=visit,
            measurements=measurements,
            measured_at=offline_moment(request.POST),
            actor=actor,
        ),
        _("Vital signs saved."),
        field_names={
            f"measurements[{index}].{part}": f"vital_{code}"
            for index, (code, _value) in enumerate(measurements)
            for part in ("value", "code")
        },
    )


@page(Role.ACUTE_NURSE, concerns=OBSERVATION)
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
    raw = typed_number(request.GET.get("value", ""))
    test = next((t for t in clinical_selectors.catalogue() if t.code == code), None)
    context: dict[str, Any] = {"test": test}
    if test is not None and raw:
        try:
            value = parse_value(raw, field="value")
        except InvalidInput as exc:
            context["invalid"] = user_message(exc)
        else:
            try:
                check_plausible(test, value, field="value")
            except InvalidInput as exc:
                context["implausible"] = user_message(exc)
                return render_page(request, "acute/_interpretation.html", context)
            value = stored_value(test, value)
            context["value"] = value
            context["interpretation"] = interpret(test, value, sex=visit.citizen.sex)
            context["interval"] = reference_interval(test, sex=visit.citizen.sex)
    return render_page(request, "acute/_interpretation.html", context)


@tablet_form(OBSERVATION)
def visit_lab(request: HttpRequest, visit_id: int) -> HttpResponse:
    code = request.POST.get("code", "")

    def record(actor: Actor, visit: Visit) -> object:
        test = next((t for t in clinical_selectors.catalogue() if t.code == code), None)
        entry = clinical_services.ResultInput(
            code=code,
            value=typed_number(request.POST.get("value", "")),
            unit=request.POST.get("unit") or (test.unit if test else ""),
            effective_at=offline_moment(request.POST),
        )
        return clinical_services.lab_results_record(actor=actor, visit=visit, entries=[entry])

    return _document(
        request,
        visit_id,
        VisitSubmission.Form.LAB,
        record,
        _("Result saved."),
        field_names={f"results[0].{part}": part for part in ("code", "value", "unit")},
    )


@tablet_form(Concerns("MedicationRequest", Visit, path="visit_id"))
def visit_phone_order(request: HttpRequest, visit_id: int) -> HttpResponse:
    """The physician's order by phone, recorded only after it was read back
    and the physician confirmed the read-back (R8)."""
    post = request.POST

    def record(actor: Actor, visit: Visit) -> object:
        return clinical_services.phone_order_record(
            actor=actor,
            visit=visit,
            details=order_details_from(post),
            ordered_at=offline_moment(post) or timezone.now(),
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
        resource_type="MedicationRequest",
    )


@tablet_form(Concerns("Procedure", Visit, path="visit_id"))
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
            performed_at=offline_moment(post),
            status=post.get("status", "") or "completed",
            note=post.get("note", ""),
        ),
        _("Procedure recorded."),
        resource_type="Procedure",
    )


@tablet_form(Concerns("Delegation", Visit, path="visit_id"))
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
            delegated_at=offline_moment(post) or timezone.now(),
            note=post.get("note", ""),
        ),
        _("Delegation recorded."),
        resource_type="Delegation",
    )


@tablet_form(ENCOUNTER)
def visit_complete(request: HttpRequest, visit_id: int) -> HttpResponse:
    """Outcome and hand-back (R11): the service closes the episode, which sends
    the hand-back to the citizen's home nursing and tells the referrer."""
    actor = page_actor(request)
    if _received_before(request, actor, visit_id):
        return redirect("nurse-visits")
    try:
        visit = _write_visit(actor, visit_id)
        at = _step_queued_at(request, actor, visit)
        replayed = _once(
            request,
            actor,
            visit,
            VisitSubmission.Form.COMPLETION,
            lambda: services.visit_complete(
                visit=visit,
                outcome=request.POST.get("outcome", ""),
                assessment=request.POST.get("assessment", ""),
                note=request.POST.get("note", ""),
                actor=actor,
                at=at,
            ),
        )
    except PlatformError as exc:
        return _visit_page(request, visit_id, exc)
    if replayed:
        return redirect("nurse-visits")
    # No promise that the hand-back went: it may have nobody to receive it,
    # or be withheld on the citizen's refusal (R4); the board shows either.
    messages.success(
        request,
        _(
            "Visit completed. A hand-back or outcome that cannot be sent is shown on the"
            " coordinator's board."
        ),
    )
    return redirect("nurse-visits")


@tablet_form(Concerns("EpisodeOfCare", Visit, path="visit_id"))
def visit_episode_complete(request: HttpRequest, visit_id: int) -> HttpResponse:
    """The episode ended before she is with the citizen (nobody opened, the
    referral lapsed): she closes it from her own visit while it is active,
    through the same service as the coordinator's API, with its hand-back
    and the referrer's outcome (R11). With the citizen she finishes her
    visit instead, which ends the episode with what she found."""
    actor = page_actor(request)
    try:
        visit = _write_visit(actor, visit_id)
        if visit.status not in Visit.ACTIVE_STATUSES:
            raise Conflict("visit.not_active", "That visit is no longer active.")
        services.episode_complete(
            episode=visit.episode,
            outcome=request.POST.get("outcome", ""),
            note=request.POST.get("note", ""),
            actor=actor,
        )
    except PlatformError as exc:
        return _visit_page(request, visit_id, exc)
    messages.success(request, _(EPISODE_CLOSED))
    return redirect("nurse-visits")


@page(
    Role.ACUTE_NURSE,
    concerns=Concerns("Patient", Visit, path="visit_id", purpose="emergency", action="break_glass"),
)
@serves("POST")
@once_per_form(unless_sent=CLIENT_REF)
def break_glass(request: HttpRequest, visit_id: int) -> HttpResponse:
    """Break-the-glass (R4): a stated reason, a short time, flagged for the auditors."""

    actor = page_actor(request)
    visit = Visit.objects.filter(pk=visit_id).only("citizen_id", "nurse_id").first()
    try:
        if visit is None or actor.user is None or visit.nurse_id != actor.user.pk:
            # Only on her own visit; on another's it is a denied attempt to
            # break the glass for that visit's citizen (R9), as the API's
            # break-the-glass records a refused one.
            audit_denied(
                actor=actor,
                action=Action.BREAK_GLASS,
                purpose=Purpose.EMERGENCY,
                reason_code="unknown_visit" if visit is None else "not_visit_nurse",
                citizen_id=visit.citizen_id if visit is not None else None,
                resource_type="Encounter",
                resource_id=f"visit-{visit_id}",
            )
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
