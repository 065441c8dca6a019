"""From commit to a witnessed checkpoint: how long an audit entry waits until
a checkpoint that covers it has been cosigned by a witness (PostgreSQL).

    DEBUG=1 .venv/bin/python -m bench.tlog_latency [--rate 5000] [--seconds 20]

The platform runs as it does in production, each part its own process with
DEBUG off: gunicorn serving the public checkpoint and consistency endpoints,
the sequencer (``manage.py audit_sequence``) and a witness
(``manage.py audit_witness``, its own key and state, polling every
``--witness-interval`` seconds over HTTP on 127.0.0.1). pgbench appends
entries at a steady ``--rate`` per second with the very statement
``audit_record`` runs (``bench.audit_append``), 8 writers. Afterwards, for
every entry: the time from its insert to the platform's receipt of the
first cosignature of a checkpoint whose size covers its position. Beside it, for comparison, the
time to the first *signed* checkpoint covering it (what the sequencer alone
adds).

Goal (issue 20): at a steady 5,000 appends/s, p99 under 2 s.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.audit_append import STATEMENTS
from bench.common import ROOT, percentile, report, setup_django

DATABASE = "bench_audit_latency"
URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
PORT = 8110
WITNESS = "bench.witness/1"
GOAL_P99_S = 2.0


def _reset() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "TRUNCATE audit_auditentry, audit_pending, audit_log_leaf, audit_log_tile, "
            "audit_log_cosignature, audit_log_checkpoint, audit_auditflag"
        )
        cursor.execute("SET session_replication_role = origin")


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def _wait_for_http(log: Path) -> None:
    import http.client

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            conn.request("GET", "/api/audit/log/checkpoint")
            if conn.getresponse().status in {200, 404}:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the web server did not start:\n{log.read_text()[-2000:]}")


def _pgbench(script: Path, rate: int, seconds: int) -> str:
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
            "8",
            "-j",
            "2",
            "-R",
            str(rate),
            "-T",
            str(seconds),
            "-f",
            str(script),
            DATABASE,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"pgbench failed: {result.stderr[-2000:]}")
    return result.stdout


def _settled(timeout: float) -> bool:
    """Everything placed and the newest checkpoint cosigned."""
    from consent.audit.log import checkpoint_latest
    from consent.audit.models import LogCosignature, PendingEntry

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        latest = checkpoint_latest()
        if (
            latest is not None
            and not PendingEntry.objects.exists()
            and LogCosignature.objects.filter(
                checkpoint__log=latest.log, checkpoint__size=latest.size, refused=False
            ).exists()
        ):
            return True
        time.sleep(0.5)
    return False


def _warm_up() -> None:
    from consent.audit.services import Action, Purpose, audit_record
    from core.actors import Actor

    audit_record(
        actor=Actor.system("bench.tlog_latency"),
        action=Action.READ,
        purpose=Purpose.OPERATIONS,
        citizen_id=None,
    )
    if not _settled(90):
        raise SystemExit("the sequencer and the witness did not witness a first entry")


def _first_covering(points: list[tuple[int, float]]) -> tuple[list[int], list[float]]:
    """For checkpoints (size, time): sizes ascending, and for each the earliest
    time at which a checkpoint at least that large existed."""
    points.sort()
    sizes = [size for size, _ in points]
    earliest = [at for _, at in points]
    for i in range(len(earliest) - 2, -1, -1):
        earliest[i] = min(earliest[i], earliest[i + 1])
    return sizes, earliest


def _latencies() -> dict[str, object]:
    from django.db.models import Min

    from consent.audit.models import LogCheckpoint, LogCosignature, LogLeaf

    log = LogCheckpoint.objects.order_by("-id").values_list("log", flat=True).first()
    signed = [
        (size, at.timestamp())
        for size, at in LogCheckpoint.objects.filter(log=log).values_list("size", "signed_at")
    ]
    cosigned = [
        (size, at.timestamp())
        for size, at in LogCosignature.objects.filter(checkpoint__log=log, refused=False)
        .values("checkpoint__size")
        .annotate(first=Min("received_at"))
        .values_list("checkpoint__size", "first")
    ]
    signed_sizes, signed_at = _first_covering(signed)
    witnessed_sizes, witnessed_at = _first_covering(cosigned)
    to_signed, to_witnessed = [], []
    # Position 0 is the warm-up entry, witnessed before the load began.
    for position, recorded in LogLeaf.objects.filter(log=log, position__gt=0).values_list(
        "position", "recorded_at"
    ):
        t = recorded.timestamp()
        i = bisect.bisect_right(signed_sizes, position)
        j = bisect.bisect_right(witnessed_sizes, position)
        if i < len(signed_sizes):
            to_signed.append(signed_at[i] - t)
        if j < len(witnessed_sizes):
            to_witnessed.append(witnessed_at[j] - t)

    def stats(values: list[float]) -> dict[str, float]:
        return {
            "n": len(values),
            "p50_s": round(percentile(values, 50), 3),
            "p95_s": round(percentile(values, 95), 3),
            "p99_s": round(percentile(values, 99), 3),
            "max_s": round(max(values, default=float("nan")), 3),
        }

    return {
        "entries": LogLeaf.objects.filter(log=log, position__gt=0).count(),
        "checkpoints_signed": len(signed),
        "checkpoints_cosigned": len(cosigned),
        "commit_to_signed_checkpoint": stats(to_signed),
        "commit_to_witnessed_checkpoint": stats(to_witnessed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=5000, help="appends per second")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--witness-interval", type=float, default=0.25)
    args = parser.parse_args()
    seed = base64.b64encode(secrets.token_bytes(32)).decode()
    os.environ["AUDIT_LOG_SIGNING_KEY"] = seed
    setup_django(URL)
    _reset()

    from consent.audit.log import signing_key
    from consent.audit.witness import witness_key

    with tempfile.TemporaryDirectory() as folder:
        storage = Path(folder) / "witness"
        witness_vkey = witness_key(storage / "key", WITNESS).verifier().vkey()
        env = {
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": URL,
            "AUDIT_LOG_SIGNING_KEY": seed,
            "AUDIT_WITNESS_KEYS": witness_vkey,
            "LOG_LEVEL": "WARNING",
        }
        logs = ROOT / "var"
        logs.mkdir(exist_ok=True)
        web_log = logs / "bench-tlog-web.log"
        processes = [
            _start(
                [
                    "-m",
                    "gunicorn",
                    "config.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{PORT}",
                    "--workers",
                    "2",
                ],
                env,
                web_log,
            ),
            _start(["manage.py", "audit_sequence"], env, logs / "bench-tlog-sequencer.log"),
        ]
        try:
            _wait_for_http(web_log)
            processes.append(
                _start(
                    [
                        "manage.py",
                        "audit_witness",
                        "--platform",
                        f"http://127.0.0.1:{PORT}",
                        "--log-key",
                        signing_key().verifier().vkey(),
                        "--name",
                        WITNESS,
                        "--storage",
                        str(storage),
                        "--interval",
                        str(args.witness_interval),
                    ],
                    env,
                    logs / "bench-tlog-witness.log",
                )
            )
            # Warm up: every process started, one entry witnessed end to end.
            _warm_up()
            script = Path(folder) / "append.sql"
            script.write_text(STATEMENTS["audited_append"])
            output = _pgbench(script, args.rate, args.seconds)
            rate = next(
                (line.split("=")[1].split()[0] for line in output.splitlines() if "tps =" in line),
                "?",
            )
            settled = _settled(60)
            figures: dict[str, object] = {
                "setup": f"pgbench -R {args.rate} for {args.seconds} s, 8 writers; sequencer, "
                f"witness polling every {args.witness_interval} s, gunicorn 2 workers; DEBUG off",
                "appends_per_s": rate,
                "settled": settled,
            }
            figures.update(_latencies())
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
    p99 = figures["commit_to_witnessed_checkpoint"]["p99_s"]  # type: ignore[index]
    goals = {
        f"commit to witnessed checkpoint p99 < {GOAL_P99_S:g} s at {args.rate}/s": bool(
            settled and p99 < GOAL_P99_S
        )
    }
    report("tlog_latency", figures, goals)


if __name__ == "__main__":
    main()
