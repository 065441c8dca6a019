"""Reads of the acute function that cross a permission boundary.

One referral or visit: :func:`consent.gate.access_citizen` decides and audits.
Lists: one set-based decision (:func:`consent.gate.visible_record`, the
gate's rules for searches), one audit entry per citizen shown
(:func:`consent.gate.audit_listed`: emergency for a citizen only the
override shows); the refused ones are left out, and recorded as denied.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from acute.deadlines import LOCAL
from acute.models import DeadlineWarning, Episode, NurseShift, Referral, Visit
from consent.audit.services import Action, Outcome, Purpose, audit_record, audit_record_many
from consent.gate import Decision, access_citizen, audit_listed, visible_record
from core.actors import Actor
from core.errors import InvalidInput, NotFoundOrNotAllowed

# The gate's category for the acute function's own records (identity, address
# and the referral's clinical picture travel together).
CATEGORY = "patient"

Row = TypeVar("Row", Referral, Visit)


def _unknown(actor: Actor, action: str, resource_type: str, resource_id: str) -> None:
    """A denied attempt at something that does not exist (R9): same answer as refused."""
    audit_record(
        actor=actor,
        action=action,
        purpose=Purpose.TREATMENT,
        citizen_id=None,
        outcome=Outcome.DENIED,
        resource_type=resource_type,
        resource_id=resource_id,
        reason_code="unknown_resource",
    )
    raise NotFoundOrNotAllowed()


def referral_get(
    *, actor: Actor, referral_id: int, action: str = Action.READ, for_update: bool = False
) -> Referral:
    """One referral, through the gate."""
    referral = (
        Referral.objects.select_related(
            "citizen", "citizen__municipality", "source_organisation", "episode"
        )
        .filter(pk=referral_id)
        .first()
    )
    resource_id = f"referral-{referral_id}"
    if referral is None:
        _unknown(actor, action, "ServiceRequest", resource_id)
        raise AssertionError("unreachable")
    access_citizen(
        actor=actor,
        citizen_id=referral.citizen_id,
        action=action,
        category=CATEGORY,
        purpose=Purpose.TREATMENT,
        resource_type="ServiceRequest",
        resource_id=resource_id,
    )
    return referral


def visit_get(*, actor: Actor, visit_id: int, action: str = Action.READ) -> Visit:
    """One visit, through the gate."""
    visit = (
        Visit.objects.select_related("citizen", "citizen__municipality", "nurse", "referral")
        .filter(pk=visit_id)
        .first()
    )
    resource_id = f"visit-{visit_id}"
    if visit is None:
        _unknown(actor, action, "Encounter", resource_id)
        raise AssertionError("unreachable")
    access_citizen(
        actor=actor,
        citizen_id=visit.citizen_id,
        action=action,
        category=CATEGORY,
        purpose=Purpose.TREATMENT,
        resource_type="Encounter",
        resource_id=resource_id,
    )
    return visit


def episode_get(*, actor: Actor, episode_id: int, action: str = Action.READ) -> Episode:
    episode = Episode.objects.select_related("citizen").filter(pk=episode_id).first()
    if episode is None:
        _unknown(actor, action, "EpisodeOfCare", str(episode_id))
        raise AssertionError("unreachable")
    access_citizen(
        actor=actor,
        citizen_id=episode.citizen_id,
        action=action,
        category=CATEGORY,
        purpose=Purpose.TREATMENT,
        resource_type="EpisodeOfCare",
        resource_id=str(episode_id),
    )
    return episode


def _gated(actor: Actor, rows: Sequence[Row], resource_type: str) -> list[Row]:
    """Keep the rows whose citizen the actor may see; audit each citizen once.

    One set-based decision for the whole list (the gate's own rules for
    searches), not a decision per citizen: a board of a hundred referrals
    costs a few queries, not hundreds."""
    citizen_ids = list(dict.fromkeys(row.citizen_id for row in rows))
    allowed_ids: set[int] = set()
    overrides: dict[int, Decision] = {}
    if citizen_ids:
        visible = visible_record(actor=actor, category=CATEGORY, purpose=Purpose.TREATMENT)
        allowed_ids = set(visible.citizens.filter(pk__in=citizen_ids).values_list("pk", flat=True))
        allowed_ids -= visible.refused
        overrides = visible.overrides
    permitted = [citizen_id for citizen_id in citizen_ids if citizen_id in allowed_ids]
    denied = [citizen_id for citizen_id in citizen_ids if citizen_id not in allowed_ids]
    # A citizen on the list only through the nurse's break-the-glass is an
    # emergency access, recorded with the override's reason.
    audit_listed(
        actor=actor,
        action=Action.SEARCH,
        purpose=Purpose.TREATMENT,
        citizen_ids=permitted,
        overrides=overrides,
        category=CATEGORY,
        resource_type=resource_type,
        reason_code="care_relationship",
    )
    if denied:
        audit_record_many(
            actor=actor,
            action=Action.SEARCH,
            purpose=Purpose.TREATMENT,
            citizen_ids=denied,
            outcome=Outcome.DENIED,
            resource_type=resource_type,
            reason_code="left_out_of_list",
        )
    allowed = set(permitted)
    return [row for row in rows if row.citizen_id in allowed]


BOARD_LIMIT = 100


def referral_board(*, actor: Actor, status: str = "") -> list[Referral]:
    """The coordinator's board: referrals not yet reached (awaiting triage or a
    nurse), most urgent deadline first, with their active visit and open warnings."""
    qs = (
        Referral.objects.filter(reached_at__isnull=True)
        .select_related("citizen", "citizen__municipality")
        .prefetch_related(
            Prefetch(
                "visits",
                queryset=Visit.objects.filter(status__in=Visit.ACTIVE_STATUSES).select_related(
                    "nurse"
                ),
                to_attr="active_visits",
            ),
            Prefetch(
                "warnings",
                queryset=DeadlineWarning.objects.filter(acknowledged_at__isnull=True),
                to_attr="open_warnings",
            ),
        )
        .order_by("deadline_at", "pk")
    )
    if status:
        if status not in (Referral.Status.RECEIVED, Referral.Status.ACCEPTED):
            raise InvalidInput(
                "board.status_invalid", "Filter on received or accepted.", field="status"
            )
        qs = qs.filter(status=status)
    else:
        qs = qs.filter(status__in=[Referral.Status.RECEIVED, Referral.Status.ACCEPTED])
    return _gated(actor, list(qs[:BOARD_LIMIT]), "ServiceRequest")


def nurse_visits(*, actor: Actor) -> list[Visit]:
    """The nurse's own visits that are not finished, for her tablet."""
    qs = (
        Visit.objects.filter(nurse=actor.user, status__in=Visit.ACTIVE_STATUSES)
        .select_related("citizen", "citizen__municipality", "referral")
        .order_by("assigned_at")
    )
    return _gated(actor, list(qs), "Encounter")


