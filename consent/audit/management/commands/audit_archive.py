"""``manage.py audit_archive --before YYYY-MM [--dir PATH]``: move old months out.

Each monthly partition that ends before the given month is, oldest first,
written to ``<dir>/<partition>.jsonl`` (one entry per line, hashes in hex),
recorded as an archive checkpoint, detached and dropped, as the database's
owner (``DATABASE_OWNER_URL``). ``audit_verify`` then
checks what remains starting from the last checkpoint.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from consent.audit.partitions import monthly_partitions, partition_archive
from core.dbroles import act_as_owner
from core.errors import PlatformError


class Command(BaseCommand):
    help = "Archive audit months before --before to files; the chain stays verifiable."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--before", required=True, help="YYYY-MM: archive months before this one"
        )
        parser.add_argument(
            "--dir", default=None, help="Target directory (default AUDIT_ARCHIVE_DIR)"
        )
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            before = dt.datetime.strptime(options["before"], "%Y-%m").date()
        except ValueError:
            raise CommandError("--before must look like 2026-01.") from None
        this_month = timezone.now().date().replace(day=1)
        if before > this_month:
            # Every month before it would include this one, still written to.
            raise CommandError(
                f"--before may be this month ({this_month:%Y-%m}) at the latest: "
                "a month is archived once it is over."
            )
        directory = Path(options["dir"] or settings.AUDIT_ARCHIVE_DIR)
        # Detaching and dropping a month is the owner's work, never the platform's.
        act_as_owner()
        due = [name for name, month in monthly_partitions() if month < before]
        if not due:
            self.stdout.write("Nothing to archive.")
            return
        for name in due:
            if options["dry_run"]:
                self.stdout.write(f"would archive {name}")
                continue
            try:
                done = partition_archive(partition=name, directory=directory)
            except PlatformError as exc:
                raise CommandError(f"{name}: {exc.message}") from None
            self.stdout.write(f"archived {done.partition}: {done.rows} entries -> {done.file}")
