"""The audit log's figures for ``/metrics``: entries appended (its rate is the
append rate) and the time since the last one."""

from __future__ import annotations

from collections.abc import Iterator

from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, Metric

from consent.audit.models import ChainHead
from core.metrics import gauge


def audit_metrics() -> Iterator[Metric]:
    head = ChainHead.objects.filter(pk=1).values_list("seq", "at").first()
    seq, at = head if head else (0, None)
    appended = CounterMetricFamily(
        "tvaerakut_audit_entries_appended", "Entries appended to the audit log."
    )
    appended.add_metric([], seq)
    yield appended
    yield gauge(
        "tvaerakut_audit_last_append_age_seconds",
        "Seconds since the newest audit entry was recorded (0: none yet).",
        [],
        {(): (timezone.now() - at).total_seconds() if at else 0.0},
    )