@dataclass(frozen=True)
class VisitWarning:
    """Something the nurse should know about one of her visits."""

    visit_id: int
    kind: str  # one of VISIT_WARNING_KINDS
    at: dt.datetime
    detail: str


VISIT_WARNING_KINDS = (
    "deadline_at_risk",
    "deadline_overdue",
    "referral_warning",
    "critical_result",
    "physician_alert",
    "message_failed",
    "message_withheld",
)

_DEADLINE_KINDS: dict[str, str] = {
    DeadlineWarning.Kind.AT_RISK: "deadline_at_risk",
    DeadlineWarning.Kind.OVERDUE: "deadline_overdue",
}
# Outbox sources that belong to one visit, one episode or one referral.
_VISIT_SOURCES = ("acute.visit", "acute.visit.admission")
_EPISODE_SOURCES = ("acute.episode", "acute.episode.handback")
_ORDER_SOURCE = "acute.clinical.medication_order"


def nurse_visit_warnings(*, visits: Sequence[Visit]) -> dict[int, list[VisitWarning]]:
    """Open warnings about visits already let through the gate (her list or her
    visit page): a deadline at risk or passed, a critical result or an order the
    physician has not acted on, a message about the visit that failed or was
    withheld. Who and what only, never a message's content; four queries
    whatever the number of visits."""
    from acute.clinical.models import MedicationOrder, PhysicianAlert
    from integrations.models import OutboundMessage

    if not visits:
        return {}
    by_visit = {v.pk: v for v in visits}
    by_referral = {v.referral_id: v.pk for v in visits if v.referral_id is not None}
    by_episode = {v.episode_id: v.pk for v in visits}
    warnings: dict[int, list[VisitWarning]] = defaultdict(list)
    for warning in DeadlineWarning.objects.filter(
        referral_id__in=by_referral, acknowledged_at__isnull=True
    ):
        kind = _DEADLINE_KINDS.get(warning.kind, "referral_warning")
        warnings[by_referral[warning.referral_id]].append(
            VisitWarning(
                visit_id=by_referral[warning.referral_id],
                kind=kind,
                at=warning.raised_at,
                detail=warning.get_kind_display() if kind == "referral_warning" else "",
            )
        )
    for alert in PhysicianAlert.objects.filter(
        visit_id__in=by_visit, acknowledged_at__isnull=True
    ).select_related("lab_result__test"):
        assert alert.visit_id is not None
        critical = alert.kind == PhysicianAlert.Kind.CRITICAL_RESULT and alert.lab_result
        warnings[alert.visit_id].append(
            VisitWarning(
                visit_id=alert.visit_id,
                kind="critical_result" if critical else "physician_alert",
                at=alert.raised_at,
                detail=(
                    f"{alert.lab_result.test.display}: {alert.lab_result.value.normalize():f} "
                    f"{alert.lab_result.unit}"
                    if critical and alert.lab_result
                    else alert.get_kind_display()
                ),
            )
        )
    by_order = dict(
        MedicationOrder.objects.filter(visit_id__in=by_visit).values_list("pk", "visit_id")
    )
    sources = (
        Q(source_type__in=_VISIT_SOURCES, source_id__in=[str(pk) for pk in by_visit])
        | Q(source_type__in=_EPISODE_SOURCES, source_id__in=[str(pk) for pk in by_episode])
        | Q(source_type="acute.referral", source_id__in=[str(pk) for pk in by_referral])
        | Q(source_type=_ORDER_SOURCE, source_id__in=[str(pk) for pk in by_order])
    )
    problems = (
        OutboundMessage.objects.filter(
            sources,
            status__in=[OutboundMessage.Status.FAILED, OutboundMessage.Status.WITHHELD],
        )
        .select_related("partner__organisation")
        .defer("bundle")
    )
    for message in problems:
        key = int(message.source_id)
        if message.source_type in _VISIT_SOURCES:
            visit_id: int | None = key
        elif message.source_type in _EPISODE_SOURCES:
            visit_id = by_episode.get(key)
        elif message.source_type == _ORDER_SOURCE:
            visit_id = by_order.get(key)
        else:
            visit_id = by_referral.get(key)
        if visit_id is None:
            continue
        warnings[visit_id].append(
            VisitWarning(
                visit_id=visit_id,
                kind=(
                    "message_withheld"
                    if message.status == OutboundMessage.Status.WITHHELD
                    else "message_failed"
                ),
                at=message.created_at,
                detail=message.partner.organisation.name,
            )
        )
    return {pk: sorted(found, key=lambda w: w.at) for pk, found in warnings.items()}


