"""/healthz: 200 only when database, broker and a worker all answer."""

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
