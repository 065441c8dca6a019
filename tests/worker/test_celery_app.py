"""The Celery app: JSON only, late acknowledgement, queues by concern, limits from settings."""

from django.conf import settings

from worker.celery import QUEUES, app
from worker.schedule import BEAT_SCHEDULE


def test_tasks_are_json_acknowledged_late_and_requeued_if_the_worker_dies() -> None:
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True


def test_time_limits_come_from_settings() -> None:
    assert app.conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT
    assert app.conf.task_soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT


def test_tasks_are_routed_to_their_concern() -> None:
    assert set(QUEUES) >= {"handoffs", "dispatch", "maintenance"}
    router = app.amqp.router

    def queue_of(name: str) -> str:
        return str(router.route({}, name)["queue"].name)

    assert queue_of("integrations.deliver") == "handoffs"
    assert queue_of("acute.deadline_watch") == "dispatch"
    assert queue_of("core.tokens_prune") == "maintenance"


def test_every_beat_job_names_a_registered_task() -> None:
    app.loader.import_default_modules()
    for name, entry in BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name
