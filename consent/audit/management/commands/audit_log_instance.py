"""``manage.py audit_log_instance``: print this database's log by its random
name (``consent.audit.log.log_instance``). `make run` keeps the state of the
witness it starts under this name, one per database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from consent.audit.log import log_instance


class Command(BaseCommand):
    help = "Print the random name of this database's audit log."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(log_instance())
