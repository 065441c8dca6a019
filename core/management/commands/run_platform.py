"""Serve the platform on this machine as production does (`make run`): gunicorn
with the static files collected, a Celery worker, the beat scheduler, the
partner simulators, the audit log's sequencer and a witness of the log, each
kept running by ``core.supervisor``.

The worker and the scheduler run as separate processes, as in production;
without REDIS_URL they talk through the file-system broker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.demo import DEMO_PASSWORD, DEMO_TOTP_KEY, NURSE_COUNT, STAFF
from core.supervisor import Child, Supervisor, bind_problem

CELERY = [sys.executable, "-m", "celery", "-A", "worker.celery:app"]


# The demo identity provider's people: the organisation's SOR code and role
# their ID token claims; the last one's organisation is unknown, to show a refusal.
DEMO_IDP_ACCOUNTS = {
    "sygeplejerske": {
        "name": "Sara Sygeplejerske",
        "organisation_sor": "900000100001",
        "role": "acute_nurse",
    },
    "koordinator": {
        "name": "Karl Koordinator",
        "organisation_sor": "900000100001",
        "role": "coordinator",
    },
    "fremmed": {"name": "Frede Fremmed", "organisation_sor": "999999999999", "role": "acute_nurse"},
}


def _demo_identity_provider() -> Child:
    """The certified npm ``oidc-provider`` (tests/oidc/provider.mjs) as the
    organisation's identity provider, on the issuer the settings name."""
    demo = settings.OIDC_PROVIDERS["demo"]
    issuer = demo["issuer"]
    port = int(issuer.rsplit(":", 1)[1].split("/")[0])
    address = f"http://{settings.BIND_HOST}:{settings.PORT}"
    config = Path(settings.VAR_DIR) / "demo-identity-provider.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        json.dumps(
            {
                "port": port,
                "issuer": issuer,
                "clients": [
                    {
                        "client_id": demo["client_id"],
                        "client_secret": demo["client_secret"],
                        "redirect_uris": [
                            f"{address}/login/oidc/demo/callback",
                            f"http://localhost:{settings.PORT}/login/oidc/demo/callback",
                        ],
                    }
                ],
                "accounts": DEMO_IDP_ACCOUNTS,
            }
        )
    )
    os.environ["OIDC_TEST_CONFIG"] = str(config)
    return Child("identity-provider", ["node", "tests/oidc/provider.mjs"])


def _manage(*args: str) -> str:
    """One management command's output (run as its own process: this module
    composes the platform's processes and imports none of the apps)."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.strip()


def _audit_log_children(host: str, port: int) -> list[Child]:
    """The audit log's sequencer, and a witness of it with its own key and
    state in var/witness/<this database's log>: another or a new database is
    another log, which the witness starts afresh rather than refuse as a fork
    of the one it saw before. The web server accepts that witness's
    cosignatures unless AUDIT_WITNESS_KEYS names others."""
    local = json.loads(_manage("audit_local_witness"))
    os.environ.setdefault("AUDIT_WITNESS_KEYS", local["witness_vkey"])
    address = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    return [
        Child("sequencer", [sys.executable, "manage.py", "audit_sequence"]),
        Child(
            "witness",
            [
                sys.executable,
                "manage.py",
                "audit_witness",
                "--platform",
                address,
                "--log-key",
                local["log_key"],
                "--storage",
                local["storage"],
            ],
        ),
    ]


def _broker_problem(url: str) -> str | None:
    """Why the Redis that ``url`` names cannot be used now, or None if it answers.
    The reason never carries the URL's password."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as exc:
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
    return None


class Command(BaseCommand):
    help = "Run web server, worker, beat and partner simulators together, restarting any that dies."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--check-port",
            action="store_true",
            help="Only check that the web server's port is free and Redis, if configured, "
            "answers (`make run` asks first, before it migrates and loads the demo data).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = settings.BIND_HOST, settings.PORT
        # Before anything starts: a web server that cannot listen would leave
        # the worker and beat running with no platform in front of them.
        problem = bind_problem(host, port)
        if problem is not None:
            raise CommandError(
                f"Cannot listen on {host}:{port} ({problem}). Nothing was started. "
                "Stop what holds the port, or choose another with PORT=..."
            )
        # Redis that is down would leave the worker and beat retrying in the
        # log and /healthz failing, with nothing on the screen saying why.
        if settings.REDIS_URL:
            problem = _broker_problem(settings.REDIS_URL)
            if problem is not None:
                where = urlsplit(settings.REDIS_URL)
                raise CommandError(
                    f"Cannot reach the Redis REDIS_URL names ({where.hostname}:"
                    f"{where.port or 6379}): {problem}. Nothing was started. Start Redis "
                    "there, or leave REDIS_URL unset for the file-system broker in var/."
                )
        if options["check_port"]:
            return
        # One directory for every process's counted metrics, so /metrics shows
        # the worker's task latency beside the web server's requests.
        metrics_dir = settings.VAR_DIR / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
        children = [
            Child(
                "web",
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "python:config.gunicorn",
                    "config.wsgi:application",
                ],
                essential=True,
            ),
            Child(
                "worker",
                [
                    *CELERY,
                    "worker",
                    "--loglevel=INFO",
                    "--concurrency=2",
                    "-Q",
                    "default,handoffs,dispatch,maintenance",
                    "-n",
                    "local@%h",
                ],
            ),
            Child("beat", [*CELERY, "beat", "--loglevel=INFO"]),
            # Partner simulators (1813, hospital, GPs, home nursing) on 127.0.0.1.
            Child("partners", [sys.executable, "manage.py", "partner_simulators", "--send-demo"]),
        ]
        children.extend(_audit_log_children(host, port))
        if settings.OIDC_DEMO_PROVIDER:
            children.append(_demo_identity_provider())
        for child in children:
            child.cwd = settings.BASE_DIR

        address = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        users = [u for u, *_ in STAFF] + [f"nurse1 … nurse{NURSE_COUNT}"]
        self.stdout.write(self.style.SUCCESS(f"\nTværakut is at {address}"))
        self.stdout.write(f"Demo logins (password '{DEMO_PASSWORD}'): {', '.join(users)}")
        self.stdout.write(
            f"Each demo login then asks for a code: TOTP key {DEMO_TOTP_KEY} in an app,"
            " or `DEPLOYMENT=local .venv/bin/python manage.py demo_code`"
        )
        if settings.OIDC_DEMO_PROVIDER:
            self.stdout.write(
                "Demo identity provider: 'Log ind med Demo-IdP' on the login page; accounts "
                + ", ".join(DEMO_IDP_ACCOUNTS)
            )
        self.stdout.write(
            f"Health: {address}/healthz   FHIR: {address}/fhir/metadata   "
            f"Metrics: {address}/metrics\n"
        )
        if Supervisor(children, out=self.stdout).run() != 0:
            raise CommandError("The web server could not stay up; every process has been stopped.")
