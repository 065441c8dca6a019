"""Handing outbox rows to the Celery workers.

The delivery task is sent by its name, so the outbox needs nothing from
:mod:`integrations.tasks` (which calls the outbox). Routing by name sends it
to the ``handoffs`` queue (``worker/celery.py``).
"""

from __future__ import annotations

import logging

from celery import current_app
from kombu.exceptions import OperationalError as BrokerUnavailable

log = logging.getLogger(__name__)

DELIVER_TASK = "integrations.outbox_deliver"
SWEEP_TASK = "integrations.outbox_sweep"
# Messages one delivery task claims, POSTs and records together: two short
# transactions per batch instead of per message. Small enough that a burst is
# spread over every worker process and a lease covers the batch's POSTs.
DELIVERY_BATCH = 25


def deliver_later(message_pks: list[int], *, countdown: float | None = None) -> None:
    """Hand the messages to Celery, a batch per task; if the broker is
    unreachable the rows wait for the sweeper, and the event that caused them
    stays committed."""
    for first in range(0, len(message_pks), DELIVERY_BATCH):
        chunk = message_pks[first : first + DELIVERY_BATCH]
        try:
            current_app.send_task(
                DELIVER_TASK, args=(chunk,), countdown=countdown or 0.0, retry=False
            )
        except (BrokerUnavailable, OSError) as exc:
            log.warning(
                "broker unreachable (%s); %d outbound message(s), each waits for the sweeper",
                type(exc).__name__,
                len(message_pks) - first,
            )
            return
