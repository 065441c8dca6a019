"""The beat schedule, in code. Each entry says what it is for.

| job | every | why |
|---|---|---|
| ``core.tokens_prune`` | hour | expired API tokens are deleted a day after expiry |
| ``acute.clinical.medication_orders_watch`` | 5 min | R8: remind of unconfirmed phone orders, |
| | | escalate overdue ones, flag unsent prescriptions |
| ``consent.audit.flags_scan`` | minute | R9: raise auditors' flags (break-the-glass, denied, |
| | | off shift, many citizens, no agreement) on new entries |
| ``consent.audit.partitions_ensure`` | day | monthly partitions of the audit log exist |
| | | ``AUDIT_PARTITION_MONTHS_AHEAD`` months ahead |
| ``integrations.outbox_sweep`` | 15 s | hand-offs unsent, stuck or unacknowledged |
| ``acute.deadline_watch`` | minute | R10: warn before a deadline is missed, then escalate |
| ``acute.visits_expire_unanswered`` | minute | assignments not accepted in time move on |
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

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "tokens-prune": {"task": "core.tokens_prune", "schedule": 3600.0},
    "clinical-medication-orders-watch": {
        "task": "acute.clinical.medication_orders_watch",
        "schedule": 300.0,
    },
    "outbox-sweep": {
        "task": "integrations.outbox_sweep",
        "schedule": OUTBOX_SWEEP_SECONDS,
        # A sweep that waited longer than its interval is replaced by the next one.
        "options": {"expires": OUTBOX_SWEEP_SECONDS},
    },
    "audit-flags-scan": {
        "task": "consent.audit.flags_scan",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    "audit-partitions-ensure": {"task": "consent.audit.partitions_ensure", "schedule": 86400.0},
    "acute-deadline-watch": {
        "task": "acute.deadline_watch",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    "acute-visits-expire-unanswered": {
        "task": "acute.visits_expire_unanswered",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    "cabinet-watch-low-stock": {
        "task": "medicine_cabinet.watch_low_stock",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    "cabinet-watch-expiry": {
        "task": "medicine_cabinet.watch_expiry",
        "schedule": 21600.0,
        "options": {"expires": 21600.0},
    },
    "cabinet-watch-counts": {
        "task": "medicine_cabinet.watch_counts",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
}
