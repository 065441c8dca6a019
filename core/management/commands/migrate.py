"""``manage.py migrate``, run as the database's owner when two roles are
configured (``DATABASE_OWNER_URL``); afterwards the platform's role is granted
its rights on every table (``core.dbroles``). With one role, Django's own.
A PostgreSQL database that does not exist yet is created first, before the
system checks that would connect to it."""

from __future__ import annotations

from typing import Any

from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import DEFAULT_DB_ALIAS

from core.dbroles import act_as_owner, database_ensure


class Command(MigrateCommand):
    def execute(self, *args: Any, **options: Any) -> str | None:
        if options.get("database", DEFAULT_DB_ALIAS) == DEFAULT_DB_ALIAS:
            act_as_owner()
            if database_ensure():
                self.stderr.write("Created the database.")
        return super().execute(*args, **options)
