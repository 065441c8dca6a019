"""Celery's figures for ``/metrics``: queue depth read from the broker at scrape
time, and task latency per queue counted as tasks run.

Each task is stamped with the time it was published; the worker observes how
long it waited in its queue and how long it ran. The worker's processes write
to ``PROMETHEUS_MULTIPROC_DIR``: under ``make run`` the web server reads the
same directory, so ``/metrics`` shows them; a worker on a machine of its own
serves them itself on ``WORKER_METRICS_PORT``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun, worker_ready
from django.conf import settings
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess, start_http_server
from prometheus_client.core import Metric

from core.metrics import LATENCY_BUCKETS, gauge, multiprocess_dir
from worker.queues import queue_depths

logger = logging.getLogger(__name__)

PUBLISHED_AT = "tvaerakut_published_at"

TASK_WAIT = Histogram(
    "tvaerakut_task_queue_wait_seconds",
    "Time from publishing a task to a worker starting it, by queue.",
    ["queue"],
    buckets=(*LATENCY_BUCKETS, 30.0, 60.0, 300.0),
)
TASK_RUN = Histogram(
    "tvaerakut_task_duration_seconds",
    "Time a task ran, by queue and task.",
    ["queue", "task"],
    buckets=(*LATENCY_BUCKETS, 30.0, 60.0, 300.0),
)
TASKS = Counter(
    "tvaerakut_tasks",
    "Tasks finished, by queue, task and state.",
    ["queue", "task", "state"],
)

_started: dict[str, tuple[float, str]] = {}


def queue_metrics() -> Iterator[Metric]:
    yield gauge(
        "tvaerakut_celery_queue_depth",
        "Messages waiting in each Celery queue.",
        ["queue"],
        dict(queue_depths()),
    )


def _queue_of(task: Any) -> str:
    delivery = getattr(task.request, "delivery_info", None) or {}
    return str(delivery.get("routing_key") or "default")


@before_task_publish.connect(dispatch_uid="tvaerakut-metrics-publish")
def _stamp(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is not None:
        headers[PUBLISHED_AT] = time.time()


@task_prerun.connect(dispatch_uid="tvaerakut-metrics-prerun")
def _task_started(task_id: str = "", task: Any = None, **_: Any) -> None:
    if task is None:
        return
    queue = _queue_of(task)
    published = task.request.get(PUBLISHED_AT)
    if isinstance(published, int | float):
        TASK_WAIT.labels(queue).observe(max(0.0, time.time() - published))
    _started[task_id] = (time.perf_counter(), queue)


@task_postrun.connect(dispatch_uid="tvaerakut-metrics-postrun")
def _task_finished(task_id: str = "", task: Any = None, state: str = "", **_: Any) -> None:
    started = _started.pop(task_id, None)
    if task is None or started is None:
        return
    began, queue = started
    TASK_RUN.labels(queue, task.name).observe(time.perf_counter() - began)
    TASKS.labels(queue, task.name, state or "UNKNOWN").inc()


@worker_ready.connect(dispatch_uid="tvaerakut-metrics-serve")
def _serve(**_: Any) -> None:
    port = settings.WORKER_METRICS_PORT
    directory = multiprocess_dir()
    if not port or not directory:
        return
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    start_http_server(port, addr=settings.WORKER_METRICS_ADDR, registry=registry)
    logger.info("worker metrics on port %s", port)
