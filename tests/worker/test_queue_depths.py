"""The depth of each queue on /healthz, read from Redis: an empty queue is 0
(Redis keeps no list for it), a waiting task counts."""

import pytest

from worker.celery import QUEUES, app
from worker.health import probe_connection
from worker.queues import queue_depths

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _purge(queue: str) -> None:
    with probe_connection() as conn:
        conn.default_channel.queue_purge(queue)


def test_every_queue_has_a_depth_and_empty_ones_are_zero() -> None:
    for queue in QUEUES:
        _purge(queue)
    assert queue_depths() == dict.fromkeys(QUEUES, 0)

    # A worker another test of this process started (tests/conftest.py) stops
    # taking from the queue while it is counted, and takes from it again after.
    listening = bool(app.control.ping(timeout=0.5))
    if listening:
        app.control.cancel_consumer("maintenance", reply=True)
    try:
        for _ in range(2):
            app.send_task("tests.not_run", queue="maintenance")
        depths = queue_depths()
        assert depths["maintenance"] == 2
        assert all(depths[queue] == 0 for queue in QUEUES if queue != "maintenance")
    finally:
        _purge("maintenance")
        if listening:
            app.control.add_consumer("maintenance", reply=True)


def test_healthz_shows_the_depth_of_every_queue(client) -> None:
    queues = client.get("/healthz").json()["details"]["queues"]
    assert set(queues) == set(QUEUES)
    assert all(isinstance(depth, int) for depth in queues.values())
