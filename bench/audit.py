"""Audit log benchmark (PostgreSQL).

    DEBUG=1 .venv/bin/python -m bench.audit [--rows 1000000] [--appends 5000]

1. Append: ``audit_record`` one entry at a time from one writer, each its own
   transaction (id from the sequence, digest in the database, the entry and
   its place in the sequencer's queue), against plain single-row INSERTs of
   the same rows, each its own transaction, into a table of the same shape
   (partitioned by month, same key and indexes), in the same run, interleaved
   in blocks, both tables starting empty; both statements prepared once.
   (Many writers at once: ``bench.audit_append``.)
2. Auditor search, first page (50) by citizen and by user, over ``--rows``
   generated entries spread over 60 days, placed in the tree by the
   sequencer; baseline: the same query as hand-written SQL.
3. ``audit_verify`` over the whole log (each entry's digest and its leaf
   against the stored tree, each year's tree against its checkpoint);
   baseline: reading the same rows without hashing.

The default is 500,000 generated entries so that a run stays within a few
minutes on two shared cores; ``--rows 10000000`` is the issue's full size
(about nine minutes to generate), and ``--rows 10000000 --keep`` searches and
verifies that log again without generating it.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import secrets
import time
from collections.abc import Callable, Iterator
from functools import partial

from bench.common import cpu_seconds, report, setup_django, summary, timed

GOALS = {
    "append_per_s": 2000,
    "append_cost_ratio": 1.5,
    "search_first_page_ms": 100,
    "verify_per_s": 100_000,
}

GENERATE_SQL = """
CREATE OR REPLACE FUNCTION bench_audit_generate(n bigint, citizens int, users int, span interval)
RETURNS SETOF audit_auditentry LANGUAGE plpgsql AS $$
DECLARE
    r audit_auditentry%ROWTYPE;
    t0 timestamptz := now() - span;
    step interval := span / greatest(n, 1);
    i bigint;
BEGIN
    FOR i IN 1 .. n LOOP
        r.id := nextval('audit_entry_id_seq');
        r.recorded_at := date_trunc('milliseconds', t0 + step * i);
        r.actor_user_id := 1 + (i::bigint * 7919) % users;
        r.actor_username := 'user-' || r.actor_user_id;
        r.actor_role := 'acute_nurse';
        r.actor_organisation_id := 1 + r.actor_user_id % 7;
        r.actor_organisation_name := 'Organisation ' || r.actor_organisation_id;
        r.task := '';
        r.partner_organisation_id := NULL;
        r.citizen_id := 1 + (i::bigint * 104729) % citizens;
        r.action := (ARRAY['read','search','update','create'])[1 + i % 4];
        r.resource_type := 'Condition';
        r.resource_id := (i % 100000)::text;
        r.purpose := CASE WHEN i % 500 = 0 THEN 'emergency' ELSE 'treatment' END;
        r.outcome := CASE WHEN i % 97 = 0 THEN 'denied' ELSE 'permitted' END;
        r.reason_code := CASE WHEN i % 97 = 0
            THEN 'no_care_relationship' ELSE 'care_relationship' END;
        r.request_id := md5(i::text);
        r.client_address := '10.0.0.1'::inet;
        r.user_agent := 'bench';
        r.detail := '{"basis": "visit"}'::jsonb;
        r.digest := audit_entry_digest(r.actor_user_id, r.actor_username, r.actor_role,
            r.actor_organisation_id, r.actor_organisation_name, r.task, r.partner_organisation_id,
            r.citizen_id, r.action, r.resource_type, r.resource_id, r.purpose, r.outcome,
            r.reason_code, r.request_id, r.client_address, r.user_agent, r.detail);
        r.chain_hash := NULL;
        RETURN NEXT r;
    END LOOP;
END $$;
"""


def reset_log() -> None:
    """Empty the benchmark database's log (triggers bypassed as superuser)."""
    from django.db import connection

    if not connection.settings_dict["NAME"].startswith("bench"):
        raise SystemExit("Refusing to empty a log outside a bench_* database.")
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "TRUNCATE audit_auditentry, audit_chainhead, audit_auditflag, audit_archivecheckpoint, "
            "audit_pending, audit_log_leaf, audit_log_tile, audit_log_cosignature, "
            "audit_log_checkpoint"
        )
        cursor.execute("SET session_replication_role = origin")
        cursor.execute("DROP TABLE IF EXISTS bench_audit_plain")
        # The same shape as the log: partitioned by month, the same key and indexes.
        cursor.execute(
            "CREATE TABLE bench_audit_plain (LIKE audit_auditentry INCLUDING DEFAULTS) "
            "PARTITION BY RANGE (recorded_at)"
        )
        cursor.execute("ALTER TABLE bench_audit_plain ADD PRIMARY KEY (id, recorded_at)")
        for columns in (
            "recorded_at",
            "citizen_id, recorded_at",
            "actor_user_id, recorded_at",
            "actor_organisation_id, recorded_at",
        ):
            cursor.execute(f"CREATE INDEX ON bench_audit_plain ({columns})")
        cursor.execute(
            "CREATE TABLE bench_audit_plain_default PARTITION OF bench_audit_plain DEFAULT"
        )
        cursor.execute(
            "CREATE TABLE bench_audit_plain_now PARTITION OF bench_audit_plain FOR VALUES "
            "FROM (date_trunc('month', now())) TO (date_trunc('month', now()) + interval '1 month')"
        )
        cursor.execute("CREATE SEQUENCE IF NOT EXISTS bench_audit_plain_seq")


