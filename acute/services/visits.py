"""The visit as a state machine (*besøget*): the assigned nurse accepts, sets
off, arrives and completes, or declines; the coordinator withdraws; an
assignment not answered in time moves on to the next nurse.

``assigned → accepted → en_route → on_site → completed``; ``cancelled`` from
any state before ``completed``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.text import format_lazy

from acute import signals
from acute.models import Episode, NurseShift, Outcome, Referral, Visit, VisitNote
from acute.services._common import (
    EVERY_REFUSAL,
    VISIT_SOURCE,
    episode_referrals_lock,
    refusal_audited,
    step_time,
    text_within_limit,
    visit_audit,
    visit_lock,
)
from acute.services._nurse_access import shift_status_follow_visits, visit_cancel_locked
from acute.services.admissions import VISIT_CITIZEN_DECEASED, outcome_for_the_dead
from acute.services.dispatch import dispatch_auto_assign
from acute.services.episodes import episode_complete
from consent.audit.flags import ACTED_AT
from consent.audit.services import Action
from consent.fhir import judge_free_text
from consent.services import care_relationship_close
from core.actors import Actor
from core.deaths import DECEASED_MESSAGE
from core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFoundOrNotAllowed,
    PreconditionFailed,
)
from core.locks import citizen_lock
from core.messages import BE_WITHDRAWN, BECOME, labels, lowercase
from core.models import Citizen, Role

TRANSITIONS: dict[str, tuple[str, ...]] = {
    # target: allowed from
    Visit.Status.ACCEPTED: (Visit.Status.ASSIGNED,),
    Visit.Status.EN_ROUTE: (Visit.Status.ACCEPTED,),
    Visit.Status.ON_SITE: (Visit.Status.EN_ROUTE,),
    Visit.Status.COMPLETED: (Visit.Status.ON_SITE,),
}


def assigned_nurse_only(visit: Visit, actor: Actor) -> None:
    """Only the nurse the visit is assigned to moves it on or documents on it."""
    if actor.role != Role.ACUTE_NURSE:
        raise Forbidden("visit.nurse_only", "Only the assigned nurse moves a visit forward.")
    if actor.user is None or visit.nurse_id != actor.user.pk:
        raise NotFoundOrNotAllowed()


def _transition_refused(visit: Visit, step: str, step_label: object) -> Conflict:
    """The refusal of a step the visit's present status does not allow:
    ``step`` in the English message, ``step_label`` in the Danish one."""
    return Conflict(
        "visit.transition_not_allowed",
        f"A visit that is {visit.status} cannot {step}.",
        field="status",
        params={"status": lowercase(Visit.Status(visit.status).label), "step": step_label},
    )


def _answer_too_late() -> Conflict:
    return Conflict("visit.answer_too_late", "The time to accept has passed; ask the coordinator.")


def _locked_for_step(visit: Visit, actor: Actor, target: str) -> Visit:
    """The visit locked, hers, and in a state that may become ``target``."""
    visit = visit_lock(visit)
    assigned_nurse_only(visit, actor)
    if (
        target == Visit.Status.ACCEPTED
        and visit.status == Visit.Status.CANCELLED
        and visit.cancel_reason == Visit.CancelReason.NO_ANSWER
    ):
        # The expiry job took the row first: her accept came too late, and
        # is told so as one sent after the time ran out is.
        raise _answer_too_late()
    if visit.status not in TRANSITIONS[target]:
        raise _transition_refused(
            visit,
            f"become {target}",
            format_lazy(BECOME, target=lowercase(Visit.Status(target).label)),
        )
    if target != Visit.Status.COMPLETED:
        _for_the_living(visit)
    return visit


def _for_the_living(visit: Visit) -> None:
    """A visit to a citizen registered dead since it was assigned is not
    accepted, set off on or arrived at: the death withdraws it, and the
    coordinator sees why. One already on site is finished and documented up
    to the time of death (:func:`acute.clinical.services.common.not_after_death`)."""
    if Citizen.objects.filter(pk=visit.citizen_id, deceased_at__isnull=False).exists():
        raise PreconditionFailed(VISIT_CITIZEN_DECEASED, DECEASED_MESSAGE)


def _step_detail(step: str, at: dt.datetime | None, when: dt.datetime) -> dict[str, object]:
    """The step's audit detail, with the time she took it when her tablet sent
    it later: the auditors' flags judge her shift then (``ACTED_AT``)."""
    return {"step": step} if at is None else {"step": step, ACTED_AT: when.isoformat()}


