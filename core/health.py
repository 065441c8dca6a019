"""Liveness of the parts the platform needs: the database here, and whatever
the apps above register (the worker app adds the broker and a worker).

``core`` is the bottom layer: it imports none of the apps. A part that must be
up for the platform to be healthy registers a *check*; a figure worth showing
beside it (queue depths, the oldest undelivered message) registers a *detail*,
which never changes the status.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection


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


@dataclass(frozen=True)
class _Check:
    run: Callable[[], str]
    # The check that must be up for this one to be asked at all (a worker is
    # pinged through the broker: no point waiting for a ping that cannot travel).
    needs: str | None


_checks: dict[str, _Check] = {"database": _Check(_database, None)}


def register_health_check(name: str, check: Callable[[], str], *, needs: str | None = None) -> None:
    """A part that must answer for /healthz to say 200; ``check`` returns a
    short description when up and raises when down."""
    if needs is not None and needs not in _checks:
        raise ValueError(f"health check {name!r} needs {needs!r}, which is not registered")
    _checks[name] = _Check(check, needs)


# Extra details other apps add (queue depths, oldest undelivered message...).
# They are shown under "details" and never change the status.
_details: dict[str, tuple[Callable[[], dict[str, Any]], str | None]] = {}


def register_health_detail(
    name: str, provider: Callable[[], dict[str, Any]], *, needs: str | None = None
) -> None:
    _details[name] = (provider, needs)


def _detail(provider: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return provider()
    except Exception as exc:  # noqa: BLE001 - a health probe reports any failure
        return {"error": type(exc).__name__}


def health_report() -> dict[str, Any]:
    checks: dict[str, dict[str, Any]] = {}
    for name, check in _checks.items():
        if check.needs is not None and checks[check.needs]["status"] != "up":
            checks[name] = {"status": "down", "detail": f"{check.needs} unreachable", "ms": 0.0}
        else:
            checks[name] = _timed(check.run)
    healthy = all(c["status"] == "up" for c in checks.values())
    report: dict[str, Any] = {"status": "ok" if healthy else "fail", "checks": checks}
    if _details:
        report["details"] = {
            name: _detail(provider)
            if needs is None or checks.get(needs, {}).get("status") == "up"
            else {"error": f"{needs} down"}
            for name, (provider, needs) in _details.items()
        }
    return report
