"""Triage (*visitering*): the coordinator accepts a referral, or declines it
with a reason that goes back to the referrer."""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractContextManager

from django.conf import settings
from django.utils import timezone

from acute import signals
from acute.deadlines import deadline_for
from acute.models import Episode, Referral, Urgency
from acute.services._common import (
    EPISODE_SOURCE,
    REFERRAL_TEXT_LIMIT,
    referral_audit,
    referral_lock,
    referral_refusals_audited,
)
from acute.services.admissions import deadline_while_held
from acute.services.dispatch import dispatch_auto_assign
from consent.fhir import judge_free_text
from consent.services import care_relationship_close
from core.actors import Actor
from core.cpr import CPR_IN_TEXT
from core.errors import Conflict, InvalidInput, PreconditionFailed
from core.messages import labels, lowercase
from core.models import Citizen
from core.validation import required_text, text_at_most

REFERRAL_CITIZEN_DECEASED = "referral.citizen_deceased"
# R2 on the reason for declining, which goes back to the referrer.
PSYCHIATRIC_CODE_IN_TEXT = "record.psychiatric_code_in_text"
# Triage is decided once; a second decision (a colleague's at the same time,
# the same answer sent again) is refused, and the attempt audited (R9).
REFERRAL_ALREADY_TRIAGED = "referral.already_triaged"
# One sentence for the code, whether a referral for her is sent or accepted.
REFERRAL_DECEASED_MESSAGE = (
    "The citizen is registered deceased, so the referral is neither received nor accepted."
)


def _triage_audited(
    referral: Referral, *, actor: Actor, status: str, codes: Collection[str]
) -> AbstractContextManager[None]:
    """A triage step whose refusal by one of ``codes`` is a denied attempt on
    the citizen's record (R9), written after the refused writes rolled back."""
    return referral_refusals_audited(
        referral, actor=actor, detail={"triage": str(status)}, codes=codes
    )


def referral_accept(*, referral: Referral, actor: Actor) -> Referral:
    """Triage: accept. With auto-assignment on, the best-ranked nurse is assigned at once.

    A referral for a citizen registered dead is not accepted: nobody is to go.
    The coordinator declines it, and the reason goes back to the referrer.
    The refused attempt is on the citizen's record (R9), written after the
    refused transaction has rolled back."""
    with _triage_audited(
        referral,
        actor=actor,
        status=Referral.Status.ACCEPTED,
        codes={REFERRAL_CITIZEN_DECEASED, REFERRAL_ALREADY_TRIAGED},
    ):
        referral = _triage(referral, status=Referral.Status.ACCEPTED, actor=actor)
        signals.referral_accepted.send(sender=Referral, referral=referral, by=actor)
        if settings.ACUTE_AUTO_ASSIGN:
            dispatch_auto_assign(
                referral=referral,
                actor=Actor.system("acute.auto_assign", on_behalf_of=actor),
            )
    return referral


def referral_decline(*, referral: Referral, reason: str, actor: Actor) -> Referral:
    """Triage: decline, with a reason that goes back to the referrer (signal).

    The reason is required and at most :data:`REFERRAL_TEXT_LIMIT` characters
    (400 ``referral.decline_reason_required`` / ``referral.decline_reason_too_long``),
    and, since it leaves the acute function, names no psychiatric diagnosis as
    a code (R2, 400 ``record.psychiatric_code_in_text``); each refusal writes
    nothing and is a denied attempt on the citizen's record (R9)."""
    with _triage_audited(
        referral,
        actor=actor,
        status=Referral.Status.DECLINED,
        codes={
            "referral.decline_reason_required",
            "referral.decline_reason_too_long",
            PSYCHIATRIC_CODE_IN_TEXT,
            REFERRAL_ALREADY_TRIAGED,
        },
    ):
        reason = _decline_reason(reason)
        judge_free_text(reason, element="reason")
        referral = _triage(
            referral, status=Referral.Status.DECLINED, actor=actor, decline_reason=reason
        )
        signals.referral_declined.send(sender=Referral, referral=referral, by=actor, reason=reason)
        # An episode that had only this referral and no visit ends here.
        episode = Episode.objects.select_for_update().get(pk=referral.episode_id)
        still_open = (
            episode.referrals.exclude(status=Referral.Status.DECLINED).exists()
            or episode.visits.exists()
        )
        if not still_open:
            episode.status = Episode.Status.CANCELLED
            episode.closed_at = timezone.now()
            episode.closed_by = actor.user
            episode.save(update_fields=["status", "closed_at", "closed_by"])
            care_relationship_close(source_type=EPISODE_SOURCE, source_id=str(episode.pk))
    return referral


def _decline_reason(reason: str) -> str:
    """The reason sent back to the referrer: given, and bounded like the
    referral's own text."""
    reason = required_text(
        reason,
        code="referral.decline_reason_required",
        field="reason",
        message="Give the reason for declining; it is sent to the referrer.",
    )
    return text_at_most(
        reason,
        REFERRAL_TEXT_LIMIT,
        code="referral.decline_reason_too_long",
        field="reason",
        message=f"Write the reason in at most {REFERRAL_TEXT_LIMIT} characters.",
    )


