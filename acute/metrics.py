"""The deadline watch's figures for ``/metrics`` (R10)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, Metric

from acute.models import DeadlineWarning
from core.metrics import gauge


def deadline_metrics() -> Iterator[Metric]:
    rows = DeadlineWarning.objects.values_list("kind").annotate(n=Count("pk"))
    raised = dict(rows.values_list("kind", "n"))
    waiting = dict(rows.filter(acknowledged_at__isnull=True).values_list("kind", "n"))
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
        "Deadline warnings no coordinator has acknowledged yet, by kind.",
        ["kind"],
        {kind: waiting.get(kind, 0) for kind in DeadlineWarning.Kind.values},
    )
