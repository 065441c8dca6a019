from django.apps import AppConfig


class WorkerConfig(AppConfig):
    """The Celery application's place in Django: it tells /healthz how to ask
    after the broker, a worker and the queues. It holds no business logic."""

    name = "worker"
    label = "worker"
    verbose_name = "Worker"

    def ready(self) -> None:
        import worker.context  # noqa: F401  (each task runs in a context of its own)
        from core.metrics import register_metrics
        from worker.metrics import queue_metrics

        register_metrics("queues", queue_metrics)
        from core.health import register_health_check, register_health_detail
        from worker.health import broker_check, worker_check
        from worker.queues import queue_depths

        register_health_check("broker", broker_check)
        register_health_check("worker", worker_check, needs="broker")
        register_health_detail("queues", queue_depths, needs="broker")