def _triage(
    referral: Referral, *, status: str, actor: Actor, decline_reason: str | None = None
) -> Referral:
    """Lock the referral, refuse a second triage, record the decision."""
    referral = referral_lock(referral)
    if referral.status != Referral.Status.RECEIVED:
        raise Conflict(
            "referral.already_triaged",
            # The status's code: this sentence is English (core.messages has
            # the Danish one, with the status's label).
            f"The referral is already {referral.status}.",
            params={"status": lowercase(Referral.Status(referral.status).label)},
        )
    if status == Referral.Status.ACCEPTED and (
        Citizen.objects.filter(pk=referral.citizen_id, deceased_at__isnull=False).exists()
    ):
        raise PreconditionFailed(REFERRAL_CITIZEN_DECEASED, REFERRAL_DECEASED_MESSAGE)
    referral.status = status
    referral.triaged_at = timezone.now()
    referral.triaged_by = actor.user
    fields = ["status", "triaged_at", "triaged_by"]
    if decline_reason is not None:
        referral.decline_reason = decline_reason
        fields.append("decline_reason")
    referral.save(update_fields=fields)
    referral_audit(referral, actor, {"triage": str(status)})
    return referral


# Re-triage: the coordinator changes an accepted referral's urgency after
# phoning the citizen back (R10).
REFERRAL_RETRIAGE_NOT_ACCEPTED = "referral.retriage_not_accepted"
REFERRAL_RETRIAGE_REACHED = "referral.retriage_reached"
REFERRAL_URGENCY_UNCHANGED = "referral.urgency_unchanged"
REFERRAL_RETRIAGE_REASON_REQUIRED = "referral.retriage_reason_required"
REFERRAL_RETRIAGE_REASON_TOO_LONG = "referral.retriage_reason_too_long"
_RETRIAGE_REFUSALS = {
    REFERRAL_RETRIAGE_NOT_ACCEPTED,
    REFERRAL_RETRIAGE_REACHED,
    REFERRAL_URGENCY_UNCHANGED,
    REFERRAL_RETRIAGE_REASON_REQUIRED,
    REFERRAL_RETRIAGE_REASON_TOO_LONG,
    "referral.urgency_required",
    "referral.urgency_unknown",
}
_URGENCY_ORDER = [Urgency.WITHIN_2_HOURS, Urgency.WITHIN_SHIFT, Urgency.NEXT_DAY]


def referral_retriage(*, referral: Referral, urgency: str, reason: str, actor: Actor) -> Referral:
    """The coordinator changes an accepted referral's urgency, up or down,
    with the reason she found on the phone (docs/decisions/0028).

    The new deadline is the new urgency's, counted from the change (from the
    requested time when the visit is planned for later): what the
    coordinator just judged is how long the citizen can wait from now. A
    more urgent class never moves the deadline later, a less urgent one never
    sooner. The referrer's urgency stays in the history: the audit entry
    names the urgency and deadline before, the reason and who changed it.
    The deadline watch judges the new deadline; its warnings about the old
    one leave the board. Each refusal writes nothing and is a denied attempt
    on the citizen's record (R9)."""
    with referral_refusals_audited(
        referral, actor=actor, detail={"step": "urgency_changed"}, codes=_RETRIAGE_REFUSALS
    ):
        urgency = _urgency_given(urgency)
        reason = text_at_most(
            required_text(
                reason,
                code=REFERRAL_RETRIAGE_REASON_REQUIRED,
                field="reason",
                message="Give the reason for changing the urgency.",
            ),
            REFERRAL_TEXT_LIMIT,
            code=REFERRAL_RETRIAGE_REASON_TOO_LONG,
            field="reason",
            message=f"Write the reason in at most {REFERRAL_TEXT_LIMIT} characters.",
        )
        locked = referral_lock(referral)
        if locked.status != Referral.Status.ACCEPTED:
            raise Conflict(
                REFERRAL_RETRIAGE_NOT_ACCEPTED,
                "Only an accepted referral that has not ended can have its urgency changed.",
            )
        if locked.reached_at is not None:
            raise Conflict(
                REFERRAL_RETRIAGE_REACHED,
                "A nurse has already reached the citizen on this referral.",
            )
        if locked.urgency == urgency:
            raise Conflict(
                REFERRAL_URGENCY_UNCHANGED,
                "The referral already has this urgency.",
                field="urgency",
            )
        now = timezone.now()
        counted_from = (
            locked.planned_for
            if locked.planned_for is not None and locked.planned_for > now
            else now
        )
        # Held for a hospital stay, the clock is paused: the new urgency's
        # time counts from the discharge, as the time left does (R10, R12).
        deadline = deadline_while_held(
            deadline_for(urgency, counted_from), locked.on_hold_since, now
        )
        raised = _URGENCY_ORDER.index(Urgency(urgency)) < _URGENCY_ORDER.index(
            Urgency(locked.urgency)
        )
        deadline = (
            min(deadline, locked.deadline_at) if raised else max(deadline, locked.deadline_at)
        )
        before_urgency, before_deadline = locked.urgency, locked.deadline_at
        locked.urgency = urgency
        locked.deadline_at = deadline
        locked.save(update_fields=["urgency", "deadline_at"])
        referral_audit(
            locked,
            actor,
            {
                "step": "urgency_changed",
                "urgency_before": str(before_urgency),
                "deadline_before": before_deadline.isoformat(),
                "urgency": str(urgency),
                "deadline_at": deadline.isoformat(),
                # Held, the deadline is kept as the paused clock keeps it.
                **(
                    {"on_hold_since": locked.on_hold_since.isoformat()}
                    if locked.on_hold_since is not None
                    else {}
                ),
                # The coordinator's words are the history's; a CPR number
                # typed among them is not kept in the log.
                "reason": CPR_IN_TEXT.sub("[CPR]", reason),
            },
        )
    return locked


def _urgency_given(urgency: str) -> str:
    if not urgency:
        raise InvalidInput(
            "referral.urgency_required",
            "State the urgency: within 2 hours, within the shift or next day.",
            field="urgency",
        )
    if urgency not in Urgency.values:
        raise InvalidInput(
            "referral.urgency_unknown",
            f"Urgency must be one of {', '.join(Urgency.values)}.",
            field="urgency",
            params={"values": labels(Urgency.labels)},
        )
    return urgency
