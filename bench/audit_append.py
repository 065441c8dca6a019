"""Audit append at 1, 8 and 32 concurrent writers (PostgreSQL, pgbench).

    DEBUG=1 .venv/bin/python -m bench.audit_append [--seconds 8] [--rounds 3]
        [--writers 1 8 32]

Three statements, each a writer's whole transaction, run side by side by
pgbench (prepared, each client its own connection) for ``--seconds`` a run,
on this disk and again with ``commit_delay=2000, commit_siblings=0`` for the
session (2 ms commit latency, as on a networked cloud volume). The audited
append and the plain INSERT run ``--rounds`` times a case, taking turns to
go first, each run just after a checkpoint, and are compared by their
medians: single runs on this disk moved by a third from one to the next.

- **audited append**: the statement ``audit_record`` runs
  (``consent.audit.append``): an id from the sequence, the clock, the entry
  with the content digest its writer computed (given as a parameter, as the
  web process gives it) and its place in the sequencer's queue inserted;
- **plain INSERT**: the same row into a table of the same shape
  (partitioned by month, the same key and indexes), id from a sequence, no
  digest and no queue: the floor;
- **chain head (before)**: the statement shape the log used before the
  transparency log: move one head row (its row lock held until commit) and
  insert the entry with its position and chain hash.

The writer's share of the work, computing the digest
(``consent.audit.canonical.entry_digest``) in the web process, is timed
beside the cases and reported per entry.

Goal (issue 20): at 32 writers the audited append reaches at least 80% of the
plain INSERT's rate, with and without the commit latency.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import report, setup_django

DATABASE = "bench_audit_append"
GOAL_SHARE = 0.8

# One entry's content, as a nurse's read writes it; :cid varies per entry.
_VALUES = (
    "1::bigint, 'nurse-1', 'acute_nurse', 3::bigint, 'Akutfunktion Nord', ''::text, "
    "NULL::bigint, :cid::bigint, 'read', 'Condition', '4711', 'treatment', 'permitted', "
    "'care_relationship', 'req-bench', '10.0.0.1'::inet, 'bench', '{\"basis\": \"visit\"}'::jsonb"
)
_FIELDS = (
    "actor_user_id",
    "actor_username",
    "actor_role",
    "actor_organisation_id",
    "actor_organisation_name",
    "task",
    "partner_organisation_id",
    "citizen_id",
    "action",
    "resource_type",
    "resource_id",
    "purpose",
    "outcome",
    "reason_code",
    "request_id",
    "client_address",
    "user_agent",
    "detail",
)
_COLUMNS = ", ".join(_FIELDS)
_DIGEST = "audit_entry_digest(" + ", ".join(f"v.{name}" for name in _FIELDS) + ")"
# A content digest as the writer hands it over (32 bytes).
_WRITERS_DIGEST = "'\\x" + "5a" * 32 + "'::bytea"

SETUP_SQL = """
SET session_replication_role = replica;
TRUNCATE audit_auditentry, audit_pending;
SET session_replication_role = origin;
DROP TABLE IF EXISTS bench_append_plain, bench_append_chained, bench_append_head;
DROP SEQUENCE IF EXISTS bench_append_plain_seq;
CREATE SEQUENCE bench_append_plain_seq;
CREATE TABLE bench_append_plain (LIKE audit_auditentry INCLUDING DEFAULTS)
    PARTITION BY RANGE (recorded_at);
ALTER TABLE bench_append_plain ADD PRIMARY KEY (id, recorded_at);
CREATE INDEX ON bench_append_plain (recorded_at);
CREATE INDEX ON bench_append_plain (citizen_id, recorded_at);
CREATE INDEX ON bench_append_plain (actor_user_id, recorded_at);
CREATE INDEX ON bench_append_plain (actor_organisation_id, recorded_at);
CREATE TABLE bench_append_plain_default PARTITION OF bench_append_plain DEFAULT;
CREATE TABLE bench_append_chained (LIKE bench_append_plain INCLUDING ALL)
    PARTITION BY RANGE (recorded_at);
CREATE TABLE bench_append_chained_default PARTITION OF bench_append_chained DEFAULT;
CREATE TABLE bench_append_head (id int PRIMARY KEY, seq bigint NOT NULL, hash bytea NOT NULL);
INSERT INTO bench_append_head VALUES (1, 0, sha256('genesis'));
"""

# The audited append: exactly the statement consent.audit.append runs for one entry.
# Fixed names and literals only are put into these scripts (_script).
AUDITED = """\\set cid random(1, 100000)
WITH e AS (INSERT INTO audit_auditentry (id, recorded_at, <COLUMNS>, digest)
  VALUES (nextval('audit_entry_id_seq'), clock_timestamp(), <VALUES>,
    <WRITERS_DIGEST>) RETURNING id, recorded_at, digest),