def generate(rows: int, citizens: int, users: int) -> float:
    import datetime as dt

    from django.db import connection, transaction

    from consent.audit.log import sequence_batch
    from consent.audit.partitions import partitions_ensure

    today = dt.date.today()
    partitions_ensure(months_ahead=3, today=(today - dt.timedelta(days=62)).replace(day=1))
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(GENERATE_SQL)
        cursor.execute(
            "WITH e AS (INSERT INTO audit_auditentry "
            "SELECT * FROM bench_audit_generate(%s, %s, %s, '60 days') "
            "RETURNING id, recorded_at) "
            "INSERT INTO audit_pending (entry_id, recorded_at) SELECT id, recorded_at FROM e",
            [rows, citizens, users],
        )
    while sequence_batch(limit=50_000):
        pass
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditentry")
        cursor.execute("ANALYZE audit_log_leaf")
    return time.perf_counter() - started


def append_figures(appends: int) -> dict[str, object]:
    """Appends through the service vs plain INSERTs of the same rows,
    interleaved in blocks so both see the same machine load."""
    import json

    import psycopg
    from django.db import connection

    from consent.audit.models import DIGEST_FIELDS
    from consent.audit.services import Action, Purpose, audit_record
    from core.actors import Actor

    actor = Actor.system("bench.audit")
    columns = ", ".join(DIGEST_FIELDS)
    placeholders = ", ".join(["%s"] * len(DIGEST_FIELDS))
    plain_sql = (
        f"INSERT INTO bench_audit_plain (id, recorded_at, {columns}, digest) "  # noqa: S608
        f"VALUES (nextval('bench_audit_plain_seq'), clock_timestamp(), {placeholders}, %s)"
    )
    connection.ensure_connection()
    # Prepared once, as the append's statement is.
    plain = psycopg.Cursor(connection.connection)
    backend = connection.connection.info.backend_pid
    # Wall seconds, and CPU seconds of this process and of its database backend.
    appended = [0.0, 0.0, 0.0]
    bare = [0.0, 0.0, 0.0]
    block = 250
    done = 0

    def measure(side: list[float], started: tuple[float, float, float]) -> None:
        side[0] += time.perf_counter() - started[0]
        side[1] += cpu_seconds() - started[1]
        side[2] += cpu_seconds(backend) - started[2]

    def start() -> tuple[float, float, float]:
        return time.perf_counter(), cpu_seconds(), cpu_seconds(backend)

    while done < appends:
        started = start()
        for i in range(block):
            audit_record(
                actor=actor,
                action=Action.READ,
                purpose=Purpose.TREATMENT,
                citizen_id=done + i,
                resource_type="Condition",
                resource_id=str(i),
                detail={"basis": "visit"},
            )
        measure(appended, started)
        started = start()
        for i in range(block):
            values = [
                None,
                "",
                "",
                None,
                "",
                "bench.audit",
                None,
                done + i,
                "read",
                "Condition",
                str(i),
                "treatment",
                "permitted",
                "",
                f"bg-{done + i}",
                None,
                "",
                json.dumps({"basis": "visit"}),
            ]
            plain.execute(plain_sql, [*values, b"\0" * 32], prepare=True, binary=True)
        measure(bare, started)
        done += block
    return {
        "appends": done,
        "appended_per_s": round(done / appended[0]),
        "plain_insert_per_s": round(done / bare[0]),
        "cost_ratio_appended_vs_plain": round(appended[0] / bare[0], 3),
        # CPU of the writer and its backend per entry: what the append costs
        # the machine, undisturbed by the disk's flush and by stolen time.
        "appended_cpu_us_per_entry": round((appended[1] + appended[2]) / done * 1e6),
        "plain_cpu_us_per_entry": round((bare[1] + bare[2]) / done * 1e6),
        "cpu_cost_ratio_appended_vs_plain": round(
            (appended[1] + appended[2]) / (bare[1] + bare[2]), 3
        ),
        "appended_database_cpu_us_per_entry": round(appended[2] / done * 1e6),
        "plain_database_cpu_us_per_entry": round(bare[2] / done * 1e6),
    }


