"""The broker and the workers, as /healthz asks after them."""

from __future__ import annotations

from worker.celery import app


def broker_check() -> str:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
        return str(conn.transport_cls)


def worker_check() -> str:
    replies = app.control.ping(timeout=1.5, limit=1)
    if not replies:
        raise RuntimeError("no worker answered")
    return f"{len(replies)} worker(s)"
