"""The acute episode (*forløb*) after the first visit: a follow-up visit in the
same episode, and the end of the episode with its outcome and hand-back (R11)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from acute import signals
from acute.models import DeadlineWarning, Episode, NurseShift, Outcome, Referral, Visit
from acute.services._common import (
    EPISODE_SOURCE,
    EVERY_REFUSAL,
    VISIT_SOURCE,
    audit,
    episode_new,
    episode_referrals_lock,
    episode_relationship_open,
    free_text_judged,
    refusal_audited,
    step_time,
    text_within_limit,
)
from acute.services._nurse_access import visit_cancel_locked, visit_send
from acute.services.admissions import (
    dispatch_transaction,
    hold_override_check,
    outcome_for_the_dead,
    visit_for_the_living,
)
from acute.services.referrals import acute_function_for
from consent.audit.services import Action
from consent.services import care_relationship_close
from core.actors import Actor
from core.errors import Conflict, InvalidInput, PreconditionFailed
from core.locks import citizen_lock
from core.models import Citizen
from core.validation import full_clean_or_raise

# The few minutes a coordinator may take to type a follow-up planned for now.
PLANNED_IN_THE_PAST = dt.timedelta(minutes=5)


def visit_plan_follow_up(
    *,
    episode: Episode,
    shift: NurseShift,
    planned_for: dt.datetime,
    actor: Actor,
    hold_override_reason: str | None = None,
) -> Visit:
    """A follow-up visit in the same episode, assigned to a nurse on a shift that
    covers ``planned_for``. While a referral of the episode is on hold for a
    hospital admission the citizen is not at home: refused as for a first
    visit (R12) unless ``hold_override_reason`` says why a nurse goes anyway."""
    if planned_for < timezone.now() - PLANNED_IN_THE_PAST:
        raise InvalidInput(
            "follow_up.in_past",
            "A follow-up is planned for a time to come.",
            field="planned_for",
        )
    with dispatch_transaction(
        actor=actor,
        citizen_id=episode.citizen_id,
        detail={"episode": episode.pk, "nurse": shift.nurse_id},
    ):
        citizen_lock(episode.citizen_id)
        episode = (
            Episode.objects.select_for_update(of=("self",))
            .select_related("citizen")
            .get(pk=episode.pk)
        )
        if episode.status != Episode.Status.OPEN:
            raise Conflict("episode.closed", "The episode is closed.")
        visit_for_the_living(episode.citizen)
        # Read, not locked: triage locks a referral before its episode, and this
        # order the other way round could deadlock with it.
        held = (
            Referral.objects.filter(episode=episode, on_hold_since__isnull=False)
            .order_by("pk")
            .first()
        )
        override_reason = hold_override_check(held=held, reason=hold_override_reason)
        # Her shift's row only, the nurse's own row joined in unlocked (as a
        # first visit's dispatch takes it).
        shift = (
            NurseShift.objects.select_for_update(of=("self",))
            .select_related("nurse")
            .get(pk=shift.pk)
        )
        if not (shift.starts_at <= planned_for < shift.ends_at):
            raise PreconditionFailed(
                "dispatch.not_on_shift", "The nurse's shift does not cover the planned time."
            )
        if shift.status == NurseShift.Status.OFF:
            # She has gone off the shift the follow-up falls in (a break ends;
            # off does not): as for a first visit, nobody is sent to her.
            raise PreconditionFailed("dispatch.not_available", "The nurse is off or on a break.")
        load = Visit.objects.filter(shift=shift, status__in=Visit.ACTIVE_STATUSES).count()
        if load >= shift.max_load:
            raise Conflict("dispatch.load_limit", "The nurse has reached her load limit.")
        visit = Visit(
            episode=episode,
            referral=None,
            citizen=episode.citizen,
            kind=Visit.Kind.FOLLOW_UP,
            nurse=shift.nurse,
            shift=shift,
            planned_for=planned_for,
            assigned_by=actor.user,
            respond_by=max(
                timezone.now() + dt.timedelta(minutes=settings.ACUTE_ACCEPT_WITHIN_MINUTES),
                planned_for,
            ),
            estimated_arrival_at=planned_for,
            hold_override_reason=override_reason,
        )
        return visit_send(
            visit=visit, shift=shift, actor=actor, held=held, detail={"follow_up": True}
        )


def episode_complete(
    *,
    episode: Episode,
    outcome: str,
    note: str = "",
    actor: Actor,
    at: dt.datetime | None = None,
) -> Episode:
    """End the episode with its outcome: referrals close, unfinished visits are
    cancelled, care relationships end, and ``episode_completed`` carries the
    hand-back (R11) and the referrer's message to the hand-off work.
    Every refusal (an unknown outcome, a note too long, a nurse with the
    citizen, the episode already ended — a second coordinator at the same
    moment —, an outcome her registered death contradicts) is a denied
    attempt on her record (R9), on every door alike. Ended at ``at`` when the
    nurse's tablet sent the end of her visit later (``step_time``)."""
    # The entry of the end: a denied attempt on her record if refused (the
    # nurse's door, whose own refusal entry stands instead, rolls this one
    # back with her step), a permitted update once done.
    entry: dict[str, Any] = {
        "actor": actor,
        "action": Action.UPDATE,
        "citizen_id": episode.citizen_id,
        "resource_type": "EpisodeOfCare",
        "resource_id": episode.pk,
        "detail": {"outcome": outcome},
    }
    with refusal_audited(**entry, codes=EVERY_REFUSAL):
        if outcome not in Outcome.values:
            raise InvalidInput("episode.outcome_unknown", "Unknown outcome.", field="outcome")
        text_within_limit(note.strip(), field="note")
    # The note goes into the hand-back and the referrer's outcome (R11).
    free_text_judged(
        texts={"note": note},
        actor=actor,
        citizen_id=episode.citizen_id,
        action=Action.UPDATE,
        resource_type="EpisodeOfCare",
        resource_id=f"episode-{episode.pk}",
    )
    with refusal_audited(**entry, codes=EVERY_REFUSAL):
        # Her row, then the episode's open referrals, then the episode and its
        # visits (the lock order, ``core.locks``): a withdrawal, a re-triage or
        # an assignment on one of its referrals at the same moment takes its
        # turn, never a deadlock.
        citizen_lock(episode.citizen_id)
        episode_referrals_lock(episode.pk)
        episode = (
            Episode.objects.select_for_update(of=("self",))
            .select_related("citizen")
            .get(pk=episode.pk)
        )
        if episode.status != Episode.Status.OPEN:
            raise Conflict("episode.closed", "The episode is already closed.")
        outcome_for_the_dead(episode.citizen, outcome)
        unfinished = list(
            Visit.objects.select_for_update().filter(
                episode=episode, status__in=Visit.ACTIVE_STATUSES
            )
        )
        if any(visit.status == Visit.Status.ON_SITE for visit in unfinished):
            # A nurse is with the citizen: her visit is not withdrawn from under
            # her (nor is her access to the record ended mid-visit); she ends it
            # with its outcome, which closes the episode with what she found.
            raise Conflict(
                "episode.visit_on_site",
                "A nurse is with the citizen: she completes her visit first.",
            )
        for visit in unfinished:
            visit_cancel_locked(
                visit, reason=Visit.CancelReason.EPISODE_CLOSED, note="", actor=actor
            )
        episode.status = Episode.Status.COMPLETED
        episode.outcome = outcome
        episode.outcome_note = note.strip()
        episode.closed_at = step_time(at, after=episode.opened_at)
        episode.closed_by = actor.user
        full_clean_or_raise(episode, code="episode.invalid")
        episode.save(update_fields=["status", "outcome", "outcome_note", "closed_at", "closed_by"])
        episode.referrals.filter(status=Referral.Status.ACCEPTED).update(
            status=Referral.Status.CLOSED
        )
        _untriaged_to_next_episode(episode, actor=actor)
        if outcome == Outcome.CITIZEN_NOT_FOUND:
            _not_found_warning_raise(episode)
        care_relationship_close(source_type=EPISODE_SOURCE, source_id=str(episode.pk))
        for visit_id in episode.visits.values_list("pk", flat=True):
            care_relationship_close(source_type=VISIT_SOURCE, source_id=str(visit_id))
        audit(**entry)
        signals.episode_completed.send(sender=Episode, episode=episode, outcome=outcome, by=actor)
    return episode


