"""Forgetting the ``Idempotency-Key`` claims of writes answered long ago
(``core.idempotency`` writes them)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from core.models import IDEMPOTENCY_KEY_KEPT, IdempotencyKey


def idempotency_keys_prune(*, now: dt.datetime | None = None) -> int:
    """Forget the Idempotency-Keys of writes answered more than a day ago."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_KEY_KEPT
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