@contextmanager
def _step(visit: Visit, actor: Actor, step: str) -> Iterator[None]:
    """One step of the visit in its own transaction. A refused step (out of
    order, taken twice, on another nurse's visit, too late, for a citizen
    registered dead) is a denied attempt on her record (R9), written after
    the refused transaction has rolled back, so it stays."""
    with refusal_audited(
        actor=actor,
        action=Action.UPDATE,
        citizen_id=visit.citizen_id,
        resource_type="Encounter",
        resource_id=f"visit-{visit.pk}",
        detail={"step": step},
        codes=EVERY_REFUSAL,
    ):
        # Her row first, whatever the step locks next (the lock order,
        # ``core.locks``): a coordinator withdrawing, re-triaging or ending the
        # episode, or a hospital's message about her, at the same moment
        # takes its turn before or after this step, never a deadlock.
        citizen_lock(visit.citizen_id)
        yield


def _shift_status(shift_id: int, status: str, *, since: dt.datetime) -> None:
    """Her shift's status follows the step, since the step's time: when she
    took it, also when her tablet sent it later (her shift may have ended
    meanwhile; she was on it when she set off or arrived)."""
    NurseShift.objects.filter(pk=shift_id).exclude(status=NurseShift.Status.OFF).update(
        status=status, status_changed_at=since
    )


def visit_accept(*, visit: Visit, actor: Actor, at: dt.datetime | None = None) -> Visit:
    """The nurse accepts the assignment on her tablet (not for a citizen
    registered dead since it was assigned, nor are the next two steps);
    ``at`` when her tablet sent it later (``step_time``), as for every step."""
    with _step(visit, actor, "accepted"):
        visit = _locked_for_step(visit, actor, Visit.Status.ACCEPTED)
        when = step_time(at, after=visit.assigned_at)
        if visit.respond_by < when:
            raise _answer_too_late()
        visit.status = Visit.Status.ACCEPTED
        visit.accepted_at = when
        visit.save(update_fields=["status", "accepted_at"])
        visit_audit(visit, actor, _step_detail("accepted", at, when))
        signals.visit_accepted.send(sender=Visit, visit=visit, by=actor)
    return visit


def visit_set_off(*, visit: Visit, actor: Actor, at: dt.datetime | None = None) -> Visit:
    """The nurse leaves for the citizen (en route)."""
    with _step(visit, actor, "en_route"):
        visit = _locked_for_step(visit, actor, Visit.Status.EN_ROUTE)
        when = step_time(at, after=visit.accepted_at or visit.assigned_at)
        visit.status = Visit.Status.EN_ROUTE
        visit.en_route_at = when
        visit.save(update_fields=["status", "en_route_at"])
        _shift_status(visit.shift_id, NurseShift.Status.EN_ROUTE, since=when)
        visit_audit(visit, actor, _step_detail("en_route", at, when))
        signals.nurse_en_route.send(sender=Visit, visit=visit, by=actor)
    return visit


