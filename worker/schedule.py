"""The beat schedule, in code. Each entry says what it is for.

| job | every | why |
|---|---|---|
| ``core.tokens_prune`` | hour | expired API tokens are deleted a day after expiry |
| ``acute.clinical.medication_orders_watch`` | 5 min | R8: remind the physician of unconfirmed phone orders, escalate overdue ones, flag unsent prescriptions |
| ``consent.audit.flags_scan`` | minute | R9: raise auditors' flags (break-the-glass, denied, off shift, many citizens, no agreement) on new log entries |
| ``consent.audit.partitions_ensure`` | day | the audit log's monthly partitions exist ``AUDIT_PARTITION_MONTHS_AHEAD`` months ahead |
| ``integrations.outbox_sweep`` | 15 s | hand-offs unsent, stuck or unacknowledged |
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "tokens-prune": {"task": "core.tokens_prune", "schedule": 3600.0},
    "clinical-medication-orders-watch": {
        "task": "acute.clinical.medication_orders_watch",
        "schedule": 300.0,
    },
    "outbox-sweep": {
        "task": "integrations.outbox_sweep",
        "schedule": float(settings.INTEGRATIONS_SWEEP_SECONDS),
        # A sweep that waited longer than its interval is replaced by the next one.
        "options": {"expires": float(settings.INTEGRATIONS_SWEEP_SECONDS)},
    },
    "audit-flags-scan": {
        "task": "consent.audit.flags_scan",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    "audit-partitions-ensure": {"task": "consent.audit.partitions_ensure", "schedule": 86400.0},
}
