"""``manage.py audit_checkpoint [--file PATH]``: verify the log, then append its
head (position and chain hash) to the checkpoint file.

Run it regularly from the operator's own account, with the file where the
platform's processes and the database's owner cannot write
(``AUDIT_CHECKPOINT_FILE``); ``audit_verify`` then catches a log whose newest
entries were cut off and whose head was moved back. Exits 1 when the log does
not verify or is behind the last checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from consent.audit.chain import chain_verify
from consent.audit.checkpoints import HeadCheckpoint, checkpoint_append
from core.errors import PlatformError


class Command(BaseCommand):
    help = "Verify the audit log and append its head to the checkpoint file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", default=None, help="default AUDIT_CHECKPOINT_FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        from django.utils import timezone

        configured = options["file"] or settings.AUDIT_CHECKPOINT_FILE
        if not configured:
            raise CommandError("No checkpoint file: set AUDIT_CHECKPOINT_FILE or give --file.")
        path = Path(configured)
        try:
            result = chain_verify(checkpoint_file=path)
            if not result.ok:
                raise CommandError(f"Not checkpointed: {result.describe()}")
            assert result.head_seq is not None and result.last_hash is not None
            seq = result.head_seq
            checkpoint = HeadCheckpoint(seq=seq, hash=result.last_hash, written_at=timezone.now())
            written = checkpoint_append(path, checkpoint)
        except PlatformError as exc:
            raise CommandError(exc.message) from None
        if written:
            self.stdout.write(f"Checkpoint at entry {seq} written to {path}.")
        else:
            self.stdout.write(f"The head is still at entry {seq}, as at the last checkpoint.")
