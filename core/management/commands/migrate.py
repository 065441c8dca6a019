"""``manage.py migrate``, run as the database's owner when two roles are
configured (``DATABASE_OWNER_URL``); afterwards the platform's role is granted
its rights on every table (``core.dbroles``). With one role, Django's own."""

from __future__ import annotations

from typing import Any

from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import DEFAULT_DB_ALIAS

from core.dbroles import act_as_owner


class Command(MigrateCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        if options["database"] == DEFAULT_DB_ALIAS:
            act_as_owner()
        super().handle(*args, **options)
