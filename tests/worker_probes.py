"""Tasks loaded only into the test workers (``-I tests.worker_probes``) to prove
worker behaviour: time limits and the like. They write to files, not the database."""

from __future__ import annotations

import time
from pathlib import Path

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded


@shared_task(name="tests.probe_sleep")
def probe_sleep(marker_dir: str, seconds: float, ignore_soft_limit: bool = False) -> None:
    folder = Path(marker_dir)
    (folder / "started").write_text("1")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            time.sleep(0.05)
        except SoftTimeLimitExceeded:
            (folder / "soft-limit").write_text("1")
            if not ignore_soft_limit:
                return
    (folder / "finished").write_text("1")


@shared_task(name="tests.probe_request_id")
def probe_request_id(marker_dir: str) -> None:
    """Writes the request id the task runs under, read twice."""
    from core.context import current_context

    first = current_context().request_id
    time.sleep(0.05)
    (Path(marker_dir) / "request_id").write_text(f"{first} {current_context().request_id}")
