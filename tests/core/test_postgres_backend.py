"""The database connection's health check (core/postgres): a request after the
server ended the connection is served on a new one, not answered with an error."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import close_old_connections, connection, connections

from core.models import Role, User
from tests import factories as f

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _from_another_connection(sql: str, params: list[object]) -> list[tuple[object, ...]]:
    """Run SQL on a connection of its own (Django's connections are per thread)."""
    rows: list[tuple[object, ...]] = []

    def run() -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute(sql, params)
                rows.extend(cursor.fetchall())
        finally:
            connections["default"].close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return rows


def _end_backend(pid: int) -> None:
    """What a server restart or an idle timeout does to one connection."""
    assert _from_another_connection("SELECT pg_terminate_backend(%s)", [pid]) == [(True,)]
    deadline = time.monotonic() + 10
    while _from_another_connection("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]):
        assert time.monotonic() < deadline, "the server did not end the connection"
        time.sleep(0.05)


def _new_request() -> None:
    """What Django does when a request starts: the next query checks the connection."""
    close_old_connections()


def test_a_request_after_the_server_ended_the_connection_is_served() -> None:
    f.staff(Role.ACUTE_NURSE, f.acute_function())
    ended = connection.connection.info.backend_pid
    _end_backend(ended)

    _new_request()

    assert User.objects.count() == 1
    assert connection.connection.info.backend_pid != ended


def test_a_healthy_idle_connection_is_kept_and_checked_without_a_query() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'the last query on this connection'")
    kept = connection.connection.info.backend_pid

    assert connection.is_usable()

    last = _from_another_connection("SELECT query FROM pg_stat_activity WHERE pid = %s", [kept])
    assert last == [("SELECT 'the last query on this connection'",)]
    _new_request()
    assert User.objects.count() == 0
    assert connection.connection.info.backend_pid == kept