def shifts_on(*, at: dt.datetime | None = None) -> QuerySet[NurseShift]:
    """Shifts on at ``at`` (staff data, no citizen data)."""
    at = at or timezone.now()
    return (
        NurseShift.objects.filter(starts_at__lte=at, ends_at__gt=at)
        .select_related("nurse")
        .order_by("kind", "nurse__username")
    )


def warnings_open() -> QuerySet[DeadlineWarning]:
    """Deadline warnings not yet acknowledged (no citizen data: referral id, deadline)."""
    return (
        DeadlineWarning.objects.filter(acknowledged_at__isnull=True)
        .select_related("referral")
        .order_by("-raised_at", "pk")
    )


# --- follow-up figures -------------------------------------------------------

PERIODS = ("day", "month")


def _period_key(at: dt.datetime, period: str) -> str:
    local = at.astimezone(LOCAL)
    return f"{local:%Y-%m-%d}" if period == "day" else f"{local:%Y-%m}"


def figures(*, start: dt.date, end: dt.date, period: str) -> list[dict[str, Any]]:
    """The trial's follow-up figures per period (local days or months), from
    referrals received in ``[start, end]``: reached within deadline per urgency,
    municipality and referrer; mean minutes from referral to arrival; episodes
    treated at home versus admitted; visits per municipality. Aggregates only."""
    if period not in PERIODS:
        raise InvalidInput("figures.period_invalid", "Period is day or month.", field="period")
    if end < start:
        raise InvalidInput("figures.range_invalid", "The end is before the start.", field="end")
    if (end - start).days > 366:
        raise InvalidInput("figures.range_too_long", "At most a year at a time.", field="end")
    since = dt.datetime.combine(start, dt.time(0), tzinfo=LOCAL)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=LOCAL)
    referrals = Referral.objects.filter(
        received_at__gte=since, received_at__lt=until, status__in=["accepted", "closed"]
    ).values_list(
        "received_at",
        "deadline_at",
        "reached_at",
        "urgency",
        "source",
        "episode__municipality__name",
    )
    buckets: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    arrival_minutes: dict[str, list[float]] = defaultdict(list)
    for received_at, deadline_at, reached_at, urgency, source, municipality in referrals:
        key = _period_key(received_at, period)
        met = reached_at is not None and reached_at <= deadline_at
        for dimension, value in (
            ("urgency", urgency),
            ("municipality", municipality),
            ("referrer", source),
            ("all", "all"),
        ):
            bucket = buckets[(key, dimension, value)]
            bucket[0] += 1
            bucket[1] += int(met)
        if reached_at is not None:
            arrival_minutes[key].append((reached_at - received_at).total_seconds() / 60)
    outcomes: dict[tuple[str, str], int] = defaultdict(int)
    for closed_at, outcome in Episode.objects.filter(
        status=Episode.Status.COMPLETED, closed_at__gte=since, closed_at__lt=until
    ).values_list("closed_at", "outcome"):
        if closed_at is not None:
            outcomes[(_period_key(closed_at, period), outcome)] += 1
    visits: dict[tuple[str, str], int] = defaultdict(int)
    for on_site_at, municipality in Visit.objects.filter(
        on_site_at__gte=since, on_site_at__lt=until
    ).values_list("on_site_at", "citizen__municipality__name"):
        if on_site_at is not None:
            visits[(_period_key(on_site_at, period), municipality)] += 1
    rows: list[dict[str, Any]] = []
    for (key, dimension, value), (total, reached) in sorted(buckets.items()):
        rows.append(
            {
                "period": key,
                "figure": "reached_within_deadline",
                "dimension": dimension,
                "value": value,
                "count": total,
                "met": reached,
                "share": round(reached / total, 3) if total else None,
            }
        )
    for key, minutes in sorted(arrival_minutes.items()):
        rows.append(
            {
                "period": key,
                "figure": "minutes_referral_to_arrival",
                "dimension": "all",
                "value": "mean",
                "count": len(minutes),
                "met": None,
                "share": None,
                "mean_minutes": round(sum(minutes) / len(minutes), 1),
            }
        )
    totals: dict[str, int] = defaultdict(int)
    for (key, _outcome), count in outcomes.items():
        totals[key] += count
    for (key, outcome), count in sorted(outcomes.items()):
        rows.append(
            {
                "period": key,
                "figure": "episode_outcome",
                "dimension": "outcome",
                "value": outcome,
                "count": count,
                "met": None,
                "share": round(count / totals[key], 3),
            }
        )
    for (key, municipality), count in sorted(visits.items()):
        rows.append(
            {
                "period": key,
                "figure": "visits",
                "dimension": "municipality",
                "value": municipality,
                "count": count,
                "met": None,
                "share": None,
            }
        )
    return rows


FIGURE_COLUMNS = (
    "period",
    "figure",
    "dimension",
    "value",
    "count",
    "met",
    "share",
    "mean_minutes",
)


def figures_csv(rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIGURE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in FIGURE_COLUMNS})
    return out.getvalue()
