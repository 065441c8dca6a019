"""Transparency-log benchmark (PostgreSQL): proofs on a ten-million-entry log,
the sequencer on top of it, and tile pruning.

    DEBUG=1 .venv/bin/python -m bench.tlog [--entries 10000000] [--appended 200000]
        [--proofs 2000] [--quiet 400] [--reuse]

1. A log of ``--entries`` entries is built in the benchmark's own database
   (``BENCH_DATABASE_URL``, default ``bench_tlog``; its log is emptied
   first): the entries by one set-based INSERT per million (content digests
   computed by the database's own ``audit_entry_digest``; their chain hashes
   are no chain, the tree does not read them), their positions likewise, the
   tiles computed by the sequencer's own code from the stored rows and
   written with COPY, and a signed checkpoint. ``--reuse`` keeps a log of at
   least that size left by an earlier run.
2. Inclusion proofs for random entries of that tree as the endpoint builds
   them (``inclusion_for_entry``), p50/p95, beside one prepared round trip
   reading the entry's leaf row by its key; then through
   ``GET /api/audit/log/entries/<id>/inclusion`` as an auditor (the asking is
   itself recorded: a chained, durable append), beside the public checkpoint
   endpoint; then each proof verified (pure Python).
3. Consistency proofs from random sizes to the tree's size.
4. Sequencer: ``--appended`` entries appended through the recording API on
   top of that log, then placed batch after batch until none wait: entries
   per second, beside reading the same entries' leaf fields (id, time,
   digest) into Python, 20,000 at a time.
5. Tile pruning: ``--quiet`` batches of 1-5 entries, each signed (a quiet
   log), tile copies and bytes before and after ``tiles_prune``, and the
   consistency proofs between all those checkpoints verified after it.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import itertools
import os
import random
import secrets
import time

from bench.audit import reset_log
from bench.common import cpu_seconds, report, setup_django, staff_with_token, summary, timed

GOALS = {"sequencer_per_s": 20_000, "proof_p95_ms": 5.0, "verify_p95_ms": 1.0}
_MILLION = 1_000_000

# The entries of the built log: real content digests, consecutive ids and
# times (one microsecond apart, ending an hour ago).
_ENTRIES_SQL = """
INSERT INTO audit_auditentry (
    id, recorded_at, actor_username, actor_role, actor_organisation_name, task, citizen_id,
    action, resource_type, resource_id, purpose, outcome, reason_code, request_id, user_agent,
    detail, digest, chain_hash
)
SELECT g, %(start)s::timestamptz + g * interval '1 microsecond', '', '', '', 'bench.tlog',
    g %% 5900000, 'search', '', '', 'treatment', 'permitted', '', '', '', '{}',
    audit_entry_digest(NULL, '', '', NULL, '', 'bench.tlog', NULL, g %% 5900000, 'search',
        '', '', 'treatment', 'permitted', '', '', NULL, '', '{}'),
    '\\x00'::bytea
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g
"""
_LEAVES_SQL = """
INSERT INTO audit_log_leaf (entry_id, log, position, recorded_at)
SELECT id, %(log)s, id - 1, recorded_at FROM audit_auditentry WHERE id BETWEEN %(lo)s AND %(hi)s
"""


def build_log(entries: int) -> tuple[str, float]:
    """A signed log of ``entries`` entries; its name and the seconds it took."""
    from django.db import connection, transaction
    from django.utils import timezone

    from consent.audit import merkle
    from consent.audit.log import checkpoint_sign, leaf_hashes, log_name, tree_tiles
    from consent.audit.tiles import Tiles, tiles_integrate

    started = time.perf_counter()
    reset_log()
    log = log_name(timezone.now())
    start = timezone.now() - dt.timedelta(hours=1) - dt.timedelta(microseconds=entries)
    with connection.cursor() as cursor:
        for lo in range(1, entries + 1, _MILLION):
            bounds = {"lo": lo, "hi": min(lo + _MILLION - 1, entries)}
            cursor.execute(_ENTRIES_SQL, {"start": start, **bounds})
            cursor.execute(_LEAVES_SQL, {"log": log, **bounds})
            print(f"  built {bounds['hi']:,} entries and positions", flush=True)
        cursor.execute("ANALYZE audit_auditentry")
        cursor.execute("ANALYZE audit_log_leaf")

    store: dict[tuple[int, int], bytes] = {}
    tiles = Tiles(lambda keys: {k: store[k] for k in keys if k in store})
    size = 0
    with transaction.atomic():
        raw = connection.connection
        with raw.cursor(name="bench_tlog_leaves", binary=True) as rows:
            rows.itersize = 65_536
            rows.execute(
                "SELECT id, audit_epoch_us(recorded_at), digest FROM audit_auditentry "
                "WHERE id <= %s ORDER BY id",
                [entries],
            )
            while chunk := rows.fetchmany(65_536):
                store.update(tiles_integrate(tiles, size, leaf_hashes(chunk)))
                size += len(chunk)
    with connection.cursor() as cursor:
        copy_sql = "COPY audit_log_tile (log, level, index, width, hashes) FROM STDIN"
        with cursor.cursor.copy(copy_sql) as copy:
            for (level, index), hashes in store.items():
                copy.write_row((log, level, index, len(hashes) // 32, hashes))
        cursor.execute("ANALYZE audit_log_tile")
        # The chain head names the last entry, so the recording API appends after it.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "UPDATE audit_chainhead SET seq = e.id, hash = e.chain_hash, at = e.recorded_at "
            "FROM audit_auditentry e WHERE e.id = %s",
            [entries],
        )
        cursor.execute("SET session_replication_role = origin")
    root = merkle.root(tiles, entries)
    assert merkle.root(tree_tiles(log), entries) == root, "the stored tiles differ"
    checkpoint_sign(log, entries, root)
    return log, time.perf_counter() - started


def auditor_token() -> str:
    from core.models import Organisation, Role

    tag = secrets.token_hex(4)
    org = Organisation.objects.create(
        kind=Organisation.Kind.ACUTE_FUNCTION, name=f"Bench tilsyn {tag}"
    )
    return staff_with_token(org, Role.AUDITOR, f"bench-auditor-{tag}")[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--appended", type=int, default=200_000)
    parser.add_argument("--proofs", type=int, default=2000)
    parser.add_argument("--quiet", type=int, default=400)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))
    os.environ.setdefault("AUDIT_LOG_SIGNING_KEY", base64.b64encode(os.urandom(32)).decode())
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    setup_django(
        os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_tlog")
    )
    from django.db import connection
    from django.test import Client

    from consent.audit import merkle
    from consent.audit.log import (
        checkpoint_latest,
        consistency_between,
        inclusion_for_entry,
        sequence_batch,
        tiles_prune,
    )
    from consent.audit.models import LogCheckpoint, LogTile
    from consent.audit.services import Action, Purpose, audit_record_many
    from core.actors import Actor
    from core.sql import run_prepared

    # Other work on the machine shows in the wall-clock figures.
    figures: dict[str, object] = {"load_average_at_start": round(os.getloadavg()[0], 2)}
    latest = checkpoint_latest()
    if args.reuse and latest is not None and latest.size >= args.entries:
        log, figures["log_built"] = latest.log, "reused"
    else:
        log, build_s = build_log(args.entries)
        figures["log_built_s"] = round(build_s, 1)
    latest = checkpoint_latest(log)
    assert latest is not None
    figures["tree_size"] = latest.size

    # -- proofs on the built tree ------------------------------------------------
    rng = random.Random(6962)
    ids = [rng.randint(1, args.entries) for _ in range(args.proofs)]
    proofs = []
    pending = iter(ids)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    cpu_before = cpu_seconds() + cpu_seconds(backend)
    prove_ms = timed(lambda: proofs.append(inclusion_for_entry(next(pending))), len(ids))
    prove_cpu_ms = (cpu_seconds() + cpu_seconds(backend) - cpu_before) * 1000 / len(ids)
    pending = iter(ids)
    leaf_row_ms = timed(
        lambda: run_prepared(
            "SELECT position FROM audit_log_leaf WHERE entry_id = %s", [next(pending)]
        ),
        len(ids),
    )
    checked = iter(proofs)

    def verify() -> None:
        proof = next(checked)
        assert merkle.verify_inclusion(
            index=proof.position,
            size=proof.checkpoint.size,
            leaf=proof.leaf_hash,
            proof=proof.proof,
            root_hash=bytes(proof.checkpoint.root),
        )

    verify_ms = timed(verify, len(proofs))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {auditor_token()}")
    served = ids[: min(len(ids), 500)]
    pending = iter(served)

    def get(path: str) -> None:
        response = client.get(path, secure=True)
        assert response.status_code == 200, response.content[:200]

    endpoint_ms = timed(
        lambda: get(f"/api/audit/log/entries/{next(pending)}/inclusion"), len(served)
    )
    checkpoint_ms = timed(lambda: get("/api/audit/log/checkpoint"), len(served))
    size = latest.size
    consistency_ms = timed(
        lambda: consistency_between(log, rng.randint(1, size), size), min(len(ids), 500)
    )
    prove, leaf_row = summary(prove_ms), summary(leaf_row_ms)
    endpoint, public = summary(endpoint_ms), summary(checkpoint_ms)
    figures |= {
        "inclusion_proof": prove,
        # CPU time of this process and its database session per proof.
        "inclusion_proof_cpu_ms": round(prove_cpu_ms, 3),
        "baseline_leaf_row_by_key": leaf_row,
        "proof_to_leaf_row_p50": round(prove["p50_ms"] / leaf_row["p50_ms"], 2),
        "inclusion_verify": summary(verify_ms),
        "endpoint_inclusion_as_auditor": endpoint,
        "baseline_endpoint_checkpoint_public": public,
        "endpoint_to_checkpoint_p50": round(endpoint["p50_ms"] / public["p50_ms"], 2),
        "consistency_proof": summary(consistency_ms),
    }

    # -- the sequencer on top of it --------------------------------------------------
    actor = Actor.system("bench.tlog")
    started = time.perf_counter()
    first_id = None
    for start in range(0, args.appended, 1000):
        appended = audit_record_many(
            actor=actor,
            action=Action.SEARCH,
            purpose=Purpose.TREATMENT,
            citizen_ids=range(start, min(start + 1000, args.appended)),
        )
        first_id = first_id or appended[0].id
    figures["append_s"] = round(time.perf_counter() - started, 1)
    assert first_id is not None
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for lo in range(first_id, first_id + args.appended, 20_000):
            cursor.execute(
                "SELECT id, audit_epoch_us(recorded_at), digest FROM audit_auditentry "
                "WHERE id BETWEEN %s AND %s",
                [lo, lo + 19_999],
            )
            cursor.fetchall()
    read_s = time.perf_counter() - started
    cpu_before = cpu_seconds() + cpu_seconds(backend)
    started = time.perf_counter()
    placed = batches = 0
    while batch := sequence_batch():
        placed += batch
        batches += 1
    sequenced_s = time.perf_counter() - started
    cpu_s = cpu_seconds() + cpu_seconds(backend) - cpu_before
    rate, read_rate = placed / sequenced_s, args.appended / read_s
    figures |= {
        "sequencer_placed": placed,
        "sequencer_batches": batches,
        "sequencer_per_s": round(rate),
        # CPU time of this process and its database session: less disturbed
        # by other work on the machine than the wall clock.
        "sequencer_per_cpu_s": round(placed / cpu_s),
        "baseline_read_leaf_fields_per_s": round(read_rate),
        "sequencer_to_read": round(read_rate / rate, 2),
    }

    # -- a quiet log, then pruning ---------------------------------------------------
    first_checkpoint = LogCheckpoint.objects.filter(log=log).order_by("-id").first()
    assert first_checkpoint is not None
    copies_before = LogTile.objects.filter(log=log).count()
    for n in range(args.quiet):
        audit_record_many(
            actor=actor,
            action=Action.SEARCH,
            purpose=Purpose.TREATMENT,
            citizen_ids=range(n * 5, n * 5 + rng.randint(1, 5)),
        )
        sequence_batch()
    signed = list(LogCheckpoint.objects.filter(log=log, id__gte=first_checkpoint.id).order_by("id"))

    def tile_bytes() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), coalesce(sum(octet_length(hashes)), 0) FROM audit_log_tile "
                "WHERE log = %s",
                [log],
            )
            count, total = cursor.fetchone()
        return int(count), int(total)

    quiet_copies, quiet_bytes = tile_bytes()
    started = time.perf_counter()
    removed = tiles_prune()
    prune_s = time.perf_counter() - started
    pruned_copies, pruned_bytes = tile_bytes()
    pairs = list(itertools.combinations(signed[:: max(1, len(signed) // 40)], 2))
    for old, new in pairs:
        assert merkle.verify_consistency(
            old_size=old.size,
            new_size=new.size,
            old_root=bytes(old.root),
            new_root=bytes(new.root),
            proof=consistency_between(log, old.size, new.size),
        )
    figures |= {
        "quiet_batches_signed": args.quiet,
        "tile_copies_before_quiet": copies_before,
        "tile_copies_after_quiet": quiet_copies,
        "tile_bytes_after_quiet": quiet_bytes,
        "tile_copies_pruned": removed,
        "tile_copies_after_prune": pruned_copies,
        "tile_bytes_after_prune": pruned_bytes,
        "prune_s": round(prune_s, 2),
        "consistency_pairs_verified_after_prune": len(pairs),
        "load_average_at_end": round(os.getloadavg()[0], 2),
    }
    goals = {
        f"sequencer >= {GOALS['sequencer_per_s']:,} entries/s": rate >= GOALS["sequencer_per_s"],
        f"inclusion proof p95 < {GOALS['proof_p95_ms']} ms on {size:,} entries": (
            prove["p95_ms"] < GOALS["proof_p95_ms"]
        ),
        f"verification p95 < {GOALS['verify_p95_ms']} ms": (
            summary(verify_ms)["p95_ms"] < GOALS["verify_p95_ms"]
        ),
    }
    report("tlog", figures, goals)


if __name__ == "__main__":
    main()
