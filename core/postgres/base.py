"""Django's PostgreSQL backend with a cheaper health check.

With persistent connections and ``CONN_HEALTH_CHECKS``, Django sends
``SELECT 1`` before the first query of every request: a round trip on
every API call. A connection that the server has ended (restart, idle
timeout, ``pg_terminate_backend``) has the server's goodbye, or the end of
the stream, waiting on its socket, while a healthy idle connection has
nothing there. So the check asks the socket, without waiting, and only when
something is waiting does it fall back to Django's ``SELECT 1``, which
fails on a dead connection and has Django open a new one.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql.base import DatabaseWrapper as PostgresDatabaseWrapper
from psycopg.pq import TransactionStatus


class DatabaseWrapper(PostgresDatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status != TransactionStatus.IDLE:
            return bool(super().is_usable())
        waiting, _, _ = select.select([connection.fileno()], [], [], 0)
        if not waiting:
            return True
        return bool(super().is_usable())
