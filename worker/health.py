"""The broker and the workers, as /healthz asks after them.

Every question is bounded in time: a broker that is down is refused at once,
and one that is hung (accepting connections, never answering) is given up on
after :data:`PROBE_TIMEOUT_SECONDS`, so /healthz answers 503 instead of
waiting with it.
"""

from __future__ import annotations

from typing import Any

from worker.celery import app

PROBE_TIMEOUT_SECONDS = 2.0


def probe_connection() -> Any:
    """A broker connection that tries once and never waits longer than the probe."""
    return app.connection_for_write(
        connect_timeout=PROBE_TIMEOUT_SECONDS,
        transport_options={
            "max_retries": 0,
            "socket_connect_timeout": PROBE_TIMEOUT_SECONDS,
            "socket_timeout": PROBE_TIMEOUT_SECONDS,
        },
    )


def broker_check() -> str:
    with probe_connection() as conn:
        # Connecting opens a channel, and the Redis transport asks PING there:
        # a hung broker accepts the connection but never answers that.
        conn.ensure_connection(max_retries=0, timeout=PROBE_TIMEOUT_SECONDS)
        return str(conn.transport_cls)


def worker_check() -> str:
    replies = app.control.ping(timeout=1.5, limit=1)
    if not replies:
        raise RuntimeError("no worker answered")
    return f"{len(replies)} worker(s)"
