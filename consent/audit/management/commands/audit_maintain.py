"""``manage.py audit_maintain``: create upcoming partitions and raise pending flags now."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from consent.audit.flags import flags_scan
from consent.audit.partitions import partitions_ensure


class Command(BaseCommand):
    help = "Create the audit log's upcoming monthly partitions and scan new entries for flags."

    def handle(self, *args: Any, **options: Any) -> None:
        created = partitions_ensure(months_ahead=settings.AUDIT_PARTITION_MONTHS_AHEAD)
        self.stdout.write(f"partitions created: {', '.join(created) or 'none'}")
        self.stdout.write(f"flags raised: {flags_scan()}")
