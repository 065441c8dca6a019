"""``manage.py audit_sequence``: the audit log's sequencer (docs/audit.md).

Runs until stopped (SIGTERM or SIGINT finish the batch in hand). A second one
started beside it waits, and takes over when the first ends. ``--once``
places what waits now and returns (for tests and for catching up by hand).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from consent.audit.log import checkpoint_latest, sequence_batch
from consent.audit.models import PendingEntry
from consent.audit.sequencer import lock_check, sequencer_lock, sequencer_run
from core.supervisor import stop_on_signals

_HEALTHY = dt.timedelta(minutes=2)


class Command(BaseCommand):
    help = "Give waiting audit entries their positions in the log and sign checkpoints."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Place what waits now, then stop.")
        parser.add_argument(
            "--health",
            action="store_true",
            help="Exit 1 unless a checkpoint was signed within two minutes (or nothing waits).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["health"]:
            latest = checkpoint_latest()
            fresh = latest is not None and timezone.now() - latest.signed_at < _HEALTHY
            if not fresh and PendingEntry.objects.exists():
                raise CommandError("no checkpoint signed for two minutes while entries wait")
            return
        stopping = stop_on_signals()
        self.stdout.write("audit sequencer: waiting for the sequencer lock")
        self.stdout.flush()
        with sequencer_lock():
            self.stdout.write("audit sequencer: holding the lock")
            self.stdout.flush()
            if options["once"]:
                placed = 0
                while batch := sequence_batch(check=lock_check):
                    placed += batch
                self.stdout.write(f"placed {placed} entries")
                return
            sequencer_run(stop=stopping)
