"""The coordinator's live board: open referrals by deadline and risk (and
which of them has a partner's message waiting for an answer), nurses on
the map, the open clinical alerts of her acute function, warnings, the
hand-offs that failed or were withheld, the messages from partners the
platform refused, and partners' messages about citizens without an open
referral. It combines acute with integrations, so it lives in the
composition layer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from acute import selectors as acute_selectors
from acute import services as acute_services
from acute.clinical import selectors as clinical_selectors
from acute.clinical import services as clinical_services
from acute.clinical.models import MedicationOrder, PhysicianAlert
from acute.models import DeadlineWarning, Outcome
from acute.occurrence import dispatch_opens_at
from consent.audit.services import Action
from core.actors import Actor
from core.errors import Conflict, Forbidden, InvalidInput, NotFoundOrNotAllowed, PreconditionFailed
from core.form_once import form_refused, once_per_form
from core.messages import user_message
from core.middleware import not_allowed
from core.models import Role
from core.pages import Marker, municipality_map, page_actor, render_page
from core.permissions import page, serves
from core.refusals import Concerns
from core.times import TwiceShown, local_wall_time, typed_moment
from integrations.care_threads.unmatched import care_threads_unmatched
from integrations.inbox import inbox_refusal_note
from integrations.models import InboundMessage, OutboundMessage
from integrations.outbox import outbox_mark_handled, outbox_resend
from integrations.selectors import (
    care_threads_awaiting_answer,
    inbox_refusal,
    inbox_refusals,
    outbox_message,
    outbox_problems,
)

T = TypeVar("T")

RISK_SOON_MINUTES = 30


def _risk(referral: Any, now: dt.datetime) -> str:
    """on_hold | planned | late | at_risk | ok — from the time left and the
    assigned nurse's arrival. A referral held while the citizen is in hospital
    is neither late nor at risk: nobody is to go until the discharge; nor is
    one planned for later before a nurse may be sent (``acute.occurrence``)."""
    if referral.on_hold_since is not None:
        return "on_hold"
    if referral.planned_for is not None and now < dispatch_opens_at(referral.planned_for):
        return "planned"
    visit = referral.active_visits[0] if referral.active_visits else None
    if referral.deadline_at < now:  # a nurse at the door at its very second meets it
        return "late"
    # A nurse whose estimated arrival has passed without her at the door is
    # late: her estimate vouches for nothing, as for the deadline watch.
    late_nurse = (
        visit is not None
        and visit.on_site_at is None
        and visit.estimated_arrival_at is not None
        and visit.estimated_arrival_at < now
    )
    if visit is not None and visit.estimated_arrival_at is not None and not late_nurse:
        return "at_risk" if visit.estimated_arrival_at > referral.deadline_at else "ok"
    if (visit is None or late_nurse) and referral.deadline_at - now <= dt.timedelta(
        minutes=RISK_SOON_MINUTES
    ):
        return "at_risk"
    return "at_risk" if referral.open_warnings else "ok"


def _board_context(actor: Actor) -> dict[str, Any]:

    now = timezone.now()
    referrals = acute_selectors.referral_board(actor=actor)
    # Her own acute function's nurses: another function's are not hers to send.
    shifts = list(
        acute_selectors.shifts_on(
            at=now, acute_function_id=actor.organisation.pk if actor.organisation else 0
        )
    )
    # What each nurse has in hand beside her own status: every open visit of
    # hers, counted by the database — not only those on the referrals still
    # on the board (a visit on site and a follow-up are in her hands too).
    for s in shifts:
        s.visits_in_hand = s.load  # type: ignore[attr-defined]
    markers = [
        Marker(
            s.latitude,
            s.longitude,
            s.nurse.display_name,
            "nurse",
            s.status,
            tag=s.nurse.display_name.split(" ")[0],
            href=f"#shift-{s.pk}",
        )
        for s in shifts
        if s.latitude is not None and s.longitude is not None
    ]
    # A waiting referral's pin carries its number on the list of open referrals.
    markers += [
        Marker(
            float(r.citizen.latitude),
            float(r.citizen.longitude),
            f"{number}. {r.citizen.municipality.name}",
            "referral",
            tag=str(number),
            href=f"#referral-{r.pk}",
        )
        for number, r in enumerate(referrals, start=1)
        if r.citizen.latitude is not None and not getattr(r, "active_visits", None)
    ]
    # A partner's message acknowledged ok waits for an answer on the
    # referral's page: the board points her there.
    awaiting = care_threads_awaiting_answer(referrals={r.pk: r.citizen_id for r in referrals})
    return {
        "now": now,
        "rows": [
            {"referral": r, "risk": _risk(r, now), "answer_awaited": r.pk in awaiting}
            for r in referrals
        ],
        "shifts": shifts,
        "map": municipality_map(markers),
        # Critical results, late doses and escalations: the API's list, its
        # audit one entry per citizen shown (R9).
        "clinical_alerts": clinical_selectors.board_alerts_open(actor=actor, limit=50),
        "warnings": _with_outcome_text(acute_selectors.warnings_open(actor=actor, limit=50)),
        "failed_messages": list(outbox_problems()[:50]),
        "refused_messages": list(inbox_refusals()[:50]),
        # Partners' messages no open referral shows (decision 0031).
        "unmatched_threads": care_threads_unmatched(actor=actor, limit=50),
    }


def _with_outcome_text(warnings: list[DeadlineWarning]) -> list[DeadlineWarning]:
    """The outcome the coordinator phones the referrer with, in her language."""
    for warning in warnings:
        tell = getattr(warning, "referrer_to_tell", None)
        if tell is not None:
            warning.outcome_text = _(Outcome(tell["outcome"]).label)  # type: ignore[attr-defined]
    return warnings


# The board names citizens (its referrals, and whom to phone about an ended
# episode, R11): another role refused there is recorded (R9).
BOARD_CONCERNS = Concerns("Flag", action="read")


@page(Role.COORDINATOR, concerns=BOARD_CONCERNS)
def coordinator_board(request: HttpRequest) -> HttpResponse:
    return render_page(request, "acute/board.html", _board_context(page_actor(request)))


@page(Role.COORDINATOR, concerns=BOARD_CONCERNS)
def coordinator_board_live(request: HttpRequest) -> HttpResponse:
    """The board's body, polled by htmx every few seconds."""
    return render_page(request, "acute/_board.html", _board_context(page_actor(request)))


