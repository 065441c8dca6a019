"""The Celery app.

Tasks live in each app's ``tasks.py`` and are found by autodiscovery. They are
routed by concern to their own queue, so a flood of hand-offs never delays the
deadline watch. Every task is acknowledged late and re-queued if its worker
dies, so delivery is at-least-once: tasks are written to be idempotent.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

from worker.schedule import BEAT_SCHEDULE

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

QUEUES = ("default", "handoffs", "dispatch", "maintenance")

# Task name prefix -> queue. Anything unlisted goes to "default".
ROUTES = {
    "integrations.*": {"queue": "handoffs"},
    "acute.*": {"queue": "dispatch"},
    "consent.*": {"queue": "maintenance"},
    "medicine_cabinet.*": {"queue": "maintenance"},
    "core.*": {"queue": "maintenance"},
}

app = Celery("tvaerakut")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_default_queue="default",
    task_queues=[Queue(name) for name in QUEUES],
    task_routes=ROUTES,
    broker_connection_retry_on_startup=True,
    broker_connection_timeout=3,
    beat_schedule=BEAT_SCHEDULE,
    timezone="UTC",
    enable_utc=True,
    worker_hijack_root_logger=False,
)
app.autodiscover_tasks()
