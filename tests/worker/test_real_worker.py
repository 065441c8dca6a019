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


def test_a_task_runs_under_the_request_id_of_the_request_that_sent_it(
    celery_worker, tmp_path: Path
) -> None:
    """What a request sets going (a hand-off, a re-plan) is recorded and
    logged under the id the request was answered with; a task sent from
    elsewhere runs under one background id of its own, the same throughout."""
    from core.context import RequestContext, request_context

    sent_by_request, sent_by_beat, sent_again = (tmp_path / n for n in ("req", "beat", "again"))
    for folder in (sent_by_request, sent_by_beat, sent_again):
        folder.mkdir()
    with request_context(RequestContext(request_id="nurse-req-000042")):
        app.send_task("tests.probe_request_id", args=[str(sent_by_request)])
    app.send_task("tests.probe_request_id", args=[str(sent_by_beat)])
    app.send_task("tests.probe_request_id", args=[str(sent_again)])

    def read(folder: Path) -> list[str]:
        marker = folder / "request_id"
        return marker.read_text().split() if marker.exists() else []

    assert wait_for(lambda: all(read(f) for f in (sent_by_request, sent_by_beat, sent_again)))
    assert read(sent_by_request) == ["nurse-req-000042", "nurse-req-000042"]
    first, second = read(sent_by_beat)
    assert first == second and first.startswith("bg-")
    assert read(sent_again)[0] != first
