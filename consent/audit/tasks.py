"""Periodic work on the audit log: flags for auditors, partitions ahead of time."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from consent.audit.flags import flags_scan
from consent.audit.partitions import partitions_ensure


@shared_task(name="consent.audit.flags_scan")
def audit_flags_scan() -> int:
    return flags_scan()


@shared_task(name="consent.audit.partitions_ensure")
def audit_partitions_ensure() -> list[str]:
    return partitions_ensure(months_ahead=settings.AUDIT_PARTITION_MONTHS_AHEAD)