def _board_step(
    request: HttpRequest,
    item: T | None,
    step: Callable[[T], object],
    *,
    done: str,
    already: str | None = None,
    refused: Callable[[str], str] | None = None,
) -> HttpResponse:
    """The coordinator's step on something her board shows (a warning, a
    message), the same service as the API's, and back to the board. An item she
    may not reach is refused as any page is; ``already`` (a msgid) tells her
    another coordinator was first, ``refused`` why the step could not be taken
    now; a step that fails otherwise is the error page."""
    if item is None:
        return not_allowed(request)
    try:
        step(item)
    except Conflict:
        if already is None:
            raise
        messages.info(request, _(already))
    except PreconditionFailed as exc:
        if refused is None:
            raise
        form_refused(request)  # not taken now: the same form may be sent again
        messages.info(request, refused(exc.code))
    else:
        messages.success(request, _(done))
    return redirect("coordinator-board")


@page(
    Role.COORDINATOR,
    concerns=Concerns(
        "Flag", DeadlineWarning, path="warning_id", citizen_field="referral__citizen_id"
    ),
)
@serves("POST")
@once_per_form
def warning_acknowledge(request: HttpRequest, warning_id: int) -> HttpResponse:
    """The coordinator has seen a warning on the board: it leaves the board,
    as through the API's acknowledge (R10)."""
    actor = page_actor(request)
    return _board_step(
        request,
        acute_selectors.warning_of(actor=actor, pk=warning_id),
        lambda warning: acute_services.warning_acknowledge(warning=warning, actor=actor),
        done=gettext_noop("Warning acknowledged."),
        already=gettext_noop("Another coordinator has already acknowledged the warning."),
    )


