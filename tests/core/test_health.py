"""/healthz: 200 only when database, broker and a worker all answer."""

import time

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_healthy_when_database_broker_and_worker_answer(client, celery_worker) -> None:
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "up",
        "broker": "up",
        "worker": "up",
    }


def test_unhealthy_when_the_broker_is_unreachable(client, settings) -> None:
    from worker.celery import app

    original = app.conf.broker_url
    # A closed port on this machine: nothing listens there.
    app.conf["broker_url"] = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf["broker_url"] = original
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "up"
    assert checks["broker"]["status"] == "down"
    assert checks["worker"]["status"] == "down"


@pytest.mark.integration
def test_unhealthy_at_once_when_the_broker_hangs(client, tmp_path) -> None:
    """A hung broker accepts connections and never answers: /healthz gives up
    within its probe's bound instead of waiting with it."""
    from tests.own_redis import OwnRedis
    from worker.celery import app
    from worker.health import PROBE_TIMEOUT_SECONDS

    redis = OwnRedis(tmp_path)
    redis.start()
    original = app.conf.broker_url
    app.conf["broker_url"] = redis.url
    try:
        with redis.hung():
            started = time.monotonic()
            response = client.get("/healthz")
            took = time.monotonic() - started
    finally:
        app.conf["broker_url"] = original
        redis.stop()
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "down"
    assert took < PROBE_TIMEOUT_SECONDS + 1.5
