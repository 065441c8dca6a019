"""Reads that combine several apps for the pages in ``portal``: the warnings
about a nurse's visits come from acute (deadlines), acute.clinical (critical
results, orders not acted on) and integrations (hand-offs that failed or were
withheld)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext

from acute.clinical.models import LabResult, MedicationOrder, PhysicianAlert
from acute.models import DeadlineWarning, Visit
from core.units import number_label, unit_label
from integrations.models import OutboundMessage


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
    "order_dose_alert",
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
_DOSE_ALERTS = (
    PhysicianAlert.Kind.DOSE_AFTER_CORRECTION,
    PhysicianAlert.Kind.DOSE_AFTER_CANCELLATION,
)


def _result_shown(result: LabResult) -> str:
    """A result as the visit's results table shows it, in the active language:
    the test's Danish name, a decimal comma, the unit as a clinician writes it
    (``Kalium; plasma: 7,2 mmol/L``)."""
    return f"{gettext(result.test.display)}: {number_label(result.value)} {unit_label(result.unit)}"


def nurse_visit_warnings(*, visits: Sequence[Visit]) -> dict[int, list[VisitWarning]]:
    """Open warnings about visits already let through the gate (her list or her
    visit page): a deadline at risk or passed, a critical result or an order the
    physician has not acted on, a message about the visit that failed or was
    withheld. Who and what only, never a message's content; four queries
    whatever the number of visits."""
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
                detail=warning.text if kind == "referral_warning" else "",
            )
        )
    for alert in PhysicianAlert.objects.filter(
        visit_id__in=by_visit, acknowledged_at__isnull=True
    ).select_related("lab_result__test"):
        assert alert.visit_id is not None
        critical = alert.kind == PhysicianAlert.Kind.CRITICAL_RESULT and alert.lab_result
        if alert.kind in _DOSE_ALERTS:
            # A dose booked against an order since corrected or cancelled: what
            # and which orders, as the physician reads it (R8).
            kind, detail = "order_dose_alert", alert.shown_message
        elif critical and alert.lab_result:
            kind, detail = "critical_result", _result_shown(alert.lab_result)
        else:
            kind, detail = "physician_alert", alert.get_kind_display()
        warnings[alert.visit_id].append(
            VisitWarning(visit_id=alert.visit_id, kind=kind, at=alert.raised_at, detail=detail)
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