def visit_arrive(*, visit: Visit, actor: Actor, at: dt.datetime | None = None) -> Visit:
    """The nurse is at the door (on site). The first arrival on a referral is its
    "reached" time for the deadline figures (R10): the time she arrived, also
    when her tablet sent it later (``at``). A deadline warning raised
    meanwhile stays in the history; reached, it is settled
    (``acute.selectors.board.warning_settled``)."""
    with _step(visit, actor, "on_site"):
        # She has reached the citizen: every accepted referral of the episode
        # (the same citizen referred again by another door) is reached with
        # it. Those referrals are locked after her row (taken by the step)
        # and before the visit: the order a withdrawal of the referral takes
        # them in, so a coordinator withdrawing it at the moment she arrives
        # is answered with a clear refusal, not a deadlock (500).
        reached = [
            referral.pk
            for referral in Referral.objects.select_for_update(of=("self",))
            .select_related("citizen")
            .filter(
                Q(pk=visit.referral_id) | Q(status=Referral.Status.ACCEPTED),
                episode_id=visit.episode_id,
                reached_at__isnull=True,
            )
            .order_by("pk")
        ]
        visit = _locked_for_step(visit, actor, Visit.Status.ON_SITE)
        when = step_time(at, after=visit.en_route_at or visit.assigned_at)
        visit.status = Visit.Status.ON_SITE
        visit.on_site_at = when
        visit.save(update_fields=["status", "on_site_at"])
        # A referral of the episode received after she arrived (her tablet
        # sent the arrival later) was reached when it came in, not before.
        Referral.objects.filter(pk__in=reached).update(
            reached_at=Greatest(Value(when), F("received_at"))
        )
        _shift_status(visit.shift_id, NurseShift.Status.ON_VISIT, since=when)
        visit_audit(visit, actor, _step_detail("on_site", at, when))
        signals.nurse_on_site.send(sender=Visit, visit=visit, by=actor)
    return visit


def visit_complete(
    *,
    visit: Visit,
    outcome: str,
    assessment: str = "",
    close_episode: bool = True,
    note: str = "",
    actor: Actor,
    at: dt.datetime | None = None,
) -> Visit:
    """The nurse finishes the visit with its outcome. Unless a follow-up is
    planned (``close_episode=False``, only for "treated at home"), the episode
    ends with the same outcome, or, while a colleague is still with the
    citizen, with the outcome of the last visit to end. Finished at ``at``
    when her tablet sent it later (``step_time``), and so does the episode."""
    if outcome not in Outcome.values:
        raise InvalidInput(
            "visit.outcome_unknown",
            f"Outcome must be one of {', '.join(Outcome.values)}.",
            field="outcome",
            params={"values": labels(Outcome.labels)},
        )
    if not close_episode and outcome != Outcome.TREATED_AT_HOME:
        raise InvalidInput(
            "visit.outcome_ends_episode",
            "Only a citizen treated at home can keep the episode open for a follow-up.",
            field="close_episode",
        )
    assessment = text_within_limit(assessment.strip(), field="assessment")
    text_within_limit(note.strip(), field="note")
    with _step(visit, actor, "completed"):
        # R2: the assessment goes into the hand-back, the note into the
        # referrer's outcome and an admission's reason.
        judge_free_text(assessment, element="assessment")
        judge_free_text(note, element="note")
        # The episode's open referrals first, then the episode, as a
        # withdrawal, a decline and an assignment take them (referral, then
        # episode), and then its visits, as closing it does: two nurses
        # ending their visits at once, a nurse and the coordinator ending the
        # episode or withdrawing its referral, take their turns without a
        # deadlock, and the second sees the first's end.
        episode_referrals_lock(visit.episode_id)
        Episode.objects.select_for_update().filter(pk=visit.episode_id).first()
        visit = _locked_for_step(visit, actor, Visit.Status.COMPLETED)
        outcome_for_the_dead(Citizen.objects.get(pk=visit.citizen_id), outcome)
        when = step_time(at, after=visit.on_site_at or visit.assigned_at)
        visit.status = Visit.Status.COMPLETED
        visit.completed_at = when
        visit.outcome = outcome
        if assessment.strip():
            visit.assessment = assessment.strip()
        visit.save(update_fields=["status", "completed_at", "outcome", "assessment"])
        if assessment.strip():
            VisitNote.objects.create(
                visit=visit,
                kind=VisitNote.Kind.ASSESSMENT,
                text=assessment.strip(),
                written_by=visit.nurse,
                # Written when she completed the visit, not when it arrived.
                written_at=when,
            )
        shift_status_follow_visits(visit.shift_id, since=when)
        visit_audit(visit, actor, _step_detail("completed", at, when))
        if outcome == Outcome.ADMITTED:
            signals.admission_requested.send(sender=Visit, visit=visit, by=actor, reason=note)
        colleague_on_site = (
            Visit.objects.filter(episode_id=visit.episode_id, status=Visit.Status.ON_SITE)
            .exclude(pk=visit.pk)
            .exists()
        )
        if close_episode and not colleague_on_site:
            episode = Episode.objects.get(pk=visit.episode_id)
            episode_complete(
                episode=episode,
                outcome=outcome,
                note=note,
                actor=actor,
                at=when if at is not None else None,
            )
        else:
            # A follow-up is planned, or a colleague is still with the citizen:
            # the episode stays open and ends with the last visit's outcome.
            care_relationship_close(
                source_type=VISIT_SOURCE, source_id=str(visit.pk), user=visit.nurse
            )
    return visit


