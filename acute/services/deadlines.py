"""The deadline watch (R10): warnings raised before a referral's deadline is
missed and when it has passed, and the coordinator's acknowledgement of them."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from acute.dispatch import Need, NurseState, rank
from acute.models import DeadlineWarning, Referral, Visit
from acute.occurrence import DISPATCH_LEAD
from acute.selectors import nurse_states
from acute.services._common import acute_function_serving, audit
from consent.audit.services import Action
from core.actors import Actor
from core.errors import Conflict
from core.locks import citizen_lock
from core.models import Organisation

DEADLINE_WATCH_TASK = "acute.deadline_watch"


def deadline_watch(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Beat job. For every open referral nobody has reached yet: warn when no
    available nurse who may be sent there (of an acute function serving the
    citizen's municipality, R1) can arrive before the deadline (and nobody
    assigned will),
    escalate once the deadline has passed. One warning row per kind; rows are
    the coordinator board's to acknowledge. A warning is about the deadline it
    names: when the deadline has moved since (a resend asking for more haste,
    the return from hospital), the new one is judged afresh and the row raised
    again for it. So is an at-risk warning the coordinator acknowledged before
    sending a nurse, when the referral is at risk again after that (the nurse
    declined, did not answer, was withdrawn, or is late): once per nurse sent,
    however often the watch runs."""
    now = now or timezone.now()
    margin = dt.timedelta(minutes=settings.ACUTE_AT_RISK_MARGIN_MINUTES)
    counts = {"at_risk": 0, "overdue": 0}
    pending = list(
        # Untriaged referrals count too: a deadline does not wait for triage.
        Referral.objects.filter(
            status__in=[Referral.Status.RECEIVED, Referral.Status.ACCEPTED],
            reached_at__isnull=True,
            # In hospital: the board shows the hold instead.
            on_hold_since__isnull=True,
        )
        # Planned for later: judged from when a nurse may be sent (acute.occurrence).
        .filter(Q(planned_for__isnull=True) | Q(planned_for__lte=now + DISPATCH_LEAD))
        .select_related("citizen")
        .order_by("deadline_at")
    )
    if not pending:
        return counts
    # (referral, kind) of the warnings already raised for the referral's current deadline.
    deadlines = {r.pk: r.deadline_at.isoformat() for r in pending}
    existing: set[tuple[int, str]] = set()
    acknowledged_at_risk: dict[int, dt.datetime] = {}
    for referral_id, kind, detail, acknowledged_at in DeadlineWarning.objects.filter(
        referral__in=pending,
        kind__in=[DeadlineWarning.Kind.AT_RISK, DeadlineWarning.Kind.OVERDUE],
    ).values_list("referral_id", "kind", "detail", "acknowledged_at"):
        if (detail or {}).get("deadline_at") != deadlines[referral_id]:
            continue
        existing.add((referral_id, kind))
        if kind == DeadlineWarning.Kind.AT_RISK and acknowledged_at is not None:
            acknowledged_at_risk[referral_id] = acknowledged_at
    # When a nurse was last sent on each referral (visits active or not), and
    # who declined it or did not answer: dispatch does not send her again
    # (``need_for``), so she is not one who could still make it either.
    last_sent: dict[int, dt.datetime] = {}
    not_going: dict[int, set[int]] = {}
    for sent in Visit.objects.filter(referral__in=pending).order_by("assigned_at", "pk"):
        if sent.referral_id is None:
            continue
        last_sent[sent.referral_id] = sent.assigned_at
        if sent.status in Visit.ACTIVE_STATUSES or sent.cancel_reason in (
            Visit.CancelReason.DECLINED,
            Visit.CancelReason.NO_ANSWER,
        ):
            not_going.setdefault(sent.referral_id, set()).add(sent.nurse_id)
    # The citizen referred again by another door joins her open episode: a
    # nurse at the door, or on her way in time, on another of its referrals
    # is with her as well.
    episode_visits: dict[int, list[Visit]] = {}
    for sent in Visit.objects.filter(
        episode_id__in={r.episode_id for r in pending}, status__in=Visit.ACTIVE_STATUSES
    ).select_related("shift"):
        episode_visits.setdefault(sent.episode_id, []).append(sent)
    # Only a nurse of an acute function serving the citizen's municipality
    # could be sent (R1), so only she counts as one who could still make it;
    # one read of the shifts per municipality among the pending referrals.
    states_by_municipality: dict[int, list[NurseState]] = {}
    new_rows = []
    for referral in pending:
        if any(
            v.status == Visit.Status.ON_SITE for v in episode_visits.get(referral.episode_id, ())
        ):
            continue
        # Missed once it has passed: a nurse at the door at its very second meets it.
        if referral.deadline_at < now:
            if (referral.pk, DeadlineWarning.Kind.OVERDUE) not in existing:
                new_rows.append(
                    DeadlineWarning(
                        referral=referral,
                        kind=DeadlineWarning.Kind.OVERDUE,
                        raised_at=now,
                        detail={"deadline_at": referral.deadline_at.isoformat()},
                    )
                )
                counts["overdue"] += 1
            continue
        if (referral.pk, DeadlineWarning.Kind.AT_RISK) in existing and not _sent_since(
            acknowledged_at_risk.get(referral.pk), last_sent.get(referral.pk)
        ):
            continue
        if any(
            visit.estimated_arrival_at is not None
            # An estimate that has passed without her at the door vouches for
            # nothing: she is late, and the deadline is judged as if nobody
            # were on the way, so the coordinator hears of it before it is missed.
            and visit.estimated_arrival_at >= now
            and visit.estimated_arrival_at + margin <= referral.deadline_at
            # Nor does one after her shift has ended: nobody counts on her then.
            and visit.estimated_arrival_at <= visit.shift.ends_at
            for visit in episode_visits.get(referral.episode_id, ())
        ):
            continue
        need = Need(
            latitude=float(referral.citizen.latitude),
            longitude=float(referral.citizen.longitude),
            deadline_at=referral.deadline_at - margin,
            required_skills=frozenset(referral.required_skills),
            # The nurse already sent on it is not another nurse who could go,
            # nor is one who declined it or let it go unanswered.
            excluded_nurses=frozenset(not_going.get(referral.pk, ())),
        )
        municipality_id = referral.citizen.municipality_id
        if municipality_id not in states_by_municipality:
            states_by_municipality[municipality_id] = nurse_states(
                now=now, available_only=True, serving_municipality_id=municipality_id
            )
        ranked = rank(states_by_municipality[municipality_id], need, now=now, limit=1)
        if ranked and ranked[0].meets_deadline:
            continue
        new_rows.append(
            DeadlineWarning(
                referral=referral,
                kind=DeadlineWarning.Kind.AT_RISK,
                raised_at=now,
                detail={
                    "deadline_at": referral.deadline_at.isoformat(),
                    "best_arrival_at": ranked[0].estimated_arrival_at.isoformat()
                    if ranked
                    else None,
                },
            )
        )
        counts["at_risk"] += 1
    # A row raised for an earlier deadline is raised again: unacknowledged, for this one.
    # Each warning is a write on the citizen's referral, on her log in the same
    # transaction as the row (R9), as the coordinator's acknowledgement of it is.
    with transaction.atomic():
        DeadlineWarning.objects.bulk_create(
            new_rows,
            update_conflicts=True,
            unique_fields=["referral", "kind"],
            update_fields=["raised_at", "detail", "acknowledged_at", "acknowledged_by"],
        )
        _warnings_audit(new_rows)
    return counts


