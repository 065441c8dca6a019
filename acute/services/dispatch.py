"""Dispatch: a nurse assigned to an accepted referral by the coordinator, or
automatically to the best-ranked nurse (the rule is in ``acute.dispatch``, the
ranking read in ``acute.selectors``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from django.conf import settings
from django.utils import timezone

from acute.dispatch import rank
from acute.models import Episode, NurseShift, Referral, Visit
from acute.occurrence import DISPATCH_LEAD, dispatch_opens_at
from acute.selectors import dispatch_rank, need_for, nurse_states
from acute.services._common import acute_function_serving, creation_refused_audit, referral_lock
from acute.services._nurse_access import (
    shift_nurse_in_force_check,
    visit_cancel_locked,
    visit_send,
)
from acute.services.admissions import (
    VISIT_CITIZEN_DECEASED,
    dispatch_transaction,
    hold_override_check,
    visit_for_the_living,
)
from core.actors import Actor
from core.errors import Conflict, PreconditionFailed
from core.times import api_instant

REFERRAL_PLANNED_LATER = "referral.planned_later"
# A nurse is already assigned to, on her way to or with the citizen on another
# referral of her episode: a second one only when the coordinator confirms.
EPISODE_NURSE_ALREADY_GOING = "episode.nurse_already_going"


def visit_assign(
    *,
    referral: Referral,
    shift: NurseShift,
    actor: Actor,
    replacing: Visit | None = None,
    hold_override_reason: str | None = None,
    also: bool = False,
) -> Visit:
    """Assign a nurse to an accepted referral. Row locks on the referral and on the
    shift make two coordinators assigning at once, or one nurse assigned twice at
    once beyond her load, end with exactly one winner.

    Every door that sends a nurse on a referral comes here (the coordinator's
    API and board, reassignment, automatic dispatch), so this is where a
    referral on hold for a hospital admission is refused (R12) unless
    ``hold_override_reason`` says why a nurse goes anyway, where a
    citizen registered dead is refused a nurse, and where a visit planned for
    later is refused until its dispatch lead time has come (R10), and where a
    second nurse for a citizen another nurse is already going to (the same
    citizen referred twice) is refused unless the coordinator confirms it
    with ``also``."""
    now = timezone.now()
    with dispatch_transaction(
        actor=actor,
        citizen_id=referral.citizen_id,
        detail={"referral": referral.pk, "nurse": shift.nurse_id},
    ):
        referral = referral_lock(referral)
        visit_for_the_living(referral.citizen)
        # Her shift's row only: the nurse's own row, joined in to be read, is
        # not locked (a full lock on it would wait for every row naming her).
        shift = (
            NurseShift.objects.select_for_update(of=("self",))
            .select_related("nurse")
            .get(pk=shift.pk)
        )
        if referral.status != Referral.Status.ACCEPTED:
            raise Conflict(
                "referral.not_accepted",
                "Only an accepted referral that is not closed can be dispatched.",
            )
        if replacing is not None:
            kept = Visit.objects.filter(
                pk=replacing.pk, referral=referral, shift=shift, status__in=Visit.ACTIVE_STATUSES
            ).first()
            if kept is not None:
                # The nurse who already has it (the board's form sent twice, or
                # again after going back): she keeps her visit as it stands.
                return kept
        planned_later_check(referral, now=now)
        # Checked under the referral's row lock: an admission and a discharge
        # change the hold under the same lock.
        held = referral if referral.on_hold_since is not None else None
        override_reason = hold_override_check(held=held, reason=hold_override_reason)
        if replacing is not None:
            _replaced_visit_cancel(replacing, referral=referral, actor=actor)
        if Visit.objects.filter(referral=referral, status__in=Visit.ACTIVE_STATUSES).exists():
            raise Conflict(
                "referral.already_assigned",
                "A nurse is already assigned to this referral.",
            )
        if Visit.objects.filter(referral=referral, status=Visit.Status.COMPLETED).exists():
            # The first visit has been made; another visit in the episode is a
            # follow-up (planned on the episode), not a second first visit.
            raise Conflict(
                "referral.already_visited",
                "A nurse has already completed a visit on this referral; plan a follow-up.",
            )
        if not also:
            another_nurse_going_check(referral)
        # Before her state is read: a nurse whose role has ended is no longer
        # among the nurses on shift, and is told so precisely.
        shift_nurse_in_force_check(shift, at=[now])
        states = nurse_states(now=now, shift_ids=[shift.pk])
        if not states:
            raise PreconditionFailed("dispatch.not_on_shift", "The nurse is not on shift now.")
        state = states[0]
        need = need_for(referral)
        if state.status in ("off", "on_break"):
            raise PreconditionFailed("dispatch.not_available", "The nurse is off or on a break.")
        if not need.required_skills <= state.skills:
            raise PreconditionFailed(
                "dispatch.missing_skills", "The nurse lacks a skill the referral requires."
            )
        if state.load >= state.max_load:
            raise Conflict("dispatch.load_limit", "The nurse has reached her load limit.")
        # The coordinator may choose a nurse who declined before: plan her arrival anyway.
        ranked = rank([state], replace(need, excluded_nurses=frozenset()), now=now)
        suggestion = ranked[0] if ranked else None
        visit = Visit(
            episode_id=referral.episode_id,
            referral=referral,
            citizen_id=referral.citizen_id,
            kind=Visit.Kind.FIRST,
            nurse=shift.nurse,
            shift=shift,
            assigned_at=now,
            assigned_by=actor.user if actor.membership is not None and not actor.task else None,
            respond_by=now + dt.timedelta(minutes=settings.ACUTE_ACCEPT_WITHIN_MINUTES),
            estimated_arrival_at=suggestion.estimated_arrival_at if suggestion else None,
            estimated_travel_km=suggestion.travel_km if suggestion else None,
            hold_override_reason=override_reason,
        )
        return visit_send(
            visit=visit, shift=shift, actor=actor, held=held, detail={"referral": referral.pk}
        )


def another_nurse_going(referral: Referral) -> Visit | None:
    """The visit of a nurse already sent to the citizen on another referral of
    her episode (assigned, on her way or with her), if any."""
    return (
        Visit.objects.filter(episode_id=referral.episode_id, status__in=Visit.ACTIVE_STATUSES)
        .exclude(referral_id=referral.pk)
        .select_related("nurse")
        .order_by("assigned_at", "pk")
        .first()
    )


def another_nurse_going_check(referral: Referral) -> None:
    """Refuse a second nurse for a citizen a nurse is already going to: the
    same citizen referred twice minutes apart (two doors) is one episode, and
    one nurse is enough unless the coordinator says otherwise. The episode
    row is locked, so two coordinators assigning on her two referrals at once
    cannot both pass. The refusal names the nurse (never the citizen)."""
    Episode.objects.select_for_update().filter(pk=referral.episode_id).first()
    going = another_nurse_going(referral)
    if going is None:
        return
    raise Conflict(
        "episode.nurse_already_going",
        f"{going.nurse.display_name} is already going to the citizen on another referral;"
        " confirm to send a second nurse.",
        params={"nurse": going.nurse.display_name},
        extra={
            "visit": going.pk,
            "referral": going.referral_id,
            "nurse": {"id": going.nurse_id, "name": going.nurse.display_name},
            "status": str(going.status),
        },
    )


def planned_later_check(referral: Referral, *, now: dt.datetime) -> None:
    """Refuse a nurse for a referral planned for later (``acute.occurrence``)
    before its dispatch lead time: sent now, she would be at the door hours or
    days before the referrer asked."""
    if referral.planned_for is None:
        return
    opens_at = dispatch_opens_at(referral.planned_for)
    if now < opens_at:
        raise Conflict(
            REFERRAL_PLANNED_LATER,
            "The visit is planned for later; a nurse is sent from one hour before the"
            " requested time.",
            rule="R10",
            extra={
                "planned_for": api_instant(referral.planned_for),
                "dispatch_opens_at": api_instant(opens_at),
            },
        )


def _replaced_visit_cancel(replacing: Visit, *, referral: Referral, actor: Actor) -> None:
    """Reassignment: the visit it replaces is cancelled, unless the nurse is
    already on her way or there."""
    replacing = Visit.objects.select_for_update().get(pk=replacing.pk)
    if replacing.referral_id != referral.pk or not replacing.is_active:
        raise Conflict("visit.not_active", "That visit is no longer active.")
    if replacing.status in (Visit.Status.EN_ROUTE, Visit.Status.ON_SITE):
        raise Conflict(
            "visit.too_late_to_reassign",
            "The nurse is already on her way or on site.",
        )
    visit_cancel_locked(replacing, reason=Visit.CancelReason.REASSIGNED, note="", actor=actor)


def dispatch_auto_assign(*, referral: Referral, actor: Actor) -> Visit | None:
    """Assign the best-ranked nurse; ``None`` when nobody is eligible (the board shows it).

    Never a referral on hold for a hospital admission (R12): only a
    coordinator, with a reason, sends a nurse to a citizen in hospital. Never
    a citizen registered dead."""
    # Asked of the database, not of the caller's copy, which may predate the
    # admission or the death.
    on_hold_since, deceased_at, planned_for = (
        Referral.objects.filter(pk=referral.pk)
        .values_list("on_hold_since", "citizen__deceased_at", "planned_for")
        .get()
    )
    if deceased_at is not None:
        # Nobody is sent to a citizen registered dead; the attempt is on her record (R9).
        creation_refused_audit(
            actor=actor,
            citizen_id=referral.citizen_id,
            resource_type="Task",
            reason_code=VISIT_CITIZEN_DECEASED,
            detail={"referral": referral.pk},
        )
        return None
    if on_hold_since is not None:
        return None
    if planned_for is not None and timezone.now() < dispatch_opens_at(planned_for):
        # Planned for later: the board shows it, and nobody is sent yet.
        return None
    if another_nurse_going(referral) is not None:
        # The citizen referred twice: the nurse already going to her is
        # enough until the coordinator sends another herself.
        return None
    for suggestion in dispatch_rank(referral=referral)[:5]:
        shift = NurseShift.objects.get(pk=suggestion.shift_id)
        try:
            # visit_assign is its own transaction, and a refusal it audits is
            # written after that has rolled back: no savepoint here, which
            # would roll the denied attempt back with it (R9).
            return visit_assign(referral=referral, shift=shift, actor=actor)
        except Conflict as exc:
            if exc.code in (
                "referral.already_assigned",
                EPISODE_NURSE_ALREADY_GOING,
                "referral.on_hold",
                REFERRAL_PLANNED_LATER,
            ):
                return None
            continue  # she filled up meanwhile: try the next one
        except PreconditionFailed as exc:
            if exc.code == VISIT_CITIZEN_DECEASED:
                return None  # registered dead meanwhile: nobody is sent
            continue
    return None


def planned_referrals_dispatch(*, now: dt.datetime | None = None) -> int:
    """Beat job: with auto-assignment on, a referral planned for later
    (``acute.occurrence``) is sent the best-ranked nurse when its hour comes
    (``DISPATCH_LEAD`` before the requested start), as a referral due now is
    at triage. Only one nobody has been sent on yet: after a decline or a
    missed answer dispatch moves on by itself. Without auto-assignment the
    board and the deadline watch bring it to the coordinator. Returns how
    many were sent a nurse."""
    if not settings.ACUTE_AUTO_ASSIGN:
        return 0
    now = now or timezone.now()
    due = Referral.objects.filter(
        status=Referral.Status.ACCEPTED,
        planned_for__isnull=False,
        planned_for__lte=now + DISPATCH_LEAD,
        reached_at__isnull=True,
        on_hold_since__isnull=True,
        visits__isnull=True,
    ).order_by("deadline_at")
    return sum(
        dispatch_auto_assign(
            referral=referral,
            # The work of the acute function serving her: its log entries name it (R5).
            actor=Actor.system(
                "acute.planned_dispatch", caused_by=acute_function_serving(referral.citizen)
            ),
        )
        is not None
        for referral in due.select_related("citizen")
    )
