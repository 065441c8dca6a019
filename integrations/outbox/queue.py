"""Handing outbox rows to the Celery workers.

The outbox row is the promise: it is committed with the event that caused it,
and the sweeper (:mod:`integrations.outbox.sweep`, every
``INTEGRATIONS_SWEEP_SECONDS``) sends every pending row that is due. Handing
the ids to a worker at once is only a shortcut, so it is allowed a short,
bounded time and one try: with the broker down or hung, the request that
wrote the row answers at once and the row waits for the sweeper. Celery's own
producer would instead retry the connection for several seconds
(``docs/decisions/0011-a-request-never-waits-for-the-broker.md``).

The delivery task is sent by its name, so the outbox needs nothing from
:mod:`integrations.tasks` (which calls the outbox). Routing by name sends it
to the ``handoffs`` queue (``worker/celery.py``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from celery import current_app
from kombu.exceptions import LimitExceeded
from kombu.exceptions import OperationalError as BrokerUnavailable
from kombu.pools import ProducerPool

log = logging.getLogger(__name__)

DELIVER_TASK = "integrations.outbox_deliver"
SWEEP_TASK = "integrations.outbox_sweep"
# Messages one delivery task claims, POSTs and records together: two short
# transactions per batch instead of per message. Small enough that a burst is
# spread over every worker process and a lease covers the batch's POSTs.
DELIVERY_BATCH = 25
# The longest one hand-over may wait for the broker: connecting, and each
# read or write on the socket. A broker on the same network answers in
# milliseconds; one that does not within this time is treated as down.
PUBLISH_TIMEOUT_SECONDS = 0.5
# After a failed hand-over this process leaves new rows to the sweeper for a
# while instead of paying the timeout again on every request (a hung broker
# accepts connections and then never answers).
PUBLISH_PAUSE_SECONDS = 5.0


class _Publisher:
    """This process's producers, on connections that try once and give up
    after :data:`PUBLISH_TIMEOUT_SECONDS`. Made again after a fork (gunicorn
    and the prefork pool fork after import) or when the broker changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._made_for: tuple[int, str] = (0, "")
        self._pool: ProducerPool | None = None
        self.paused_until = 0.0

    def pool(self) -> ProducerPool:
        made_for = (os.getpid(), str(current_app.conf.broker_write_url or ""))
        with self._lock:
            if self._pool is None or self._made_for != made_for:
                connection = current_app.connection_for_write(
                    connect_timeout=PUBLISH_TIMEOUT_SECONDS,
                    transport_options={
                        # kombu: one connection attempt, no retry loop.
                        "max_retries": 0,
                        # redis-py: bounded connect, reads and writes.
                        "socket_connect_timeout": PUBLISH_TIMEOUT_SECONDS,
                        "socket_timeout": PUBLISH_TIMEOUT_SECONDS,
                    },
                )
                limit = current_app.conf.broker_pool_limit or 10
                self._pool = ProducerPool(
                    connection.Pool(limit=limit), limit=limit, Producer=current_app.amqp.Producer
                )
                self._made_for = made_for
                self.paused_until = 0.0
            return self._pool

    def paused(self) -> bool:
        self.pool()  # a fresh pool (after a fork, or for another broker) is not paused
        return time.monotonic() < self.paused_until

    def send(self, name: str, *, args: tuple[Any, ...], countdown: float) -> None:
        with self.pool().acquire(block=True, timeout=PUBLISH_TIMEOUT_SECONDS) as producer:
            current_app.send_task(
                name, args=args, countdown=countdown, producer=producer, retry=False
            )


_publisher = _Publisher()


def deliver_later(message_pks: list[int], *, countdown: float | None = None) -> None:
    """Hand the messages to Celery, a batch per task. If the broker does not
    take them within :data:`PUBLISH_TIMEOUT_SECONDS` the rows wait for the
    sweeper, and the event that caused them stays committed: this never
    raises for the broker, and no try waits longer than that."""
    if not message_pks:
        return
    if _publisher.paused():
        log.info(
            "broker recently unreachable; %d outbound message(s) wait for the sweeper",
            len(message_pks),
        )
        return
    for first in range(0, len(message_pks), DELIVERY_BATCH):
        chunk = message_pks[first : first + DELIVERY_BATCH]
        try:
            _publisher.send(DELIVER_TASK, args=(chunk,), countdown=countdown or 0.0)
        except (BrokerUnavailable, LimitExceeded, OSError) as exc:
            _publisher.paused_until = time.monotonic() + PUBLISH_PAUSE_SECONDS
            log.warning(
                "broker unreachable (%s); %d outbound message(s), each waits for the sweeper",
                type(exc).__name__,
                len(message_pks) - first,
            )
            return
