"""Celery tasks of the hand-offs: they take ids, load, and call a service."""

from __future__ import annotations

from celery import shared_task

from integrations.outbox import DELIVER_TASK, outbox_deliver, outbox_sweep


@shared_task(name=DELIVER_TASK)
def outbox_deliver_task(message_pk: int) -> str:
    return outbox_deliver(message_pk=message_pk)


@shared_task(name="integrations.outbox_sweep")
def outbox_sweep_task() -> int:
    return len(outbox_sweep())
