"""Where an audited read's cost goes: the parts of ``GET /fhir/Condition/<id>``.

One process and one client: the WSGI application is called directly (no HTTP
server, no load generator), with DEBUG off as in production, on PostgreSQL.
The same resources are read five ways, interleaved, each measured as the CPU
time per read of the processes a read passes through: this one, its database
session and the database's WAL writer (which flushes what is committed
without waiting). The machine as a whole is not measured: the database's
background work (autovacuum of a growing log, checkpoints) would swamp the
differences.

- ``bare``: ``CONSENT_BENCH_BARE_READS``, gate and audit off (the baseline);
- ``gate``: the gate's query and decision, with the audit append replaced by
  nothing in this process only (the platform never runs so: a measurement);
- ``durable_floor``: as ``gate``, with the append replaced by the floor's
  write in ``bench.shared_record``: one row inserted into a table with only
  its key, prepared as the entry's statement is, in a round trip of its own,
  its commit waited for on disk. What any audit entry that must be on disk
  before the data goes out costs at the least;
- ``unflushed``: gate and audit, the entry's commit not waited for on disk
  (``synchronous_commit = off`` on this process's database session);
- ``full``: as the platform runs.

Each is given as a ratio to the bare read. ``bench.shared_record`` judges the
goal under load; this says which part costs what.

    .venv/bin/python -m bench.read_parts      # about a minute; DEBUG is off whatever the shell says
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench.common import cpu_seconds, report, setup_django, wsgi_client

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_consent"
ROUNDS = 5
WAYS = ("bare", "gate", "durable_floor", "unflushed", "full")


def _production_like_environment() -> None:
    os.environ.update(
        {
            "DEBUG": "0",  # no query log, no debug cursor
            "SECRET_KEY": secrets.token_urlsafe(64),
            "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "DATABASE_CONN_MAX_AGE": "600",
        }
    )


@contextmanager
def _audit_append_replaced(by: Callable[..., None]) -> Iterator[None]:
    """The gate's audit append replaced, in this process only."""
    import consent.gate as gate

    kept = gate.audit_record, gate.audit_write
    gate.audit_record = gate.audit_write = by  # type: ignore[assignment]
    try:
        yield
    finally:
        gate.audit_record, gate.audit_write = kept


def _durable_floor(**_: Any) -> None:
    from consent.selectors.record import BENCH_FLOOR_INSERT
    from core.sql import run_prepared

    run_prepared(BENCH_FLOOR_INSERT, [])


@contextmanager
def _way(name: str) -> Iterator[None]:
    """Set up one way of reading, and undo it."""
    from django.db import connection
    from django.test import override_settings

    if name == "bare":
        with override_settings(CONSENT_BENCH_BARE_READS=True):
            yield
    elif name == "gate":
        with _audit_append_replaced(lambda **_: None):
            yield
    elif name == "durable_floor":
        with _audit_append_replaced(_durable_floor):
            yield
    elif name == "unflushed":
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
    else:
        yield


def _reader(token: str, ids: list[int]) -> Callable[[int], str]:
    call = wsgi_client(token)

    def read(i: int) -> str:
        return call("GET", f"/fhir/Condition/{ids[i % len(ids)]}", b"")[0]

    return read


def _read_path_cpu() -> tuple[float, int]:
    """CPU seconds so far of this process, its database session and the WAL
    writer; and the session's process id."""
    from django.db import connection

    connection.ensure_connection()
    backend = connection.connection.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'")
        [(walwriter,)] = cursor.fetchall()
    return cpu_seconds() + cpu_seconds(backend) + cpu_seconds(walwriter), backend


def _measure(read: Callable[[int], str], reads: int) -> tuple[float, int]:
    """CPU µs per read, and how many reads were not answered 200."""
    for i in range(200):  # warm: compiled and prepared statements
        read(i)
    failed = 0
    before, session = _read_path_cpu()
    for i in range(reads):
        failed += read(i) != "200 OK"
    after, same_session = _read_path_cpu()
    if same_session != session:
        raise SystemExit("the database session changed during a measurement")
    return (after - before) / reads * 1e6, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reads", type=int, default=2000, help="per way and round")
    parser.add_argument("--citizens", type=int, default=40)
    args = parser.parse_args()
    _production_like_environment()
    setup_django(os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_DB))
    from bench.shared_record import seed

    data = seed(args.citizens)  # with the floor's table
    read = _reader(str(data["token"]), list(data["read_ids"]))  # type: ignore[call-overload]
    costs: dict[str, list[float]] = {way: [] for way in WAYS}
    failed = 0
    for _ in range(ROUNDS):
        for way in WAYS:
            with _way(way):
                cost, errors = _measure(read, args.reads)
            costs[way].append(cost)
            failed += errors
    medians = {way: statistics.median(values) for way, values in costs.items()}
    figures: dict[str, object] = {
        "setup": f"WSGI application in one process, one client, DEBUG off, PostgreSQL; "
        f"{args.reads} reads per way in each of {ROUNDS} rounds",
    }
    for way in WAYS:
        figures[f"read_{way}"] = {
            "cpu_us_per_read": round(medians[way], 1),
            "rounds": [round(c, 1) for c in costs[way]],
            "ratio_to_bare": round(medians[way] / medians["bare"], 2),
        }
    figures["reads_not_answered_200"] = failed
    report("read_parts", figures, {"every read answered 200": failed == 0})


if __name__ == "__main__":
    main()
