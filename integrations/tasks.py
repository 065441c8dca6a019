"""Celery tasks of the hand-offs: they take ids, load, and call a service."""

from __future__ import annotations

from celery import shared_task

from integrations.outbox import DELIVER_TASK, SWEEP_TASK, outbox_deliver, outbox_sweep


@shared_task(name=DELIVER_TASK)
def outbox_deliver_task(message_pks: list[int] | int) -> dict[int, str]:
    """Deliver a batch of messages (a single id is accepted too)."""
    pks = [message_pks] if isinstance(message_pks, int) else list(message_pks)
    return outbox_deliver(message_pks=pks)


@shared_task(name=SWEEP_TASK)
def outbox_sweep_task() -> int:
    return len(outbox_sweep())