@page(Role.COORDINATOR, concerns=Concerns("Flag", PhysicianAlert, path="alert_id"))
@serves("POST")
@once_per_form
def clinical_alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    """The coordinator has seen a clinical alert of her acute function (and
    acted on it, phoning the physician on call): it leaves the board, as
    through the API's acknowledge — the same access check and service, each
    recorded (R9)."""
    actor = page_actor(request)
    try:
        alert: PhysicianAlert | None = clinical_selectors.alert_access(
            actor=actor, alert_id=alert_id
        )
    except NotFoundOrNotAllowed:
        alert = None  # recorded as the denied attempt by ``alert_access``
    return _board_step(
        request,
        alert,
        lambda seen: clinical_services.physician_alert_acknowledge(actor=actor, alert=seen),
        done=gettext_noop("Alert marked as seen."),
    )


@page(Role.COORDINATOR, concerns=Concerns("MedicationRequest", MedicationOrder, path="order_id"))
@serves("POST")
@once_per_form
def order_received(request: HttpRequest, order_id: int) -> HttpResponse:
    """The coordinator records, from a clinical alert on her board, that the
    confirmation or prescription of a phone order whose physician is no user
    of the platform was received by another route (FMK, her phone call, in
    writing) — the API's access check and service, each recorded (R8, R9)."""
    actor = page_actor(request)
    return _order_step(
        request,
        order_id,
        lambda order: clinical_services.medication_order_received_record(
            actor=actor,
            order=order,
            confirmation=request.POST.get("confirmation") == "on",
            prescription=request.POST.get("prescription") == "on",
            seen_by=request.POST.get("seen_by", ""),
            note=request.POST.get("note", ""),
        ),
        done=_("Recorded as received by another route."),
        form="acute/order_received.html",
    )


@page(Role.COORDINATOR, concerns=Concerns("MedicationRequest", MedicationOrder, path="order_id"))
@serves("POST")
@once_per_form
def order_withdrawal_phoned(request: HttpRequest, order_id: int) -> HttpResponse:
    """The coordinator records, from a clinical alert on her board, that the
    physician of a phone order, who is no user of the platform, phoned to
    withdraw it: who phoned, when (empty: now, Danish time) and her note —
    the API's access check and the physician's own withdrawal, each
    recorded (R8, R9)."""
    actor = page_actor(request)
    return _order_step(
        request,
        order_id,
        lambda order: clinical_services.medication_order_cancel(
            actor=actor,
            order=order,
            reason=request.POST.get("reason", ""),
            phoned=clinical_services.WithdrawalPhoned(
                by=request.POST.get("phoned_by", ""),
                at=_typed_local_time(
                    request.POST.get("phoned_at", ""), field="phoned_at", form=request.POST
                ),
            ),
        ),
        done=_("Recorded: the physician withdrew the order by phone."),
        form="acute/order_withdrawal_phoned.html",
    )


def _order_step(
    request: HttpRequest,
    order_id: int,
    step: Callable[[MedicationOrder], object],
    *,
    done: str,
    form: str | None = None,
) -> HttpResponse:
    """A step on a phone order from the board: the order through the API's
    access check for her acute function ("not available" when refused,
    recorded there), then ``step``; the same form may be sent again. What
    she typed that is refused (a time no calendar has, a field left empty,
    a time the clocks show twice) is answered with the step's ``form`` (a
    template) again as she filled it in, away from the board's refresh,
    with the refusal under its field (and, for a time shown twice, the
    choice of which of the two she means, core.times): never a message on
    the board with what she typed gone. Any other refusal (the order is no
    longer open, its physician withdraws it herself) is shown on the
    board."""
    try:
        order = clinical_selectors.order_access_for_acute_function(
            actor=page_actor(request), order_id=order_id, action=Action.UPDATE
        )
    except NotFoundOrNotAllowed:
        return not_allowed(request)  # recorded as the denied attempt
    try:
        step(order)
    except (Conflict, InvalidInput, Forbidden) as exc:
        form_refused(request)  # not taken: the same form may be sent again
        if form is not None and (
            isinstance(exc, InvalidInput) or any(isinstance(e, TwiceShown) for e in exc.related)
        ):
            return render_page(request, form, {"order": order, "refused": True}, error=exc)
        messages.error(request, user_message(exc))
    else:
        messages.success(request, done)
    return redirect("coordinator-board")


