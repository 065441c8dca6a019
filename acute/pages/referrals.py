"""The coordinator's page of one referral and what she decides on it: assign
or reassign a nurse, accept or decline, change the urgency, end the episode.
Every write calls the same service as the API; the forms that create a
referral are in ``referral_forms``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from acute import selectors as acute_selectors
from acute import services
from acute.models import DeadlineWarning, NurseShift, Referral, Urgency, Visit
from acute.services.admissions import outcomes_open_to
from acute.services.as_shown import referral_shown_stamp, referral_still_as_shown
from acute.services.dispatch import EPISODE_NURSE_ALREADY_GOING, another_nurse_going
from consent.audit.services import Action
from core.actors import Actor
from core.deaths import is_registered_dead
from core.errors import Forbidden, InvalidInput, NotFoundOrNotAllowed, PlatformError
from core.form_once import once_per_form
from core.models import Role
from core.pages import page_actor, render_page
from core.permissions import page, serves
from core.refusals import Concerns
from core.validation import row_id

# What the pages on one referral are about: a role refused there is an
# attempt on the referral's citizen (R9).
REFERRAL = Concerns("ServiceRequest", Referral, path="referral_id")
# The hidden field of every form on the referral's page: what the page showed.
SHOWN_FIELD = "shown"

# Why the referral's page is closed to the coordinator once its episode has
# ended (R1, docs/decisions/0027): the outcome and what the hospital reported
# stay on her board while they are open.
EPISODE_ENDED_MESSAGE = (
    "The episode has ended, so the referral's page no longer shows the citizen's data"
    " (R1: only while the episode is open). What happened, such as the citizen's death,"
    " and whom to tell the outcome are shown on the board."
)


def _hospital_warnings(referral: Referral) -> list[DeadlineWarning]:
    """What the hospital reported about her (R12), each naming the visit it
    withdrew and the nurse to phone."""
    warnings = list(
        referral.warnings.filter(
            kind__in=[DeadlineWarning.Kind.ADMITTED, DeadlineWarning.Kind.DECEASED]
        ).order_by("-raised_at", "pk")
    )
    acute_selectors.nurses_withdrawn_from(warnings)
    return warnings


def _referral_page(
    request: HttpRequest, referral_id: int, error: PlatformError | None = None
) -> HttpResponse:
    actor = page_actor(request)
    try:
        referral = acute_selectors.referral_get(actor=actor, referral_id=referral_id)
    except NotFoundOrNotAllowed as exc:
        # Refused and recorded by the gate. The coordinator whose acute
        # function had the episode is told why (R1: its end, a death among
        # them, closes the page) and where its outcome is; anyone else gets
        # the one "not available" page, which says nothing.
        if acute_selectors.referral_episode_ended_for(actor=actor, referral_id=referral_id):
            return render_page(
                request,
                "acute/referral.html",
                {},
                error=Forbidden("referral.episode_ended", EPISODE_ENDED_MESSAGE, rule="R1"),
            )
        return render_page(request, "acute/referral.html", {}, error=exc)
    except PlatformError as exc:
        return render_page(request, "acute/referral.html", {}, error=exc)
    active = referral.visits.filter(status__in=Visit.ACTIVE_STATUSES).select_related("nurse")
    return render_page(
        request,
        "acute/referral.html",
        {
            "referral": referral,
            "active_visit": active.first(),
            # What the hospital reported about her (R12): admitted, the hold
            # lifted and why, her death.
            "hospital_warnings": _hospital_warnings(referral),
            # Why each earlier nurse is no longer on it, with the note given.
            "cancelled_visits": referral.visits.filter(status=Visit.Status.CANCELLED)
            .select_related("nurse")
            .order_by("-cancelled_at", "-pk"),
            "suggestions": services.dispatch_rank(referral=referral)
            if referral.status == "accepted"
            else [],
            # A refused override keeps what she typed.
            "hold_override_reason": request.POST.get("hold_override_reason", ""),
            "outcomes": outcomes_open_to(referral.citizen),
            "registered_dead": is_registered_dead(referral.citizen),
            "now": timezone.now(),
            # The same citizen referred twice: the nurse already sent on the
            # other referral, and, after the refusal, the confirm step.
            "nurse_going": another_nurse_going(referral),
            "confirm_second_nurse": error is not None and error.code == EPISODE_NURSE_ALREADY_GOING,
            "urgencies": Urgency.choices,
            "shown": referral_shown_stamp(referral),
            # The form that was refused: its fields alone show the refusal
            # (several forms on the page take a reason).
            "sent_form": request.resolver_match.url_name
            if error is not None and request.resolver_match
            else "",
        },
        error=error,
    )


def referral_change(
    request: HttpRequest,
    referral_id: int,
    change: Callable[[Referral, Actor], object],
    *,
    done: str | None,
    then: HttpResponse,
    ending: bool = False,
    already_done: Callable[[Referral], bool] | None = None,
) -> HttpResponse:
    """A coordinator's write on one referral from its page: the referral
    reached through the gate for an update and changed by ``change`` (the
    same service as the API's). A refusal shows the referral's page again with
    it; otherwise ``done`` (a msgid) is said and the browser goes to ``then``.
    ``ending``: the change ends the referral's episode, which the citizen's
    refusal does not stop (:func:`acute.selectors.referral_get`). A form of
    the page carries what the page showed (``shown``): a referral changed
    since by someone else is refused and shown as it is now
    (:mod:`acute.services.as_shown`), unless the referral already holds what
    the form asks (``already_done``: her own form sent twice, which the
    service answers)."""
    actor = page_actor(request)
    try:
        referral = acute_selectors.referral_get(
            actor=actor, referral_id=referral_id, action=Action.UPDATE, ending=ending
        )
    except PlatformError as exc:
        return _referral_page(request, referral_id, exc)
    refused: PlatformError | None = None
    with transaction.atomic():
        # Decided on the page as it was shown: the referral stays locked from
        # that check to the change. A refusal is caught inside, so the
        # refusal's own audit entry commits (R9).
        try:
            shown = request.POST.get(SHOWN_FIELD)
            if shown is not None and not (already_done and already_done(referral)):
                referral = referral_still_as_shown(referral=referral, shown=shown, actor=actor)
            change(referral, actor)
        except PlatformError as exc:
            refused = exc
    if refused is not None:
        return _referral_page(request, referral_id, refused)
    if done is not None:
        messages.success(request, _(done))
    return then


@page(Role.COORDINATOR, concerns=REFERRAL)
def referral_detail(request: HttpRequest, referral_id: int) -> HttpResponse:
    return _referral_page(request, referral_id)


@page(Role.COORDINATOR, concerns=REFERRAL)
@serves("POST")
@once_per_form
def referral_assign(request: HttpRequest, referral_id: int) -> HttpResponse:
    """Assign, or reassign (the active visit is replaced in the same transaction).
    The form of a referral on hold for a hospital admission carries the reason
    field; the service refuses the assignment without a reason (R12)."""

    def assign(referral: Referral, actor: Actor) -> None:
        # Any shift on now: whether its nurse may be sent is the service's
        # answer (a role ended, another function's nurse), refused and recorded.
        now = timezone.now()
        shift = NurseShift.objects.filter(
            pk=row_id(request.POST.get("shift_id")), starts_at__lte=now, ends_at__gt=now
        ).first()
        if shift is None:
            raise InvalidInput("assign.shift_unknown", _("Choose a nurse on shift."), field="shift")
        replacing = referral.visits.filter(status__in=Visit.ACTIVE_STATUSES).first()
        services.visit_assign(
            referral=referral,
            shift=shift,
            actor=actor,
            replacing=replacing,
            hold_override_reason=request.POST.get("hold_override_reason"),
            # The confirm step: a second nurse for a citizen another is going to.
            also=request.POST.get("also") == "1",
        )

    return referral_change(
        request,
        referral_id,
        assign,
        done=gettext_noop("Nurse assigned."),
        then=redirect("coordinator-board"),
        # "Tildel" tapped twice: the nurse it names is the one on it.
        already_done=lambda referral: referral.visits.filter(
            status__in=Visit.ACTIVE_STATUSES, shift_id=row_id(request.POST.get("shift_id"))
        ).exists(),
    )


@page(Role.COORDINATOR, concerns=REFERRAL)
@serves("POST")
@once_per_form
def referral_urgency(request: HttpRequest, referral_id: int) -> HttpResponse:
    """Re-triage: the coordinator changes the urgency, with the reason, after
    phoning the citizen back; the same service as the API's."""
    return referral_change(
        request,
        referral_id,
        lambda referral, actor: services.referral_retriage(
            referral=referral,
            urgency=request.POST.get("urgency", ""),
            reason=request.POST.get("reason", ""),
            actor=actor,
        ),
        done=gettext_noop("Urgency changed; the deadline follows it."),
        then=redirect("referral-detail", referral_id=referral_id),
    )


@page(Role.COORDINATOR, concerns=REFERRAL)
@serves("POST")
@once_per_form
def referral_triage(request: HttpRequest, referral_id: int) -> HttpResponse:
    def triage(referral: Referral, actor: Actor) -> None:
        if request.POST.get("decision") == "decline":
            services.referral_decline(
                referral=referral, reason=request.POST.get("reason", ""), actor=actor
            )
        else:
            services.referral_accept(referral=referral, actor=actor)

    return referral_change(
        request,
        referral_id,
        triage,
        done=None,
        then=redirect("referral-detail", referral_id=referral_id),
    )


# What the person who ended an episode is told (R11): what could not go is
# on the coordinator's board; nothing is promised as sent. The nurse is sent
# to the coordinator's board, the coordinator to her own.
EPISODE_CLOSED = gettext_noop(
    "Episode closed. A hand-back or outcome that cannot be sent is shown on the"
    " coordinator's board."
)
EPISODE_CLOSED_BY_COORDINATOR = gettext_noop(
    "Episode closed. A hand-back or outcome that cannot be sent is shown on your board."
)


@page(Role.COORDINATOR, concerns=REFERRAL)
@serves("POST")
@once_per_form
def referral_episode_complete(request: HttpRequest, referral_id: int) -> HttpResponse:
    """The coordinator ends the referral's episode with its outcome (after a
    follow-up, the citizen not found, the referral lapsed): the same service
    as the API's, so its unfinished visits are cancelled, every nurse's
    access through them ends (R1), and the hand-back and the referrer's
    outcome go (R11)."""
    return referral_change(
        request,
        referral_id,
        lambda referral, actor: services.episode_complete(
            episode=referral.episode,
            outcome=request.POST.get("outcome", ""),
            note=request.POST.get("note", ""),
            actor=actor,
        ),
        done=EPISODE_CLOSED_BY_COORDINATOR,
        # Back to the board, not to the referral: the acute function's access
        # to the citizen ended with the episode (R1), and the board is where a
        # hand-back or outcome that could not be sent, or was withheld on the
        # citizen's refusal (R4), is shown (R11). No promise that anything went.
        then=redirect("coordinator-board"),
        ending=True,
    )
