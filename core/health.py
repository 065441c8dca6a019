"""Liveness of the parts the platform needs: database, broker, a worker."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.db import connection

from worker.celery import app as celery_app


def _timed(check: Callable[[], str]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        detail = check()
        status = "up"
    except Exception as exc:  # noqa: BLE001 - a health probe reports any failure as "down"
        detail = type(exc).__name__
        status = "down"
    return {"status": status, "detail": detail, "ms": round((time.monotonic() - started) * 1000, 1)}


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _broker() -> str:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
        return str(conn.transport_cls)


def _worker() -> str:
    replies = celery_app.control.ping(timeout=1.5, limit=1)
    if not replies:
        raise RuntimeError("no worker answered")
    return f"{len(replies)} worker(s)"


# Extra details other apps add (queue depths, oldest undelivered message...).
# They are shown under "details" and never change the status: that stays
# database, broker and worker.
_details: dict[str, tuple[Callable[[], dict[str, Any]], bool]] = {}


def register_health_detail(
    name: str, provider: Callable[[], dict[str, Any]], *, needs_broker: bool = False
) -> None:
    _details[name] = (provider, needs_broker)


def _detail(provider: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return provider()
    except Exception as exc:  # noqa: BLE001 - a health probe reports any failure
        return {"error": type(exc).__name__}


def health_report() -> dict[str, Any]:
    checks = {"database": _timed(_database), "broker": _timed(_broker)}
    # Asking workers needs the broker; don't wait for a ping that cannot travel.
    if checks["broker"]["status"] == "up":
        checks["worker"] = _timed(_worker)
    else:
        checks["worker"] = {"status": "down", "detail": "broker unreachable", "ms": 0.0}
    healthy = all(c["status"] == "up" for c in checks.values())
    report: dict[str, Any] = {"status": "ok" if healthy else "fail", "checks": checks}
    if _details:
        broker_up = checks["broker"]["status"] == "up"
        report["details"] = {
            name: _detail(provider) if broker_up or not needs_broker else {"error": "broker down"}
            for name, (provider, needs_broker) in _details.items()
        }
    return report