def episode_end_warning_raise(*, referral: Referral, kind: str, detail: dict) -> DeadlineWarning:
    """R11: the board's warning that an ended episode's hand-back, or the
    outcome owed to ``referral``'s referrer, has nobody configured to receive
    it, so the coordinator passes it on by phone; likewise any other hand-off
    about the referral that goes to nobody (R3). Raised in the transaction of
    the event; one per referral and kind. One the coordinator has already
    acknowledged is raised again with the new ``detail``: what went to nobody
    since is news to her."""
    with transaction.atomic():
        warning, created = DeadlineWarning.objects.select_for_update().get_or_create(
            referral=referral, kind=kind, defaults={"detail": detail}
        )
        if not created and warning.acknowledged_at is not None:
            warning.detail = detail
            warning.raised_at = timezone.now()
            warning.acknowledged_at = None
            warning.acknowledged_by = None
            full_clean_or_raise(warning, code="warning.invalid")
            warning.save(
                update_fields=["detail", "raised_at", "acknowledged_at", "acknowledged_by"]
            )
    return warning


def _not_found_warning_raise(episode: Episode) -> None:
    """Nobody met the citizen, so nobody knows whether she still needs help:
    the coordinator is told on the board (on the episode's first referral
    the acute function took on), beside what the referrer and home nursing
    are sent."""
    referrals = episode.referrals.order_by("pk")
    referral = referrals.exclude(status=Referral.Status.DECLINED).first() or referrals.first()
    if referral is not None:
        episode_end_warning_raise(
            referral=referral,
            kind=DeadlineWarning.Kind.CITIZEN_NOT_FOUND,
            detail={"episode": episode.pk},
        )


def _untriaged_to_next_episode(closed: Episode, *, actor: Actor) -> Episode | None:
    """Referrals nobody has triaged yet are not what the episode's outcome
    ends (one may have come in for a new problem while a nurse was with the
    citizen). They start the citizen's next episode, as they would had they
    come in after this one ended, and so stay on the coordinator's board under
    their deadline: left in the closed episode they were neither closed nor
    visible to anyone, the acute function's care relationship having ended."""
    untriaged = list(
        closed.referrals.filter(status=Referral.Status.RECEIVED).values_list("pk", flat=True)
    )
    if not untriaged:
        return None
    citizen = Citizen.objects.select_related("municipality").get(pk=closed.citizen_id)
    episode = episode_new(citizen)
    Referral.objects.filter(pk__in=untriaged).update(episode=episode)
    episode_relationship_open(citizen, episode, acute_function_for(citizen))
    audit(
        actor=actor,
        action=Action.CREATE,
        citizen_id=closed.citizen_id,
        resource_type="EpisodeOfCare",
        resource_id=episode.pk,
        detail={"after_episode": closed.pk, "referrals": untriaged},
    )
    return episode
