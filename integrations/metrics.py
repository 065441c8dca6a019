"""The outbox's figures for ``/metrics``: messages by state and the age of the
oldest one not yet acknowledged."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import Metric

from core.metrics import gauge
from integrations.models import OutboundMessage
from integrations.selectors import outbox_health


def outbox_metrics() -> Iterator[Metric]:
    by_status = dict(
        OutboundMessage.objects.values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    yield gauge(
        "tvaerakut_outbox_messages",
        "Outbound hand-offs by state.",
        ["state"],
        {status: by_status.get(status, 0) for status in OutboundMessage.Status.values},
    )
    age = outbox_health()["oldest_undelivered_age_seconds"]
    yield gauge(
        "tvaerakut_outbox_oldest_unacknowledged_age_seconds",
        "Age of the oldest hand-off not yet acknowledged by its partner (0: none waiting).",
        [],
        {(): age or 0.0},
    )
