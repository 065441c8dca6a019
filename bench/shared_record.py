"""Shared record over HTTP: the audited, consent-checked read against the bare read,
and ``$everything`` under 20 concurrent clients.

Two gunicorn servers on the same PostgreSQL database, side by side in one run:
port 8101 with everything on, port 8102 with ``CONSENT_BENCH_BARE_READS=1``
(gate and audit off; the setting refuses to load without DEBUG, so both run
with DEBUG=1 to compare like with like). A small load generator (threads +
``http.client``, 127.0.0.1 only) runs the phases interleaved: full, bare,
full, bare — so a noisy neighbour hurts both sides alike.

Goals (issue 4): ≥400 reads/s with everything on; the full read costs at most
1.5x the bare read (cost = CPU time per read at saturation, i.e. the ratio of
throughputs); ``$everything`` for a citizen with 50 resources under 50 ms at
p95 with 20 concurrent clients.

    DEBUG=1 .venv/bin/python -m bench.shared_record            # ~1 minute
    DEBUG=1 .venv/bin/python -m bench.shared_record --seconds 20 --workers 4
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import ROOT, report, setup_django, summary

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_consent"
FULL_PORT, BARE_PORT = 8101, 8102


def seed(n_citizens: int) -> dict[str, object]:
    """A nurse with visits for ``n_citizens`` citizens, five resources each, and one
    citizen with 50 resources. Fresh rows every run (the bench database only)."""
    import datetime as dt
    import secrets

    from django.utils import timezone

    from consent.models import CareRelationship
    from consent.services import care_relationship_open, record_resource_create
    from core.actors import Actor
    from core.models import ApiToken, Citizen, Membership, Organisation, Role, User, hash_token

    tag = secrets.token_hex(4)
    muni, _ = Organisation.objects.get_or_create(
        municipality_code="157",
        defaults={"kind": Organisation.Kind.MUNICIPALITY, "name": "Gentofte Kommune"},
    )
    acute = Organisation.objects.create(
        kind=Organisation.Kind.ACUTE_FUNCTION, name=f"Bench akutfunktion {tag}"
    )
    user = User.objects.create(username=f"bench-nurse-{tag}")
    nurse = Membership.objects.create(
        user=user, organisation=acute, role=Role.ACUTE_NURSE, is_default=True
    )
    raw = secrets.token_urlsafe(24)
    ApiToken.objects.create(
        key_hash=hash_token(raw),
        membership=nurse,
        expires_at=timezone.now() + dt.timedelta(hours=2),
    )
    actor = Actor.for_membership(nurse)
    start = Citizen.objects.count()

    def new_citizen(n: int) -> Citizen:
        number = start + n
        cpr = f"0101{40 + number % 50:02d}{number % 10000:04d}"
        while Citizen.objects.filter(cpr=cpr).exists():
            number += 7919
            cpr = f"0101{40 + number % 50:02d}{number % 10000:04d}"
        person = Citizen.objects.create(
            cpr=cpr,
            given_name="Bench",
            family_name=f"Borger {n}",
            birth_date=dt.date(1940 + number % 50, 1, 1),
            sex="female",
            address_line="Benchvej 1",
            postal_code="2820",
            city="Gentofte",
            latitude=55.75,
            longitude=12.54,
            municipality=muni,
        )
        care_relationship_open(
            citizen=person,
            organisation=acute,
            user=user,
            basis=CareRelationship.Basis.VISIT,
            source_type="bench.visit",
            source_id=f"{tag}-{n}",
        )
        return person

    def resource(pid: int, i: int) -> dict[str, object]:
        return {
            "resourceType": "Condition",
            "meta": {
                "tag": [{"system": "urn:tvaerakut:data-category", "code": "somatic-diagnosis"}]
            },
            "code": {
                "coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": f"I{10 + i % 80}"}]
            },
            "subject": {"reference": f"Patient/{pid}"},
            "recordedDate": f"2025-{1 + i % 12:02d}-01",
        }

    read_ids: list[int] = []
    for n in range(n_citizens):
        person = new_citizen(n)
        for i in range(5):
            read_ids.append(
                record_resource_create(
                    actor=actor, data=resource(person.pk, i), purpose="treatment"
                ).pk
            )
    rich = new_citizen(n_citizens)
    for i in range(50):
        record_resource_create(actor=actor, data=resource(rich.pk, i), purpose="treatment")
    return {"token": raw, "read_ids": read_ids, "rich_citizen": rich.pk}


def start_server(
    port: int, workers: int, database_url: str, bare: bool, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "1",
        "CONSENT_BENCH_BARE_READS": "1" if bare else "0",
        "LOG_LEVEL": "WARNING",
        "DATABASE_CONN_MAX_AGE": "600",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/fhir/metadata")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"gunicorn on {port} did not start:\n{log.read_text()[-2000:]}")


def load(
    port: int, paths: Callable[[int], str], token: str, clients: int, seconds: float
) -> tuple[list[float], int, float]:
    """Closed loop: ``clients`` threads each send the next request as soon as
    the previous one answers. Returns latencies (ms), errors, elapsed seconds."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        bad = 0
        i = k
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                conn.request("GET", paths(i), headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    bad += 1
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append((time.perf_counter() - started) * 1000)
            i += clients
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    began = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0], time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers per server")
    parser.add_argument("--clients", type=int, default=8, help="concurrent readers")
    parser.add_argument("--citizens", type=int, default=40)
    args = parser.parse_args()
    database_url = os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_DB)
    setup_django(database_url)
    data = seed(args.citizens)
    token = str(data["token"])
    read_ids: list[int] = list(data["read_ids"])  # type: ignore[call-overload]
    rich = data["rich_citizen"]
    logs = ROOT / "var"
    servers = [
        start_server(FULL_PORT, args.workers, database_url, False, logs / "bench-consent-full.log"),
        start_server(BARE_PORT, args.workers, database_url, True, logs / "bench-consent-bare.log"),
    ]
    try:

        def read_path(i: int) -> str:
            return f"/fhir/Condition/{read_ids[i % len(read_ids)]}"

        for port in (FULL_PORT, BARE_PORT):  # warm both
            load(port, read_path, token, args.clients, 1.0)
        rounds: dict[str, list[tuple[list[float], int, float]]] = {"full": [], "bare": []}
        for _ in range(2):
            rounds["full"].append(load(FULL_PORT, read_path, token, args.clients, args.seconds / 2))
            rounds["bare"].append(load(BARE_PORT, read_path, token, args.clients, args.seconds / 2))
        figures: dict[str, object] = {
            "setup": f"gunicorn {args.workers} sync workers per server, {args.clients} closed-loop "
            f"clients, {args.seconds:g} s per side, PostgreSQL, DEBUG=1 on both sides",
        }
        rates = {}
        for side, runs in rounds.items():
            samples = [x for run in runs for x in run[0]]
            elapsed = sum(run[2] for run in runs)
            rates[side] = len(samples) / elapsed
            figures[f"read_{side}"] = {
                **summary(samples),
                "reads_per_s": round(rates[side], 1),
                "errors": sum(run[1] for run in runs),
            }
        cost_ratio = rates["bare"] / rates["full"]
        figures["read_cost_ratio_full_vs_bare"] = round(cost_ratio, 2)
        # One client, no queueing: the latency each read costs on its own.
        single = {
            side: load(port, read_path, token, 1, args.seconds / 4)[0]
            for side, port in (("full", FULL_PORT), ("bare", BARE_PORT))
        }
        figures["read_single_client"] = {side: summary(v) for side, v in single.items()}
        figures["read_single_client_latency_ratio"] = round(
            summary(single["full"])["mean_ms"] / summary(single["bare"])["mean_ms"], 2
        )

        everything = f"/fhir/Patient/{rich}/$everything"
        load(FULL_PORT, lambda i: everything, token, 20, 1.0)
        samples, errors, elapsed = load(FULL_PORT, lambda i: everything, token, 20, args.seconds)
        figures["everything_50_resources_20_clients"] = {
            **summary(samples),
            "per_s": round(len(samples) / elapsed, 1),
            "errors": errors,
        }
        p95 = summary(samples)["p95_ms"]
        goals = {
            f"≥400 audited, consent-checked reads/s (got {rates['full']:.0f})": rates["full"]
            >= 400,
            f"full read ≤1.5x the bare read's cost (got {cost_ratio:.2f}x)": cost_ratio <= 1.5,
            f"$everything p95 <50 ms with 20 clients (got {p95:.1f} ms)": p95 < 50,
            "no errors": all(
                v.get("errors", 0) == 0 for v in figures.values() if isinstance(v, dict)
            ),
        }
        report("shared_record", figures, goals)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
