"""The deadline watch's figures for ``/metrics`` (R10)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, Metric

from acute.models import DeadlineWarning
from acute.selectors.board import warning_settled
from core.metrics import gauge


def deadline_metrics() -> Iterator[Metric]:
    rows = DeadlineWarning.objects.values_list("kind").annotate(n=Count("pk"))
    raised = dict(rows.values_list("kind", "n"))
    # On the boards: not acknowledged, and not about a referral that has
    # nothing left to warn of (a nurse at the door, closed, on hold).
    waiting = dict(
        rows.filter(acknowledged_at__isnull=True)
        .exclude(warning_settled())
        .values_list("kind", "n")
    )
    family = CounterMetricFamily(
        "tvaerakut_deadline_warnings",
        "Deadline warnings raised for coordinators, by kind.",
        labels=["kind"],
    )
    for kind in DeadlineWarning.Kind.values:
        family.add_metric([kind], raised.get(kind, 0))
    yield family
    yield gauge(
        "tvaerakut_deadline_warnings_unacknowledged",
        "Deadline warnings on the coordinators' boards (not acknowledged, not settled), by kind.",
        ["kind"],
        {kind: waiting.get(kind, 0) for kind in DeadlineWarning.Kind.values},
    )
