"""Races on PostgreSQL brought to their point, not left to timing: a test
holds a row lock in one transaction, starts the other side in a thread of
its own (own database connection) and waits until it is seen waiting for
that lock before letting go."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, connections, transaction


def waiting_on_locks() -> int:
    """How many sessions of this database wait for a row lock now."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def until(condition: Callable[[], bool], seconds: float = 10) -> None:
    """Wait for ``condition``; fail the test if the race never gets there."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the race never reached its point"
        time.sleep(0.02)


def in_thread(call: Callable[[], Any], results: dict[str, Any], name: str) -> threading.Thread:
    """``call`` started in a thread of its own; its answer, or the error it
    raised (the loser's answer is what a race test asserts), lands in
    ``results[name]``."""

    def run() -> None:
        try:
            results[name] = call()
        except Exception as exc:  # noqa: BLE001 - the loser's answer is the result under test
            results[name] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def row_held(sql: str, params: list[Any], release: threading.Event) -> threading.Thread:
    """A transaction in a thread of its own that takes the lock ``sql``
    asks for (``SELECT ... FOR UPDATE`` or ``FOR KEY SHARE``) and holds it
    until ``release``; returned once the lock is held."""
    held = threading.Event()

    def run() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, params)
                held.set()
                release.wait(timeout=20)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert held.wait(timeout=10)
    return thread
