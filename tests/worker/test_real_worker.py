"""A real worker process, fed through Redis, on the test database."""

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from core.models import ApiToken, Role
from core.tasks import tokens_prune_task
from tests import factories as f
from tests.conftest import start_worker, stop_worker, wait_for
from worker.celery import app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_task_sent_through_redis_is_run_by_the_worker_and_its_effect_committed(
    celery_worker,
) -> None:
    membership = f.staff(Role.COORDINATOR, f.acute_function())
    f.token_for(membership)
    stale = ApiToken.objects.get(membership=membership)
    stale.expires_at = timezone.now() - dt.timedelta(days=3)
    stale.save()
    fresh_raw = f.token_for(membership)
    assert fresh_raw

    tokens_prune_task.delay()

    assert wait_for(lambda: not ApiToken.objects.filter(pk=stale.pk).exists())
    assert ApiToken.objects.filter(membership=membership).count() == 1


def test_time_limits_are_enforced_by_the_worker(tmp_path: Path) -> None:
    """Soft limit: the task is told and can stop cleanly. Hard limit: it is killed."""
    # Its own queue, so no other test worker takes these tasks.
    worker = start_worker(
        tmp_path,
        "limits",
        queues="probe-limits",
        CELERY_TASK_TIME_LIMIT="3",
        CELERY_TASK_SOFT_TIME_LIMIT="1",
    )
    try:
        soft = tmp_path / "soft"
        hard = tmp_path / "hard"
        soft.mkdir()
        hard.mkdir()
        app.send_task("tests.probe_sleep", args=[str(soft), 10.0], queue="probe-limits")
        app.send_task("tests.probe_sleep", args=[str(hard), 10.0, True], queue="probe-limits")
        assert wait_for(lambda: (soft / "soft-limit").exists(), timeout=15)
        assert wait_for(lambda: (hard / "soft-limit").exists(), timeout=15)
        # The stubborn task is killed at the hard limit, long before its 10 s are up.
        assert wait_for(lambda: "TimeLimitExceeded" in worker.log.read_text(), timeout=15)
        assert not (hard / "finished").exists()
        assert not (soft / "finished").exists()
        assert worker.alive()
    finally:
        stop_worker(worker)
