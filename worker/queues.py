"""Queue depths, read from the broker (for /healthz and the benchmark)."""

from __future__ import annotations

from typing import Any

from worker.celery import QUEUES, app


def queue_depths() -> dict[str, int]:
    """Messages waiting in each of the platform's queues."""
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
        channel: Any = conn.default_channel
        depths = {}
        for name in QUEUES:
            declared = channel.queue_declare(queue=name, passive=True)
            depths[name] = int(declared.message_count)
        return depths
