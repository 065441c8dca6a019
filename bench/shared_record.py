"""Shared record over HTTP: the audited, consent-checked read against the bare read,
and ``$everything`` under 20 concurrent clients.

Four gunicorn servers on the same PostgreSQL database, side by side in one
run, each with the platform's own configuration (config/gunicorn.py) in
single-thread workers and DEBUG off as in production: port 8101 with everything on, port
8102 with ``CONSENT_BENCH_BARE_READS=1`` (gate and audit off; the setting
refuses to load unless the database is a bench_* one), port 8103 with
everything on but its database sessions committing without waiting for the
disk (libpq's ``PGOPTIONS``, ``synchronous_commit=off``), and port 8104 with
the bare read plus one durable insert of its own, prepared as the audit
entry's statement is (``CONSENT_BENCH_FLOOR_WRITE=1``): the physical floor of
a read whose entry must be on disk before the data goes out. The third is
not how the platform runs: it shows what waiting for the audit entry to
reach the disk costs, the price of R9's "written before the data is
returned". The load generator is
wrk (Debian's package; ``make bench`` installs it), 127.0.0.1 only, running
the phases interleaved, three times. ``--commit-latency`` gives every
server's sessions a 2 ms commit latency (``commit_delay=2000,
commit_siblings=0``), as on a networked cloud volume.

Goals (issue 4): ≥400 reads/s with everything on; the full read costs at most
1.5x the bare read; (issue 20) at most 1.15x the floor, also with the commit
latency; ``$everything`` for a citizen with 50 resources under 50 ms
at p95 with 20 concurrent clients. A read's cost is judged as the ratio of
throughputs at saturation (bare reads/s over full reads/s), as the append's
cost is in ``bench.audit``. Beside it the machine's CPU time per read is
measured over each phase (web workers, database and load generator alike):
the two ratios differ where the full read waits for its audit entry's commit
to reach the disk and leaves the cores idle meanwhile.

    DEBUG=1 .venv/bin/python -m bench.shared_record            # ~1 minute
    DEBUG=1 .venv/bin/python -m bench.shared_record --seconds 20 --workers 4
    DEBUG=1 .venv/bin/python -m bench.shared_record --commit-latency
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import tempfile
from pathlib import Path

from bench.common import (
    ROOT,
    machine_busy_seconds,
    report,
    setup_django,
    staff_with_token,
    start_gunicorn,
)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_consent"
FULL_PORT, BARE_PORT, UNFLUSHED_PORT, FLOOR_PORT = 8101, 8102, 8103, 8104
# A networked cloud volume's commit latency, for ``--commit-latency``.
COMMIT_LATENCY = "-c commit_delay=2000 -c commit_siblings=0"
# The sides take turns, this many times each, so that a noisy neighbour
# hurts them all alike.
ROUNDS = 3


def seed(n_citizens: int) -> dict[str, object]:
    """A nurse with visits for ``n_citizens`` citizens, five resources each, and one
    citizen with 50 resources. Fresh rows every run (the bench database only)."""
    import datetime as dt

    from consent.models import CareRelationship
    from consent.services import care_relationship_open, record_resource_create
    from core.actors import Actor
    from core.models import Citizen, Organisation, Role

    tag = secrets.token_hex(4)
    muni, _ = Organisation.objects.get_or_create(
        municipality_code="157",
        defaults={"kind": Organisation.Kind.MUNICIPALITY, "name": "Gentofte Kommune"},
    )
    acute = Organisation.objects.create(
        kind=Organisation.Kind.ACUTE_FUNCTION, name=f"Bench akutfunktion {tag}"
    )
    nurse, raw = staff_with_token(acute, Role.ACUTE_NURSE, f"bench-nurse-{tag}")
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
            user=nurse.user,
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
    from django.db import connection

    with connection.cursor() as cursor:
        # What the floor's reads insert into (CONSENT_BENCH_FLOOR_WRITE).
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_read_floor "
            "(id bigserial PRIMARY KEY, at timestamptz NOT NULL)"
        )
    return {"token": raw, "read_ids": read_ids, "rich_citizen": rich.pk}


def start_server(
    port: int,
    workers: int,
    database_url: str,
    bare: bool,
    log: Path,
    unflushed: bool = False,
    floor: bool = False,
    latency: bool = False,
) -> subprocess.Popen[bytes]:
    options = [COMMIT_LATENCY] if latency else []
    if unflushed:
        options.append("-c synchronous_commit=off")
    env = {
        "DATABASE_URL": database_url,
        "CONSENT_BENCH_BARE_READS": "1" if bare else "0",
        "CONSENT_BENCH_FLOOR_WRITE": "1" if floor else "0",
        # libpq passes these to every session the server opens.
        "PGOPTIONS": " ".join(options),
    }
    return start_gunicorn(
        "config.wsgi:application", port=port, workers=workers, threads=1, env=env, log=log
    )


WRK_SCRIPT = """
local paths = {%(paths)s}
local i = %(offset)d
wrk.headers["Authorization"] = "Bearer %(token)s"
wrk.headers["Accept"] = "application/fhir+json"
request = function()
    i = i + 1
    return wrk.format("GET", paths[(i %% #paths) + 1])
end
done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("RESULT %%d %%d %%d %%.3f %%.3f %%.3f\\n",
        summary.requests, e.connect + e.read + e.write + e.status + e.timeout,
        summary.duration, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
        latency.mean / 1000))
end
"""


def load(port: int, paths: list[str], token: str, clients: int, seconds: float) -> dict[str, float]:
    """Closed loop with wrk (two threads, ``clients`` connections, each sending
    its next request as soon as the previous one is answered), 127.0.0.1 only.
    Any answer but 2xx counts as an error."""
    script = WRK_SCRIPT % {
        "paths": ", ".join(f'"{p}"' for p in paths),
        "offset": 0,
        "token": token,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    busy = machine_busy_seconds()
    try:
        out = subprocess.run(
            [
                "wrk",
                "--threads",
                str(min(2, clients)),
                "--connections",
                str(clients),
                "--duration",
                f"{max(1, round(seconds))}s",
                "--timeout",
                "30s",
                "--script",
                handle.name,
                f"http://127.0.0.1:{port}/",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        Path(handle.name).unlink()
    busy = machine_busy_seconds() - busy
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    requests, errors, duration_us, p50, p95, mean = line.split()[1:]
    elapsed = int(duration_us) / 1e6
    return {
        "n": int(requests),
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "mean_ms": float(mean),
        "per_s": round(int(requests) / elapsed, 1),
        "cpu_ms_per_request": round(busy / max(1, int(requests)) * 1000, 3),
        "errors": int(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=12.0, help="per side")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers per server")
    parser.add_argument("--clients", type=int, default=8, help="concurrent readers")
    parser.add_argument("--citizens", type=int, default=40)
    parser.add_argument(
        "--commit-latency",
        action="store_true",
        help="every server's sessions with commit_delay=2000, commit_siblings=0 (2 ms)",
    )
    args = parser.parse_args()
    latency = args.commit_latency
    database_url = os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_DB)
    setup_django(database_url)
    data = seed(args.citizens)
    token = str(data["token"])
    read_ids: list[int] = list(data["read_ids"])  # type: ignore[call-overload]
    rich = data["rich_citizen"]
    logs = ROOT / "var"
    servers = [
        start_server(
            port,
            args.workers,
            database_url,
            bare,
            logs / f"bench-consent-{name}.log",
            unflushed=name == "unflushed",
            floor=name == "floor",
            latency=latency,
        )
        for name, port, bare in (
            ("full", FULL_PORT, False),
            ("bare", BARE_PORT, True),
            ("unflushed", UNFLUSHED_PORT, False),
            ("floor", FLOOR_PORT, True),
        )
    ]
    try:
        paths = [f"/fhir/Condition/{pk}" for pk in read_ids]
        sides = {
            "full": FULL_PORT,
            "bare": BARE_PORT,
            "full_unflushed": UNFLUSHED_PORT,
            "bare_plus_durable_insert": FLOOR_PORT,
        }
        for port in sides.values():  # warm them all
            load(port, paths, token, args.clients, 1.0)
        rounds: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
        for _ in range(ROUNDS):
            for side, port in sides.items():
                rounds[side].append(load(port, paths, token, args.clients, args.seconds / ROUNDS))
        figures: dict[str, object] = {
            "setup": f"gunicorn as deployed, {args.workers} single-thread workers per server"
            f" (DEBUG off), wrk with "
            f"{args.clients} closed-loop connections, {args.seconds:g} s per side, PostgreSQL"
            + (", commit_delay=2000 commit_siblings=0" if latency else ""),
        }
        rates, costs = {}, {}
        for side, runs in rounds.items():
            reads = sum(r["n"] for r in runs)
            rates[side] = reads / sum(r["n"] / r["per_s"] for r in runs)
            costs[side] = sum(r["cpu_ms_per_request"] * r["n"] for r in runs) / reads
            figures[f"read_{side}"] = {
                "p50_ms": max(r["p50_ms"] for r in runs),
                "p95_ms": max(r["p95_ms"] for r in runs),
                "reads_per_s": round(rates[side], 1),
                "cpu_ms_per_read": round(costs[side], 3),
                "errors": sum(r["errors"] for r in runs),
            }
        cost_ratio = rates["bare"] / rates["full"]
        figures["read_cost_ratio_full_vs_bare"] = round(cost_ratio, 2)
        # The physical floor: the bare read plus one durable insert (issue 20).
        floor_ratio = rates["bare_plus_durable_insert"] / rates["full"]
        figures["read_cost_ratio_full_vs_floor"] = round(floor_ratio, 2)
        figures["read_cpu_ratio_full_vs_bare"] = round(costs["full"] / costs["bare"], 2)
        # Not a goal: what the ratio would be if reads did not wait for their
        # audit entry to reach the disk.
        figures["read_cost_ratio_unflushed_vs_bare"] = round(
            rates["bare"] / rates["full_unflushed"], 2
        )
        # One connection, no queueing: the latency each read costs on its own.
        single = {
            side: load(port, paths, token, 1, args.seconds / 4)
            for side, port in (("full", FULL_PORT), ("bare", BARE_PORT))
        }
        figures["read_single_client"] = single
        figures["read_single_client_latency_ratio"] = round(
            single["full"]["mean_ms"] / single["bare"]["mean_ms"], 2
        )

        everything = [f"/fhir/Patient/{rich}/$everything"]
        load(FULL_PORT, everything, token, 20, 1.0)
        figures["everything_50_resources_20_clients"] = load(
            FULL_PORT, everything, token, 20, args.seconds
        )
        p95 = figures["everything_50_resources_20_clients"]["p95_ms"]  # type: ignore[index]
        goals = {
            f"≥400 audited, consent-checked reads/s (got {rates['full']:.0f})": rates["full"]
            >= 400,
            f"full read ≤1.5x the bare read's cost (got {cost_ratio:.2f}x)": cost_ratio <= 1.5,
            f"full read ≤1.15x the floor, bare read + durable insert (got {floor_ratio:.2f}x)": (
                floor_ratio <= 1.15
            ),
            f"$everything p95 <50 ms with 20 clients (got {p95:.1f} ms)": p95 < 50,
            "no errors": all(
                v.get("errors", 0) == 0 for v in figures.values() if isinstance(v, dict)
            ),
        }
        report("shared_record_commit_latency" if latency else "shared_record", figures, goals)
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
