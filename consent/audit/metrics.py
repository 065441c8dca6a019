"""The audit log's figures for ``/metrics``: entries appended (its rate is the
append rate) and the time since the last one; of the transparency log, the
entries waiting for the sequencer, the newest checkpoint's size and age, the
age of the last witnessed checkpoint, and witnesses' refusals."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Max
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, Metric

from consent.audit.cosignatures import witness_status
from consent.audit.log import checkpoint_latest
from consent.audit.models import AuditEntry, LogCheckpoint, LogCosignature, PendingEntry
from core.metrics import gauge


def audit_metrics() -> Iterator[Metric]:
    waiting = PendingEntry.objects.count()
    placed = sum(
        LogCheckpoint.objects.values("log")
        .annotate(size=Max("size"))
        .values_list("size", flat=True)
    )
    at = AuditEntry.objects.order_by("-recorded_at").values_list("recorded_at", flat=True).first()
    appended = CounterMetricFamily(
        "tvaerakut_audit_entries_appended",
        "Entries appended to the audit log (placed in every year's log, and waiting).",
    )
    appended.add_metric([], placed + waiting)
    yield appended
    yield gauge(
        "tvaerakut_audit_last_append_age_seconds",
        "Seconds since the newest audit entry was recorded (0: none yet).",
        [],
        {(): (timezone.now() - at).total_seconds() if at else 0.0},
    )
    now = timezone.now()
    latest = checkpoint_latest()
    witnessed = witness_status(now)
    yield gauge(
        "tvaerakut_audit_entries_waiting",
        "Audit entries committed but not yet placed in the log by the sequencer.",
        [],
        {(): float(waiting)},
    )
    yield gauge(
        "tvaerakut_audit_log_size",
        "Entries in the newest log, as its newest signed checkpoint says.",
        [],
        {(): float(latest.size) if latest else 0.0},
    )
    yield gauge(
        "tvaerakut_audit_checkpoint_age_seconds",
        "Seconds since the newest checkpoint was signed (0: none yet).",
        [],
        {(): (now - latest.signed_at).total_seconds() if latest else 0.0},
    )
    last = witnessed.last_witnessed
    yield gauge(
        "tvaerakut_audit_witnessed_age_seconds",
        "Seconds since a witness last cosigned a checkpoint (-1: never).",
        [],
        {(): (now - last).total_seconds() if last else -1.0},
    )
    yield gauge(
        "tvaerakut_audit_witness_refusals",
        "Checkpoints witnesses have refused (an alarm: the log may have been rewritten).",
        [],
        {(): float(LogCosignature.objects.filter(refused=True).count())},
    )
