"""The one sequencer: exactly one runs at a time, a second waits and takes over.

On PostgreSQL the sequencer holds a session advisory lock on its own
connection (directly to the server, never through a transaction-pooling
PgBouncer, where a session lock means nothing). A second sequencer blocks on
the lock and takes over when the first's session ends, however it ends. Each
batch first checks, inside its own transaction, that this connection still
holds the lock, so a sequencer whose connection was lost and silently
re-opened stops instead of racing the one that took over. On SQLite (one
machine, ``make run``) a file lock in ``var/`` plays the same part.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db import connection

from consent.audit.log import checkpoint_refresh, sequence_batch

logger = logging.getLogger(__name__)

# pg_advisory_lock's key for the sequencer ("tvaerakut audit sequencer").
LOCK_KEY = 0x7476_6175_7365_7131


class LockLost(Exception):
    """This sequencer no longer holds the lock: another one may be running."""


def _holds_lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND objsubid = 1 AND pid = pg_backend_pid() "
            "AND ((classid::bigint << 32) | objid::bigint) = %s",
            [LOCK_KEY],
        )
        (held,) = cursor.fetchone()
    if not held:
        raise LockLost("the sequencer's advisory lock is no longer held by this connection")


@contextlib.contextmanager
def sequencer_lock(*, wait: bool = True) -> Iterator[bool]:
    """Hold the sequencer's lock for the block; yields whether it is held
    (always, when ``wait``)."""
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        with connection.cursor() as cursor:
            if wait:
                cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
                held = True
            else:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
                (held,) = cursor.fetchone()
        try:
            yield held
        finally:
            if held and connection.connection is not None:
                with contextlib.suppress(Exception), connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
        return
    path = settings.VAR_DIR / "audit-sequencer.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def lock_check() -> None:
    """Inside a batch's transaction: stop unless this connection holds the lock."""
    if connection.vendor == "postgresql":
        _holds_lock()


def sequencer_run(*, stop: Callable[[], bool] = lambda: False) -> None:
    """Place waiting entries until ``stop()`` says so (the lock must be held)."""
    idle = settings.AUDIT_SEQUENCER_IDLE_MS / 1000
    interval = settings.AUDIT_SEQUENCER_INTERVAL_MS / 1000
    while not stop():
        started = time.monotonic()
        placed = sequence_batch(check=lock_check)
        if placed:
            logger.info("audit sequencer placed %d entries", placed)
            # Let the next batch gather: a few checkpoints a second under load.
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
            continue
        checkpoint_refresh(check=lock_check)
        time.sleep(idle)
