"""Transparency-log benchmark (PostgreSQL): the sequencer, and proofs.

    DEBUG=1 .venv/bin/python -m bench.tlog [--entries 200000] [--proofs 500]

1. Sequencer: ``--entries`` entries are appended through the recording API
   (searches of 1,000 citizens, so the append is not what is measured) and
   wait; then the sequencer places them, batch after batch (positions, tiles,
   a signed checkpoint per batch, the waiting rows removed), until none
   wait: entries placed per second, wall clock.
2. Inclusion proofs by entry id, as the endpoint builds them (entry, its
   position, the newest checkpoint, the tiles the proof needs, fresh for each
   proof): p50/p95 ms; and verifying each with the pure verifier: p50/p95 ms.
3. Consistency proofs between random sizes of the same log.

A proof reads one or two tiles per tile level (256 hashes each), so its cost
grows with the number of levels: 3 up to 16.7 million entries. A log of a
few hundred thousand entries already has those three levels.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import secrets
import time

from bench.audit import reset_log
from bench.common import report, setup_django, summary, timed

GOALS = {"sequencer_per_s": 20_000, "proof_p95_ms": 5.0, "verify_p95_ms": 1.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--proofs", type=int, default=500)
    args = parser.parse_args()
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))
    os.environ.setdefault("AUDIT_LOG_SIGNING_KEY", base64.b64encode(os.urandom(32)).decode())
    setup_django(
        os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_audit")
    )
    from consent.audit import merkle
    from consent.audit.log import (
        checkpoint_latest,
        consistency_between,
        inclusion_for_entry,
        sequence_batch,
    )
    from consent.audit.models import AuditEntry
    from consent.audit.services import Action, Purpose, audit_record_many
    from core.actors import Actor

    reset_log()
    actor = Actor.system("bench.tlog")
    started = time.perf_counter()
    for start in range(0, args.entries, 1000):
        audit_record_many(
            actor=actor,
            action=Action.SEARCH,
            purpose=Purpose.TREATMENT,
            citizen_ids=range(start, min(start + 1000, args.entries)),
        )
    appended_s = time.perf_counter() - started

    started = time.perf_counter()
    placed = batches = 0
    while batch := sequence_batch():
        placed += batch
        batches += 1
    sequenced_s = time.perf_counter() - started
    latest = checkpoint_latest()
    assert latest is not None and latest.size == args.entries == placed

    ids = list(AuditEntry.objects.values_list("id", flat=True))
    rng = random.Random(6962)
    proofs = []

    def prove() -> None:
        proofs.append(inclusion_for_entry(rng.choice(ids)))

    prove_ms = timed(prove, args.proofs)
    pending = iter(proofs)

    def verify() -> None:
        proof = next(pending)
        assert merkle.verify_inclusion(
            index=proof.position,
            size=proof.checkpoint.size,
            leaf=proof.leaf_hash,
            proof=proof.proof,
            root_hash=bytes(proof.checkpoint.root),
        )

    verify_ms = timed(verify, args.proofs)

    def consistency() -> None:
        old = rng.randint(1, latest.size)
        consistency_between(latest.log, old, latest.size)

    consistency_ms = timed(consistency, min(args.proofs, 200))
    rate = placed / sequenced_s
    figures = {
        "entries": placed,
        "append_s": round(appended_s, 1),
        "sequencer_batches": batches,
        "sequencer_per_s": round(rate),
        "inclusion_proof": summary(prove_ms),
        "inclusion_verify": summary(verify_ms),
        "consistency_proof": summary(consistency_ms),
    }
    goals = {
        f"sequencer >= {GOALS['sequencer_per_s']:,} entries/s": rate >= GOALS["sequencer_per_s"],
        f"inclusion proof p95 < {GOALS['proof_p95_ms']} ms": (
            figures["inclusion_proof"]["p95_ms"] < GOALS["proof_p95_ms"]  # type: ignore[index]
        ),
        f"verification p95 < {GOALS['verify_p95_ms']} ms": (
            figures["inclusion_verify"]["p95_ms"] < GOALS["verify_p95_ms"]  # type: ignore[index]
        ),
    }
    report("tlog", figures, goals)


if __name__ == "__main__":
    main()