def _warnings_audit(warnings: list[DeadlineWarning]) -> None:
    """The watch's warnings on the log of each citizen, as the work of the
    acute function serving her (R5: her insight report names it), one entry
    per warning raised."""
    serving: dict[int, Organisation | None] = {}
    for warning in warnings:
        citizen = warning.referral.citizen
        if citizen.municipality_id not in serving:
            serving[citizen.municipality_id] = acute_function_serving(citizen)
        audit(
            actor=Actor.system(DEADLINE_WATCH_TASK, caused_by=serving[citizen.municipality_id]),
            action=Action.CREATE,
            citizen_id=citizen.pk,
            resource_type="Flag",
            resource_id=warning.pk or "",
            detail={"referral": warning.referral_id, "kind": warning.kind},
            reason_code="warning_raised",
        )


def _sent_since(acknowledged_at: dt.datetime | None, sent_at: dt.datetime | None) -> bool:
    """A nurse was sent on the referral after the coordinator acknowledged its
    at-risk warning: the acknowledgement answered the risk as it stood then.
    The referral at risk again (the nurse declined, did not answer, was
    withdrawn or is late) is a new warning, not the one already seen."""
    return acknowledged_at is not None and sent_at is not None and sent_at > acknowledged_at


def warning_acknowledge(*, warning: DeadlineWarning, actor: Actor) -> DeadlineWarning:
    """The coordinator has seen the warning (for ``referrer_untold``: she has
    phoned the referrer, R11); it leaves the board. Who and when are kept on
    the warning, and the acknowledgement is a write on the citizen's record
    (R9)."""
    citizen_id = (
        DeadlineWarning.objects.filter(pk=warning.pk)
        .values_list("referral__citizen_id", flat=True)
        .get()
    )
    with transaction.atomic():
        # Her row before the warning's (the lock order, ``core.locks``): an
        # admission or a discharge re-raising the warning at the same moment
        # holds her row and her referrals, and takes its turn. The warning's
        # row only: its referral, joined in to be read, is not locked.
        citizen_lock(citizen_id)
        warning = (
            DeadlineWarning.objects.select_for_update(of=("self",))
            .select_related("referral")
            .get(pk=warning.pk)
        )
        if warning.acknowledged_at is not None:
            raise Conflict("warning.already_acknowledged", "The warning is already acknowledged.")
        warning.acknowledged_at = timezone.now()
        warning.acknowledged_by = actor.user
        warning.save(update_fields=["acknowledged_at", "acknowledged_by"])
        audit(
            actor=actor,
            action=Action.UPDATE,
            citizen_id=warning.referral.citizen_id,
            resource_type="Flag",
            resource_id=warning.pk,
            detail={"referral": warning.referral_id, "kind": warning.kind},
            reason_code="warning_acknowledged",
        )
    return warning