def visit_decline(*, visit: Visit, reason: str = "", actor: Actor) -> Visit:
    """The nurse declines an assignment; dispatch moves on."""
    text_within_limit(reason.strip(), field="reason")
    with _step(visit, actor, "declined"):
        visit = visit_lock(visit)
        assigned_nurse_only(visit, actor)
        if visit.status != Visit.Status.ASSIGNED:
            raise Conflict(
                "visit.transition_not_allowed",
                "Only an assignment not yet accepted can be declined.",
                field="status",
            )
        visit_cancel_locked(
            visit, reason=Visit.CancelReason.DECLINED, note=reason.strip(), actor=actor
        )
        _move_on(visit, actor=actor)
    return visit


# Why a visit not yet at the door is taken back: the coordinator's choice,
# or the platform's on the hospital's report of an admission or a death (R12).
WITHDRAW_REASONS = (
    Visit.CancelReason.WITHDRAWN,
    Visit.CancelReason.ADMITTED,
    Visit.CancelReason.DECEASED,
)


def visit_withdraw(
    *,
    visit: Visit,
    note: str = "",
    actor: Actor,
    reason: str = Visit.CancelReason.WITHDRAWN,
) -> Visit:
    """The coordinator takes a visit back (before the nurse is on site), or the
    platform does when the citizen is admitted or has died (``reason``)."""
    if reason not in WITHDRAW_REASONS:
        raise ValueError(f"not a reason to withdraw a visit: {reason}")
    text_within_limit(note.strip(), field="reason")
    with transaction.atomic():
        visit = visit_lock(visit)
        if visit.status not in (
            Visit.Status.ASSIGNED,
            Visit.Status.ACCEPTED,
            Visit.Status.EN_ROUTE,
        ):
            raise _transition_refused(visit, "be withdrawn", BE_WITHDRAWN)
        visit_cancel_locked(visit, reason=reason, note=note.strip(), actor=actor)
    return visit


def _move_on(visit: Visit, *, actor: Actor) -> None:
    """After a decline or a missed answer: the next nurse, when auto-assignment
    is on; otherwise the referral is back on the coordinator's board."""
    if visit.referral_id is None or not settings.ACUTE_AUTO_ASSIGN:
        return
    referral = Referral.objects.select_related("citizen").get(pk=visit.referral_id)
    dispatch_auto_assign(
        referral=referral, actor=Actor.system("acute.dispatch_move_on", on_behalf_of=actor)
    )


def visits_expire_unanswered(*, now: dt.datetime | None = None) -> int:
    """Beat job: assignments not accepted in time are cancelled and moved on."""
    now = now or timezone.now()
    actor = Actor.system("acute.visits_expire_unanswered")
    expired = 0
    for visit_id in Visit.objects.filter(
        status=Visit.Status.ASSIGNED, respond_by__lt=now
    ).values_list("pk", flat=True):
        with transaction.atomic():
            # Her row before the visit's, as every write on her record takes
            # them (the lock order, ``core.locks``): the nurse's answer or the
            # coordinator's withdrawal at the same moment takes its turn.
            citizen_id = (
                Visit.objects.filter(pk=visit_id).values_list("citizen_id", flat=True).first()
            )
            if citizen_id is None:
                continue
            citizen_lock(citizen_id)
            visit = Visit.objects.select_for_update(skip_locked=True).filter(pk=visit_id).first()
            if visit is None or visit.status != Visit.Status.ASSIGNED:
                continue
            # The work of the visit's acute function: its log entries name it (R5).
            for_function = dataclasses.replace(actor, caused_by=visit.shift.acute_function)
            visit_cancel_locked(
                visit, reason=Visit.CancelReason.NO_ANSWER, note="", actor=for_function
            )
            _move_on(visit, actor=for_function)
            expired += 1
    return expired