def _first_page(field: str, value: int) -> None:
    from consent.audit.scope import WHOLE_LOG
    from consent.audit.selectors import AuditQuery, audit_page

    query = (
        AuditQuery(citizen_id=value, scope=WHOLE_LOG)
        if field == "citizen"
        else AuditQuery(user_id=value, scope=WHOLE_LOG)
    )
    audit_page(query=query, offset=0, count=50)


def _first_page_raw(field: str, value: int) -> None:
    from django.db import connection

    column = "citizen_id" if field == "citizen" else "actor_user_id"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM audit_auditentry WHERE {column} = %s "  # noqa: S608
            "ORDER BY recorded_at DESC, id DESC LIMIT 51",
            [value],
        )
        cursor.fetchall()


def _next_page(fn: Callable[[str, int], None], field: str, values: Iterator[int]) -> None:
    fn(field, next(values))


def search_figures(citizens: int, users: int) -> dict[str, object]:
    rng = random.Random(7)
    figures: dict[str, object] = {}
    for field, population in (("citizen", citizens), ("user", users)):
        picks = [1 + rng.randrange(population) for _ in range(60)]
        orm: Iterator[int] = iter(picks)
        raw: Iterator[int] = iter(picks)
        figures[f"search_by_{field}_first_page"] = summary(
            timed(partial(_next_page, _first_page, field, orm), 60)
        )
        figures[f"baseline_raw_sql_by_{field}"] = summary(
            timed(partial(_next_page, _first_page_raw, field, raw), 60)
        )
    return figures


def verify_figures() -> dict[str, object]:
    from django.db import connection

    from consent.audit.verify import log_verify

    started = time.perf_counter()
    result = log_verify()
    elapsed = time.perf_counter() - started
    if not result.ok:
        raise SystemExit(result.describe())
    started = time.perf_counter()
    with connection.cursor() as cursor:
        after = 0
        while True:
            cursor.execute(
                "SELECT id, recorded_at, digest FROM audit_auditentry "
                "WHERE id > %s ORDER BY id LIMIT 50000",
                [after],
            )
            rows = cursor.fetchall()
            if not rows:
                break
            after = rows[-1][0]
    plain = time.perf_counter() - started
    return {
        "verified": result.checked,
        "verify_per_s": round(result.checked / elapsed),
        "verify_s": round(elapsed, 2),
        "baseline_read_same_rows_per_s": round(result.checked / plain),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--appends", type=int, default=5000)
    parser.add_argument("--citizens", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="search and verify the log an earlier run left (same --rows) instead of "
        "generating one; appends are measured only on a fresh log",
    )
    args = parser.parse_args()
    # As in production: DEBUG off, so no query log or debug cursor on either side.
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))
    # A key for this run's checkpoints (the sequencer signs each batch).
    os.environ.setdefault(
        "AUDIT_LOG_SIGNING_KEY", base64.b64encode(secrets.token_bytes(32)).decode()
    )
    setup_django(
        os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_audit")
    )
    figures: dict[str, object] = {"rows_generated": args.rows}
    goals: dict[str, bool] = {}
    if not args.keep:
        # Appends first, while the log and the plain table are both empty, so
        # the two sides insert into tables of the same size.
        reset_log()
        figures.update(append_figures(args.appends))
        append_rate = int(figures["appended_per_s"])  # type: ignore[call-overload]
        ratio = float(figures["cost_ratio_appended_vs_plain"])  # type: ignore[arg-type]
        goals[f"append >= {GOALS['append_per_s']}/s (one writer)"] = (
            append_rate >= GOALS["append_per_s"]
        )
        goals[f"append cost <= {GOALS['append_cost_ratio']}x plain INSERT"] = (
            ratio <= GOALS["append_cost_ratio"]
        )
        figures["generate_s"] = round(generate(args.rows, args.citizens, args.users), 1)
    figures.update(search_figures(args.citizens, args.users))
    figures.update(verify_figures())
    by_citizen = figures["search_by_citizen_first_page"]["p95_ms"]  # type: ignore[index]
    by_user = figures["search_by_user_first_page"]["p95_ms"]  # type: ignore[index]
    verify_rate = int(figures["verify_per_s"])  # type: ignore[call-overload]
    limit_ms = GOALS["search_first_page_ms"]
    goals |= {
        f"search by citizen, first page p95 < {limit_ms} ms": by_citizen < limit_ms,
        f"search by user, first page p95 < {limit_ms} ms": by_user < limit_ms,
        f"audit_verify >= {GOALS['verify_per_s']:,}/s": verify_rate >= GOALS["verify_per_s"],
    }
    report("audit", figures, goals)


if __name__ == "__main__":
    main()