def _typed_local_time(
    raw: str, *, field: str, form: Mapping[str, Any] | None = None
) -> dt.datetime | None:
    """A date and time typed on the board, in Danish time; empty: none. Read
    as :func:`core.times.typed_moment` reads it: "2026-12-08 10.30" is half
    past ten, and a form it does not read is refused, never taken as
    another time. A time the clocks show twice is read with the choice of
    which of the two the form carries (:func:`core.times.local_wall_time`)."""
    raw = raw.strip()
    if not raw:
        return None
    invalid = InvalidInput(
        "order.withdrawal_phoned_at_invalid",
        "Write when the physician phoned as a date and a time.",
        field=field,
    )
    parsed = typed_moment(raw)
    if parsed is None:  # another form, or a day or time no calendar has
        raise invalid
    return local_wall_time(parsed, field=field, form=form)


@page(Role.COORDINATOR, concerns=Concerns("Bundle", InboundMessage, path="message_id"))
@serves("POST")
@once_per_form
def refusal_noted(request: HttpRequest, message_id: int) -> HttpResponse:
    """The coordinator has seen a message the platform refused (and phoned its
    sender where it mattered): it leaves the board, as through the API."""
    return _board_step(
        request,
        inbox_refusal(pk=message_id),
        lambda message: inbox_refusal_note(message=message, actor=page_actor(request)),
        done=gettext_noop("The refused message has left the board."),
        already=gettext_noop("Another coordinator has already seen the message."),
    )


@page(Role.COORDINATOR, concerns=Concerns("Bundle", OutboundMessage, path="message_id"))
@serves("POST")
@once_per_form
def outbox_message_resend(request: HttpRequest, message_id: int) -> HttpResponse:
    """The coordinator sends a failed or withheld hand-off again, as through
    the API: a new round of attempts (a withheld one goes only once the
    citizen's refusal no longer covers it)."""
    return _outbox_step(
        request, message_id, outbox_resend, done=gettext_noop("The message is being sent again.")
    )


@page(Role.COORDINATOR, concerns=Concerns("Bundle", OutboundMessage, path="message_id"))
@serves("POST")
@once_per_form
def outbox_message_handled(request: HttpRequest, message_id: int) -> HttpResponse:
    """The coordinator has dealt with a failed or withheld hand-off another
    way (she phoned the recipient): it leaves the board, as through the API."""
    return _outbox_step(
        request,
        message_id,
        outbox_mark_handled,
        done=gettext_noop("The message is marked handled and has left the board."),
        already=gettext_noop("Another coordinator has already handled the message."),
    )


class OutboxStep(Protocol):
    def __call__(self, *, message: OutboundMessage, by: Actor) -> object: ...


def _outbox_step(
    request: HttpRequest,
    message_id: int,
    step: OutboxStep,
    *,
    done: str,
    already: str | None = None,
) -> HttpResponse:
    """A step on a hand-off the board shows (``step(message=, by=)``, the
    outbox's own service): a refusal to take it now is explained, not an error."""
    return _board_step(
        request,
        outbox_message(pk=message_id),
        lambda message: step(message=message, by=page_actor(request)),
        done=done,
        already=already,
        refused=_outbox_refusal_text,
    )


def _outbox_refusal_text(code: str) -> str:
    """Why a hand-off was not re-sent or marked, as the coordinator reads it."""
    if code == "outbox.rule_broken":
        return _(
            "The message breaks MedCom's rules and is never sent: correct the cause,"
            " and the next message goes. Mark it handled when you have passed it on."
        )
    return _("The message is on its way again and needs nothing from you now.")
