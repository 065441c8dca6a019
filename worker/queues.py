"""Queue depths, read from the broker (for /healthz and the benchmark)."""

from __future__ import annotations

from typing import Any

from kombu.exceptions import ChannelError

from worker.celery import QUEUES
from worker.health import PROBE_TIMEOUT_SECONDS, probe_connection


def queue_depths() -> dict[str, int]:
    """Messages waiting in each of the platform's queues."""
    with probe_connection() as conn:
        conn.ensure_connection(max_retries=0, timeout=PROBE_TIMEOUT_SECONDS)
        channel: Any = conn.default_channel
        depths = {}
        for name in QUEUES:
            try:
                declared = channel.queue_declare(queue=name, passive=True)
            except ChannelError:
                # Redis keeps no list for an empty queue, and says "not found".
                depths[name] = 0
                continue
            depths[name] = int(declared.message_count)
        return depths
