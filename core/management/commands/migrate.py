"""``manage.py migrate``, run as the database's owner when two roles are
configured (``DATABASE_OWNER_URL``); afterwards the platform's role is granted
its rights on every table (``core.dbroles``). With one role, Django's own.
A PostgreSQL database that does not exist yet is created first, before the
system checks that would connect to it. A server that cannot be reached (or
refuses the login, or the database's creation) stops it with one line naming
the variable, not a traceback."""

from __future__ import annotations

from typing import Any

import psycopg
from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import DEFAULT_DB_ALIAS, DatabaseError

from core.dbroles import act_as_owner, database_ensure, database_unreachable


class Command(MigrateCommand):
    def execute(self, *args: Any, **options: Any) -> str | None:
        if options.get("database", DEFAULT_DB_ALIAS) == DEFAULT_DB_ALIAS:
            act_as_owner()
            try:
                created = database_ensure()
            except (DatabaseError, psycopg.Error) as exc:
                raise CommandError(database_unreachable(exc)) from None
            if created:
                self.stderr.write("Created the database.")
        return super().execute(*args, **options)
