"""Hand-off delivery: commit-to-partner latency and sustained throughput through
the outbox, a real Celery worker and Redis, side by side with a direct
synchronous POST (what reliability costs).

    DEBUG=1 REDIS_URL=redis://127.0.0.1:6379/6 .venv/bin/python -m bench.handoffs [--full]

- latency: events committed at a steady 50 per second, each writing one
  outbox row; latency is from the commit to the partner simulator receiving
  the message (goal: p95 under 250 ms);
- throughput: a burst of events committed as fast as one process can, then
  delivered by the worker; sustained rate from the first commit to the last
  arrival (goal: at least 200 messages per second);
- worker side alone: a burst already committed (held, then made due at
  once) drained by the worker, to separate the delivery rate from the rate
  one process commits events at;
- baseline: the same messages POSTed synchronously from one process, signed,
  to the same simulator, with no outbox, no queue and no audit.

Default run: 250 messages for latency, 1,000 for throughput (well under
three minutes). ``--full``: 3,000 and 10,000.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, report, setup_django, summary

SIM_PORT = 8680
CITIZENS = 1000
WORKER_NAME = "bench-handoffs"


def _start_worker(concurrency: int, log: Path) -> subprocess.Popen[bytes]:
    from worker.celery import app

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker.celery:app",
            "worker",
            "--loglevel=WARNING",
            f"--concurrency={concurrency}",
            "-Q",
            "handoffs",
            "-n",
            f"{WORKER_NAME}@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"worker exited:\n{log.read_text()[-2000:]}")
        if app.control.ping(timeout=0.5, destination=[f"{WORKER_NAME}@{socket.gethostname()}"]):
            return process
    process.kill()
    raise SystemExit("worker did not start")


def _world(port: int) -> tuple[Any, list[Any]]:
    from core.models import Citizen, Organisation
    from integrations.models import Partner

    Organisation.objects.get_or_create(
        kind=Organisation.Kind.ACUTE_FUNCTION, name="Bench acute function"
    )
    gp, _ = Organisation.objects.get_or_create(
        kind=Organisation.Kind.GP_PRACTICE, name="Bench GP", defaults={"provider_number": "999999"}
    )
    # A municipality that takes part: others send no referrals.
    municipality, _ = Organisation.objects.update_or_create(
        municipality_code="157",
        defaults={
            "kind": Organisation.Kind.MUNICIPALITY,
            "name": "Gentofte Kommune",
            "participates": True,
        },
    )
    partner, _ = Partner.objects.update_or_create(
        code="bench-gp",
        defaults={
            "kind": Partner.Kind.GP,
            "organisation": gp,
            "endpoint_url": f"http://127.0.0.1:{port}/inbox",
            "secret": "bench-secret-not-used-elsewhere",
            "max_attempts": 12,
            "backoff_base_seconds": 1,
            "backoff_max_seconds": 60,
        },
    )
    from decimal import Decimal

    from core.services.citizens import citizen_create

    # One citizen per message of a burst: a partner hears about one citizen
    # in order (one message at a time), so a burst about a single citizen
    # would measure that rule, not the outbox.
    numbers = [f"020341{k:04d}" for k in range(1000, 1000 + CITIZENS)]
    known = {c.cpr: c for c in Citizen.objects.filter(cpr__in=numbers)}
    citizens = [
        known.get(cpr)
        or citizen_create(
            cpr=cpr,
            given_name="Bench",
            family_name="Borger",
            address_line="Gentoftegade 1",
            postal_code="2820",
            city="Gentofte",
            latitude=Decimal("55.75"),
            longitude=Decimal("12.545"),
            municipality=municipality,
            gp_practice=gp,
        )
        for cpr in numbers
    ]
    return partner, citizens


def _bundle(partner: Any, citizens: list[Any], n: int) -> dict[str, Any]:
    from core.fhir.patient import patient_resource
    from integrations.messages import Event, message_bundle
    from integrations.outbound import acute_function

    sender = acute_function()
    assert sender is not None
    return message_bundle(
        event=Event.CARE_COMMUNICATION,
        sender=sender,
        receiver=partner.organisation,
        receiver_endpoint=partner.endpoint_url,
        focus=[
            {
                "resourceType": "Communication",
                "id": f"bench-{n}",
                "status": "completed",
                "payload": [{"contentString": "Outcome of the acute episode: treated at home."}],
            }
        ],
        supporting=[patient_resource(citizens[n % len(citizens)])],
    )


def _commit_one(partner: Any, citizens: list[Any], n: int) -> tuple[str, float]:
    from django.db import transaction

    from integrations.messages import Event
    from integrations.outbox import outbox_enqueue

    bundle = _bundle(partner, citizens, n)
    with transaction.atomic():
        message = outbox_enqueue(
            partner=partner,
            event=Event.CARE_COMMUNICATION,
            bundle=bundle,
            citizen=citizens[n % len(citizens)],
            source_type="bench",
            source_id=str(n),
        )
    return str(message.message_id), time.time()


def _wait_all(sim: Any, ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sim.lock:
            if all(i in sim.state.received_at for i in ids):
                return
        time.sleep(0.05)
    missing = sum(1 for i in ids if i not in sim.state.received_at)
    raise SystemExit(f"{missing} of {len(ids)} messages did not arrive within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", action="store_true", help="3,000 / 10,000 messages")
    parser.add_argument("--concurrency", type=int, default=4, help="worker processes")
    parser.add_argument(
        "--port", type=int, default=SIM_PORT, help="port of the partner simulator on 127.0.0.1"
    )
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        raise SystemExit(
            "Set REDIS_URL (e.g. redis://127.0.0.1:6379/6): this measures a real broker."
        )
    latency_n, burst_n = (3000, 10000) if args.full else (250, 1000)

    setup_django(os.environ.get("BENCH_DATABASE_URL"))
    from integrations.models import DeliveryAttempt, OutboundMessage
    from integrations.simulators import PartnerSimulator
    from integrations.transport import OUR_SENDER_CODE, post_signed
    from worker.celery import app

    partner, citizens = _world(args.port)
    DeliveryAttempt.objects.filter(message__partner=partner).delete()
    OutboundMessage.objects.filter(partner=partner).delete()
    app.control.purge()
    sim = PartnerSimulator(code="bench-sim", secret=partner.secret, port=args.port).start()
    log = ROOT / "var" / "bench-handoffs-worker.log"
    worker = _start_worker(args.concurrency, log)
    figures: dict[str, Any] = {"latency_messages": latency_n, "burst_messages": burst_n}
    try:
        # Warm up: connections, imports.
        warm = [_commit_one(partner, citizens, -i)[0] for i in range(1, 21)]
        _wait_all(sim, warm, 60)

        # 1. Latency at a steady 50 messages per second.
        interval = 1 / 50
        sent: list[tuple[str, float]] = []
        start = time.perf_counter()
        for n in range(latency_n):
            target = start + n * interval
            pause = target - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            sent.append(_commit_one(partner, citizens, n))
        achieved_rate = latency_n / (time.perf_counter() - start)
        _wait_all(sim, [i for i, _ in sent], 120)
        latencies = [(sim.state.received_at[i] - t) * 1000 for i, t in sent]
        figures["outbox_latency_at_50_per_s"] = {
            **summary(latencies),
            "offered_rate_per_s": round(achieved_rate, 1),
        }

        # 2. Throughput: a burst of events, 100 to a transaction so that one
        # committing process is not what is measured; bundles built beforehand.
        from django.db import transaction

        from integrations.messages import Event
        from integrations.outbox import outbox_enqueue

        numbered = range(latency_n, latency_n + burst_n)
        bundles = [(n, _bundle(partner, citizens, n)) for n in numbered]
        burst: list[tuple[str, float]] = []
        t0 = time.time()
        for first in range(0, burst_n, 100):
            with transaction.atomic():
                ids = [
                    str(
                        outbox_enqueue(
                            partner=partner,
                            event=Event.CARE_COMMUNICATION,
                            bundle=bundle,
                            citizen=citizens[n % len(citizens)],
                            source_type="bench",
                        ).message_id
                    )
                    for n, bundle in bundles[first : first + 100]
                ]
            burst.extend((i, time.time()) for i in ids)
        committed = time.time()
        _wait_all(sim, [i for i, _ in burst], 600)
        last = max(sim.state.received_at[i] for i, _ in burst)
        figures["outbox_throughput"] = {
            "commit_rate_per_s": round(burst_n / (committed - t0), 1),
            "delivered_per_s": round(burst_n / (last - t0), 1),
            "seconds": round(last - t0, 2),
        }
        acknowledged = OutboundMessage.objects.filter(
            partner=partner, status=OutboundMessage.Status.ACKNOWLEDGED
        ).count()
        figures["acknowledged"] = acknowledged
        figures["processed_by_partner_once_each"] = sim.processed_count() == len(sim.state.acks)

        # 3. The worker side alone: a burst written while not yet due (its
        # after-commit deliveries find nothing to do), then made due at once
        # and handed over by the sweeper; from that moment to the last arrival.
        from django.utils import timezone

        from integrations.outbox import outbox_sweep

        drain_bundles = [
            (n, _bundle(partner, citizens, n))
            for n in range(latency_n + burst_n, latency_n + 2 * burst_n)
        ]
        drain_ids: list[str] = []
        drain_pks: list[int] = []
        later = timezone.now() + dt.timedelta(days=1)
        for first in range(0, burst_n, 100):
            with transaction.atomic():
                for n, bundle in drain_bundles[first : first + 100]:
                    message = outbox_enqueue(
                        partner=partner,
                        event=Event.CARE_COMMUNICATION,
                        bundle=bundle,
                        citizen=citizens[n % len(citizens)],
                        source_type="bench",
                    )
                    drain_ids.append(str(message.message_id))
                    drain_pks.append(message.pk)
                OutboundMessage.objects.filter(pk__in=drain_pks[first:]).update(
                    next_attempt_at=later
                )
        time.sleep(2)  # let the workers take and skip the after-commit deliveries
        d0 = time.time()
        OutboundMessage.objects.filter(pk__in=drain_pks).update(next_attempt_at=timezone.now())
        outbox_sweep(limit=burst_n)
        _wait_all(sim, drain_ids, 600)
        drained = max(sim.state.received_at[i] for i in drain_ids)
        figures["worker_delivery_only"] = {
            "delivered_per_s": round(burst_n / (drained - d0), 1),
            "seconds": round(drained - d0, 2),
        }

        # 4. Baseline: direct synchronous POST, no outbox, no queue, no audit.
        bodies = [
            json.dumps(_bundle(partner, citizens, 10**6 + n)).encode() for n in range(latency_n)
        ]
        posts = []
        b0 = time.perf_counter()
        for body in bodies:
            p0 = time.perf_counter()
            post_signed(
                url=partner.endpoint_url,
                body=body,
                sender=OUR_SENDER_CODE,
                secret=partner.secret,
                timeout=10,
            )
            posts.append((time.perf_counter() - p0) * 1000)
        figures["direct_post_baseline"] = {
            **summary(posts),
            "sequential_per_s": round(latency_n / (time.perf_counter() - b0), 1),
        }
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        sim.stop()
    figures["worker_concurrency"] = args.concurrency
    figures["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    report(
        "handoffs",
        figures,
        {
            "commit-to-partner p95 < 250 ms at 50 messages/s": figures[
                "outbox_latency_at_50_per_s"
            ]["p95_ms"]
            < 250,
            "sustained throughput >= 200 messages/s": figures["outbox_throughput"][
                "delivered_per_s"
            ]
            >= 200,
        },
    )


if __name__ == "__main__":
    main()
