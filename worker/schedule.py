"""The beat schedule, in code. Each entry says what it is for.

| job | every | why |
|---|---|---|
| ``core.tokens_prune`` | hour | expired API tokens are deleted a day after expiry |
| ``core.idempotency_keys_prune`` | hour | writes' Idempotency-Keys are forgotten after a day |
| ``acute.clinical.medication_orders_watch`` | 5 min | R8: remind of unconfirmed phone orders, |
| | | escalate overdue ones, flag unsent prescriptions |
| ``consent.audit.flags_scan`` | minute | R9: raise auditors' flags (break-the-glass, denied, |
| | | off shift, many citizens, no agreement) on new entries |
| ``consent.audit.partitions_ensure`` | day | monthly partitions of the audit log exist |
| | | ``AUDIT_PARTITION_MONTHS_AHEAD`` months ahead |
| ``integrations.outbox_sweep`` | 15 s | hand-offs unsent, stuck or unacknowledged |
| ``acute.deadline_watch`` | minute | R10: warn before a deadline is missed, then escalate |
| ``acute.visits_expire_unanswered`` | minute | assignments not accepted in time move on |
| ``acute.planned_dispatch`` | minute | R10: a referral planned for later is sent a nurse |
| | | when its hour comes (with ``ACUTE_AUTO_ASSIGN``) |
| ``medicine_cabinet.watch_low_stock`` | hour | R8: usable stock below the minimum |
| ``medicine_cabinet.watch_expiry`` | 6 hours | R8: lots expiring within 30/60/90 days |
| ``medicine_cabinet.watch_counts`` | hour | R8: cabinets and bags with an overdue count |
"""

from __future__ import annotations

import os
from typing import Any

# Read from the environment, not from django.conf.settings: config/__init__.py
# imports the Celery app, so reading settings here would be circular. The value
# is validated (whole number, 1..3600) where config/settings.py reads it.
OUTBOX_SWEEP_SECONDS = float(os.environ.get("INTEGRATIONS_SWEEP_SECONDS", "").strip() or 15)

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


def every(seconds: float, task: str) -> dict[str, Any]:
    """``task`` every ``seconds``."""
    return {"task": task, "schedule": seconds}


def every_or_skip(seconds: float, task: str) -> dict[str, Any]:
    """``task`` every ``seconds``; a run that waited longer than that is dropped,
    since the next one does the same work."""
    return {**every(seconds, task), "options": {"expires": seconds}}


BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "tokens-prune": every(HOUR, "core.tokens_prune"),
    "idempotency-keys-prune": every(HOUR, "core.idempotency_keys_prune"),
    "clinical-medication-orders-watch": every(5 * MINUTE, "acute.clinical.medication_orders_watch"),
    "outbox-sweep": every_or_skip(OUTBOX_SWEEP_SECONDS, "integrations.outbox_sweep"),
    "audit-flags-scan": every_or_skip(MINUTE, "consent.audit.flags_scan"),
    "audit-partitions-ensure": every(DAY, "consent.audit.partitions_ensure"),
    "acute-deadline-watch": every_or_skip(MINUTE, "acute.deadline_watch"),
    "acute-visits-expire-unanswered": every_or_skip(MINUTE, "acute.visits_expire_unanswered"),
    "acute-planned-dispatch": every_or_skip(MINUTE, "acute.planned_dispatch"),
    "cabinet-watch-low-stock": every_or_skip(HOUR, "medicine_cabinet.watch_low_stock"),
    "cabinet-watch-expiry": every_or_skip(6 * HOUR, "medicine_cabinet.watch_expiry"),
    "cabinet-watch-counts": every_or_skip(HOUR, "medicine_cabinet.watch_counts"),
}
