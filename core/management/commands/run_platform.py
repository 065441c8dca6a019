"""Serve the platform for trying it out: web server, a Celery worker and the beat scheduler.

The worker and the scheduler run as separate processes, as in production;
without REDIS_URL they talk through the file-system broker.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from core.demo import DEMO_PASSWORD, NURSE_COUNT, STAFF

CELERY = [sys.executable, "-m", "celery", "-A", "worker.celery:app"]


class Command(BaseCommand):
    help = "Run web server, worker and beat together (development and demo)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args: Any, **options: Any) -> None:
        children = [
            subprocess.Popen(
                [
                    *CELERY,
                    "worker",
                    "--loglevel=INFO",
                    "--concurrency=2",
                    "-Q",
                    "default,handoffs,dispatch,maintenance",
                    "-n",
                    "local@%h",
                ]
            ),
            subprocess.Popen([*CELERY, "beat", "--loglevel=INFO"]),
            # Partner simulators (1813, hospital, GPs, home nursing) on 127.0.0.1.
            subprocess.Popen(
                [sys.executable, "manage.py", "partner_simulators", "--send-demo"],
                cwd=settings.BASE_DIR,
            ),
        ]

        def stop(*_: Any) -> None:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            deadline = time.monotonic() + 10
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()

        def stop_and_exit(*_: Any) -> None:
            stop()
            sys.exit(0)

        signal.signal(signal.SIGTERM, stop_and_exit)
        address = f"http://{options['host']}:{settings.PORT}"
        users = [u for u, *_ in STAFF] + [f"nurse1 … nurse{NURSE_COUNT}"]
        self.stdout.write(self.style.SUCCESS(f"\nTværakut is at {address}"))
        self.stdout.write(f"Demo logins (password '{DEMO_PASSWORD}'): {', '.join(users)}")
        self.stdout.write(f"Health: {address}/healthz   FHIR: {address}/fhir/metadata\n")
        try:
            call_command("runserver", f"{options['host']}:{settings.PORT}", use_reloader=False)
        finally:
            stop()
