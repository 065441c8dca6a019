"""Shared set-up for benchmarks: Django on a dedicated PostgreSQL database, and results files."""

from __future__ import annotations

import http.client
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tvaerakut_bench"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None = None) -> float:
    """User and system CPU time of a process (this one when ``pid`` is None).
    Time the host's hypervisor took from this machine (steal) is not in it, so
    CPU costs compare fairly even when wall-clock figures are disturbed."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def _cpu_times() -> list[int]:
    """The machine's CPU time counters (first line of /proc/stat), in ticks."""
    with Path("/proc/stat").open() as stat:
        return [int(v) for v in stat.readline().split()[1:]]


_STARTED_TIMES = _cpu_times()


def machine_busy_seconds() -> float:
    """CPU time the whole machine has spent working (user, nice, system, irq,
    softirq; not idle, not waiting for the disk, not stolen by the host),
    summed over its cores: every process a request passes through (web
    worker, database, load generator) counts, which is what a request costs."""
    user, nice, system, _idle, _iowait, irq, softirq = _cpu_times()[:7]
    return (user + nice + system + irq + softirq) / _CLOCK_TICKS


def steal_share() -> float:
    """The share of this machine's CPU time that its host took away (steal)
    since the benchmark started: wall-clock figures above a few per cent of
    it are disturbed by other tenants, CPU-time figures much less so."""
    now = _cpu_times()
    delta = [b - a for a, b in zip(_STARTED_TIMES, now, strict=True)]
    total = sum(delta[:8])
    return round(delta[7] / total, 3) if total else 0.0


def setup_django(database_url: str | None = None) -> None:
    """Point Django at the benchmark database (created and migrated if needed)."""
    url = database_url or os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    name = url.rsplit("/", 1)[1]
    if not name.replace("_", "").isalnum():
        raise SystemExit("The benchmark database name may hold only letters, digits and _.")
    exists = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname='{name}'",  # noqa: S608 - name checked above
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not exists:
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def staff_with_token(organisation: Any, role: str, username: str) -> tuple[Any, str]:
    """A staff member of ``organisation`` in ``role`` (their membership) and a
    bearer token of theirs, valid for two hours (Django set up first)."""
    import datetime as dt
    import secrets

    from django.utils import timezone

    from core.models import ApiToken, Membership, User, hash_token

    user = User.objects.create(username=username)
    membership = Membership.objects.create(
        user=user, organisation=organisation, role=role, is_default=True
    )
    raw = secrets.token_urlsafe(24)
    ApiToken.objects.create(
        key_hash=hash_token(raw),
        membership=membership,
        expires_at=timezone.now() + dt.timedelta(hours=2),
    )
    return membership, raw


def start_gunicorn(
    app: str,
    *,
    port: int,
    workers: int,
    env: dict[str, str],
    log: Path,
    threads: int | None = None,
    wait_seconds: float = 30,
) -> subprocess.Popen[bytes]:
    """gunicorn serving ``app`` on 127.0.0.1:``port`` as deployed: the
    platform's own configuration (config/gunicorn.py: threaded workers that
    keep a client's connection open, the access log), DEBUG off (no query
    log, no debug cursor), with ``workers`` processes of ``threads`` threads
    (the deployment's default when None) and ``env`` on top; returned once
    ``/fhir/metadata`` answers."""
    sizing = ["--workers", str(workers)] + (["--threads", str(threads)] if threads else [])
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:config.gunicorn",
            app,
            "--bind",
            f"127.0.0.1:{port}",
            *sizing,
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "DATABASE_CONN_MAX_AGE": "600",
            **env,
        },
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + wait_seconds
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


def wsgi_client(token: str) -> Callable[[str, str, bytes], tuple[str, bytes]]:
    """A caller of the platform's WSGI application in this process, as a
    client holding bearer ``token`` on 127.0.0.1 would send FHIR: ``call(method,
    path, body)`` answers the status line and the body (Django set up first)."""
    import io

    from config.wsgi import application

    statuses: list[str] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        statuses.append(status)
        return lambda _body: None

    def call(method: str, path: str, body: bytes = b"") -> tuple[str, bytes]:
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "HTTP_ACCEPT": "application/fhir+json",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
        }
        if body:
            environ["CONTENT_TYPE"] = "application/fhir+json"
            environ["CONTENT_LENGTH"] = str(len(body))
        answer = b"".join(application(environ, start_response))
        return statuses.pop(), answer

    return call


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    """Wall-clock milliseconds of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(samples_ms: list[float]) -> dict[str, float]:
    return {
        "n": len(samples_ms),
        "p50_ms": round(percentile(samples_ms, 50), 3),
        "p95_ms": round(percentile(samples_ms, 95), 3),
        "mean_ms": round(statistics.fmean(samples_ms), 3) if samples_ms else float("nan"),
    }


def report(name: str, figures: dict[str, Any], goals: dict[str, bool]) -> Path:
    """Print the figures and the goals met, and write them to ``bench/results/<name>.json``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stolen = steal_share()
    payload = {
        "benchmark": name,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "cpu_stolen_by_host": stolen,
        },
        "figures": figures,
        "goals": goals,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    print(f"\n== {name}")
    print(f"  cpu_stolen_by_host: {stolen:.1%}")
    for key, value in figures.items():
        print(f"  {key}: {value}")
    for goal, met in goals.items():
        print(f"  [{'met' if met else 'MISSED'}] {goal}")
    print(f"  -> {path.relative_to(ROOT)}")
    return path
