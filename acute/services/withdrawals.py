"""The coordinator withdraws one referral (*trækker henvisningen tilbage*),
most often because the referrer phones: the citizen was admitted, a relative
took her, it was sent by mistake.

Before a nurse has seen the citizen on it: the referral's visit not yet at
the door is called back, its deadline warnings are cleared, and, when it was
the episode's last open referral and no nurse ever reached her, the episode
ends as ``referral_lapsed`` (R11, ``docs/dispatch.md``). A nurse at the door
ends her visit with its outcome instead.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q
from django.utils import timezone, translation

from acute import signals
from acute.models import DeadlineWarning, Episode, Outcome, Referral, Visit
from acute.services._common import (
    EVERY_REFUSAL,
    REFERRAL_TEXT_LIMIT,
    referral_audit,
    referral_lock,
    referral_refusals_audited,
)
from acute.services._nurse_access import visit_cancel_locked
from acute.services.episodes import episode_complete
from consent.fhir import judge_free_text
from core.actors import Actor
from core.errors import Conflict, InvalidInput
from core.messages import labels, lowercase
from core.validation import full_clean_changed, text_at_most

REFERRAL_ALREADY_ENDED = "referral.already_ended"
REFERRAL_NURSE_ON_SITE = "referral.nurse_on_site"
REFERRAL_ALREADY_REACHED = "referral.already_reached"
WITHDRAW_REASON_REQUIRED = "referral.withdraw_reason_required"
WITHDRAW_REASON_UNKNOWN = "referral.withdraw_reason_unknown"
WITHDRAW_NOTE_REQUIRED = "referral.withdraw_note_required"
WITHDRAW_NOTE_TOO_LONG = "referral.withdraw_note_too_long"
WITHDRAW_CONFIRM_REQUIRED = "referral.withdraw_confirm_required"
# Warnings about the referral's own deadline or hold: nobody is to go any
# more, so they are answered by the withdrawal. Warnings about what others
# must be told (referrer, home nursing, 1813) stay for the coordinator.
CLEARED_WARNINGS = (
    DeadlineWarning.Kind.AT_RISK,
    DeadlineWarning.Kind.OVERDUE,
    DeadlineWarning.Kind.ADMITTED,
)
# A visit not yet at the door is called back; one on site is the nurse's to end.
CALLED_BACK = (Visit.Status.ASSIGNED, Visit.Status.ACCEPTED, Visit.Status.EN_ROUTE)


def referral_withdraw(
    *,
    referral: Referral,
    reason: str,
    note: str = "",
    call_back_confirmed: bool = True,
    actor: Actor,
) -> Referral:
    """Withdraw ``referral`` for ``reason`` (a :class:`Referral.WithdrawReason`;
    ``other`` needs a ``note``). Refused, with nothing written and the attempt
    a denied one on the citizen's record (R9): a referral already declined,
    closed or withdrawn (409 ``referral.already_ended``), one whose nurse is
    at the door (409 ``referral.nurse_on_site``) or has been
    (409 ``referral.already_reached``), a reason missing or unknown, a note
    missing, too long or naming a psychiatric diagnosis by code (R2: it goes
    to the referrer with the outcome). A door that asks the coordinator to
    confirm calling back a nurse on her way passes ``call_back_confirmed``:
    unconfirmed, it is 400 ``referral.withdraw_confirm_required``."""
    with referral_refusals_audited(
        referral, actor=actor, detail={"step": "withdrawn"}, codes=EVERY_REFUSAL
    ):
        reason = _reason(reason)
        note = _note(note, reason=reason)
        judge_free_text(note, element="note")
        # The referral first, then its episode and visits: the order triage
        # and assignment take them in.
        referral = referral_lock(referral)
        if referral.status not in (Referral.Status.RECEIVED, Referral.Status.ACCEPTED):
            raise Conflict(
                REFERRAL_ALREADY_ENDED,
                f"The referral is {referral.status} and can no longer be withdrawn.",
                params={"status": lowercase(Referral.Status(referral.status).label)},
            )
        episode = Episode.objects.select_for_update().get(pk=referral.episode_id)
        visits = list(
            Visit.objects.select_for_update()
            .filter(referral=referral, status__in=Visit.ACTIVE_STATUSES)
            .order_by("pk")
        )
        if any(visit.status == Visit.Status.ON_SITE for visit in visits):
            raise Conflict(
                REFERRAL_NURSE_ON_SITE,
                "A nurse is with the citizen: she ends her visit with its outcome,"
                " and the referral with it.",
            )
        if not call_back_confirmed and any(v.status == Visit.Status.EN_ROUTE for v in visits):
            raise InvalidInput(
                WITHDRAW_CONFIRM_REQUIRED,
                "A nurse is on her way: confirm that she is called back.",
                field="confirm",
            )
        if referral.reached_at is not None:
            raise Conflict(
                REFERRAL_ALREADY_REACHED,
                "A nurse has already seen the citizen on this referral:"
                " close the episode with its outcome instead.",
            )
        for visit in visits:
            # Her tablet shows the visit cancelled, and why; her access to the
            # citizen through it ends (R1).
            visit_cancel_locked(
                visit, reason=Visit.CancelReason.REFERRAL_WITHDRAWN, note=note, actor=actor
            )
        now = timezone.now()
        referral.status = Referral.Status.WITHDRAWN
        referral.withdrawn_at = now
        referral.withdrawn_by = actor.user
        referral.withdraw_reason = reason
        referral.withdraw_note = note
        referral.on_hold_since = None
        referral.on_hold_reason = ""
        fields = [
            "status",
            "withdrawn_at",
            "withdrawn_by",
            "withdraw_reason",
            "withdraw_note",
            "on_hold_since",
            "on_hold_reason",
        ]
        full_clean_changed(referral, fields=fields)
        referral.save(update_fields=fields)
        cleared = DeadlineWarning.objects.filter(
            referral=referral, kind__in=CLEARED_WARNINGS, acknowledged_at__isnull=True
        ).update(acknowledged_at=now, acknowledged_by=actor.user)
        referral_audit(
            referral,
            actor,
            {
                "step": "withdrawn",
                "reason": reason,
                "visits_called_back": [v.pk for v in visits],
                "warnings_cleared": cleared,
            },
        )
        _episode_end_if_lapsed(episode, referral=referral, actor=actor)
        signals.referral_withdrawn.send(
            sender=Referral, referral=referral, by=actor, note=_referrer_reads(referral)
        )
    return referral


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            WITHDRAW_REASON_REQUIRED, "Choose why the referral is withdrawn.", field="reason"
        )
    if reason not in Referral.WithdrawReason.values:
        raise InvalidInput(
            WITHDRAW_REASON_UNKNOWN,
            f"Reason must be one of {', '.join(Referral.WithdrawReason.values)}.",
            field="reason",
            params={"values": labels(Referral.WithdrawReason.labels)},
        )
    return reason


def _note(note: str, *, reason: str) -> str:
    note = text_at_most(
        (note or "").strip(),
        REFERRAL_TEXT_LIMIT,
        code=WITHDRAW_NOTE_TOO_LONG,
        field="note",
        message=f"Write the note in at most {REFERRAL_TEXT_LIMIT} characters.",
    )
    if reason == Referral.WithdrawReason.OTHER and not note:
        raise InvalidInput(
            WITHDRAW_NOTE_REQUIRED,
            "Write a note saying why the referral is withdrawn.",
            field="note",
        )
    return note


def _episode_end_if_lapsed(episode: Episode, *, referral: Referral, actor: Actor) -> None:
    """The episode's last open referral withdrawn, no nurse ever at the door
    and none on her way on a follow-up: nothing was done for the citizen and
    nothing more is to be, so the episode ends as *Henvisningen bortfaldt*
    (R11: referrers not answered by the withdrawal itself are told; no
    hand-back, home nursing has nothing to take over). Otherwise it stays
    open for its other referrals, or for the nurse who saw her to end it."""
    open_referrals = episode.referrals.filter(
        status__in=[Referral.Status.RECEIVED, Referral.Status.ACCEPTED]
    )
    visits_left = episode.visits.filter(
        Q(on_site_at__isnull=False) | Q(status__in=Visit.ACTIVE_STATUSES)
    )
    if open_referrals.exists() or visits_left.exists():
        return
    episode_complete(
        episode=episode,
        outcome=Outcome.REFERRAL_LAPSED,
        note=_referrer_reads(referral),
        actor=actor,
    )


def _referrer_reads(referral: Referral) -> str:
    """Why the referral was withdrawn, as its referrer reads it: the note, or
    else the reason, in the platform's language as every message to a partner
    is."""
    with translation.override(settings.LANGUAGE_CODE):
        return referral.withdraw_note or str(
            Referral.WithdrawReason(referral.withdraw_reason).label
        )
