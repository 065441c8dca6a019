from __future__ import annotations

from celery import shared_task

from core.services.idempotency_keys import idempotency_keys_prune
from core.services.tokens import tokens_prune


@shared_task(name="core.tokens_prune")
def tokens_prune_task() -> int:
    return tokens_prune()


@shared_task(name="core.idempotency_keys_prune")
def idempotency_keys_prune_task() -> int:
    return idempotency_keys_prune()