p AS (INSERT INTO audit_pending (entry_id, recorded_at) SELECT id, recorded_at FROM e)
SELECT id, recorded_at, digest FROM e;
"""

PLAIN = """\\set cid random(1, 100000)
INSERT INTO bench_append_plain (id, recorded_at, <COLUMNS>, digest)
VALUES (nextval('bench_append_plain_seq'), clock_timestamp(), <VALUES>, '\\x00'::bytea);
"""

CHAINED = """\\set cid random(1, 100000)
WITH v (<COLUMNS>) AS (VALUES (<VALUES>)),
d AS (SELECT <DIGEST> AS digest FROM v),
h AS (UPDATE bench_append_head c SET seq = c.seq + 1,
    hash = sha256(c.hash || (SELECT digest FROM d)) WHERE c.id = 1 RETURNING c.seq, c.hash)
INSERT INTO bench_append_chained (id, recorded_at, <COLUMNS>, digest, chain_hash)
SELECT h.seq, clock_timestamp(), v.*, d.digest, h.hash FROM h, v, d;
"""


def _script(template: str) -> str:
    for name, value in (
        ("<COLUMNS>", _COLUMNS),
        ("<VALUES>", _VALUES),
        ("<DIGEST>", _DIGEST),
        ("<WRITERS_DIGEST>", _WRITERS_DIGEST),
    ):
        template = template.replace(name, value)
    return template


STATEMENTS = {
    "audited_append": _script(AUDITED),
    "plain_insert": _script(PLAIN),
    "chain_head_before": _script(CHAINED),
}
_TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")


def _pgbench(script: Path, writers: int, seconds: int, delay: bool) -> float:
    env = dict(os.environ)
    if delay:
        env["PGOPTIONS"] = "-c commit_delay=2000 -c commit_siblings=0"
    result = subprocess.run(
        [
            "pgbench",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-n",
            "-M",
            "prepared",
            "-c",
            str(writers),
            "-j",
            str(min(writers, 4)),
            "-T",
            str(seconds),
            "-f",
            str(script),
            DATABASE,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    found = _TPS.search(result.stdout)
    if result.returncode != 0 or found is None:
        raise SystemExit(f"pgbench failed: {result.stderr[-2000:] or result.stdout[-2000:]}")
    return float(found.group(1))


def _writers_digest_us(rounds: int = 20000) -> float:
    """CPU time of one entry's digest in the web process, in microseconds."""
    from consent.audit.canonical import entry_digest

    content = [
        1, "nurse-1", "acute_nurse", 3, "Akutfunktion Nord", "", None, 4711, "read",
        "Condition", "4711", "treatment", "permitted", "care_relationship", "req-bench",
        "10.0.0.1", "bench", {"basis": "visit"},
    ]  # fmt: skip
    started = time.process_time()
    for _ in range(rounds):
        entry_digest(content)
    return (time.process_time() - started) / rounds * 1e6


def _prepare() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(SETUP_SQL)


def _checkpoint() -> None:
    """Each run starts just after a checkpoint: the full-page images written
    after one would otherwise fall on whichever run comes next."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def _case(
    scripts: dict[str, Path], writers: int, seconds: int, delay: bool, rounds: int
) -> tuple[dict[str, int], list[float]]:
    """Each statement's median rate over ``rounds`` runs, the audited append
    and the plain INSERT taking turns to go first; the old chain once."""
    runs: dict[str, list[float]] = {"audited_append": [], "plain_insert": []}
    for turn in range(rounds):
        order = ["audited_append", "plain_insert"]
        for name in order if turn % 2 == 0 else reversed(order):
            _checkpoint()
            runs[name].append(_pgbench(scripts[name], writers, seconds, delay))
    _checkpoint()
    rates = {name: round(statistics.median(found)) for name, found in runs.items()}
    rates["chain_head_before"] = round(
        _pgbench(scripts["chain_head_before"], writers, seconds, delay)
    )
    shares = [
        round(a / p, 3) for a, p in zip(runs["audited_append"], runs["plain_insert"], strict=True)
    ]
    return rates, shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()
    setup_django(f"postgres://postgres@127.0.0.1:5432/{DATABASE}")
    _prepare()
    figures: dict[str, object] = {
        "seconds_per_run": args.seconds,
        "rounds_per_case": args.rounds,
        "writers_digest_cpu_us_per_entry": round(_writers_digest_us(), 1),
    }
    goals: dict[str, bool] = {}
    with tempfile.TemporaryDirectory() as folder:
        scripts = {}
        for name, sql in STATEMENTS.items():
            scripts[name] = Path(folder) / f"{name}.sql"
            scripts[name].write_text(sql)
        for delay in (False, True):
            label = "commit_delay_2ms" if delay else "this_disk"
            for writers in args.writers:
                rates, shares = _case(scripts, writers, args.seconds, delay, args.rounds)
                share = rates["audited_append"] / rates["plain_insert"]
                figures[f"{label}_{writers}_writers_per_s"] = rates
                figures[f"{label}_{writers}_writers_audited_vs_plain"] = round(share, 3)
                figures[f"{label}_{writers}_writers_audited_vs_plain_each_round"] = shares
                figures[f"{label}_{writers}_writers_chain_head_vs_plain"] = round(
                    rates["chain_head_before"] / rates["plain_insert"], 3
                )
                if writers == max(args.writers):
                    goals[f"{label}: {writers} writers, audited >= 80% of plain INSERT"] = (
                        share >= GOAL_SHARE
                    )
    report("audit_append", figures, goals)


if __name__ == "__main__":
    main()
