"""``manage.py audit_verify [--from DATE] [--to DATE] [--checkpoint FILE]``: check
the hash chain, and (for the whole log) the transparency log: the stored
tree must give the newest signed checkpoint's root, and no witness may have
refused a checkpoint.

The whole log must also pass through the last head checkpoint
(``AUDIT_CHECKPOINT_FILE``, written by ``audit_checkpoint``): a log whose
newest entries were cut off and whose head was moved back is caught there.
Exits 0 when intact; otherwise names the first broken entry and exits 1.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from consent.audit.chain import chain_verify
from consent.audit.log import checkpoint_latest, tree_verify
from consent.audit.models import LogCosignature
from consent.audit.selectors import parse_instant
from core.errors import InvalidInput, PlatformError


class Command(BaseCommand):
    help = "Verify the audit log's hash chain (whole log, or entries recorded in [from, to))."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="since", help="ISO date or date-time (inclusive)")
        parser.add_argument("--to", dest="until", help="ISO date (inclusive day) or date-time")
        parser.add_argument(
            "--checkpoint", default=None, help="checkpoint file (default AUDIT_CHECKPOINT_FILE)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            since = parse_instant(options["since"], "from") if options["since"] else None
            until = parse_instant(options["until"], "to", end=True) if options["until"] else None
        except InvalidInput as exc:
            raise CommandError(exc.message) from None
        started = time.perf_counter()
        checkpoint_file = Path(options["checkpoint"]) if options["checkpoint"] else None
        try:
            result = chain_verify(since=since, until=until, checkpoint_file=checkpoint_file)
        except PlatformError as exc:
            raise CommandError(exc.message) from None
        elapsed = time.perf_counter() - started
        rate = f" in {elapsed:.2f} s ({result.checked / elapsed:,.0f}/s)" if result.checked else ""
        if not result.ok:
            raise CommandError(result.describe())
        self.stdout.write(result.describe() + rate)
        whole = since is None and until is None
        if whole:
            self._tree()
        if whole and result.checkpoint is None:
            self.stdout.write(
                "No head checkpoint to compare with (AUDIT_CHECKPOINT_FILE, audit_checkpoint): "
                "a cut-off tail would not show."
            )

    def _tree(self) -> None:
        """The transparency log: the stored tree against its newest signed
        checkpoint, and whether a witness has cosigned that checkpoint."""
        ok, message = tree_verify()
        if not ok:
            raise CommandError(f"The transparency log is BROKEN: {message}")
        self.stdout.write(f"Transparency log OK: {message}")
        latest = checkpoint_latest()
        if latest is not None:
            witnessed = LogCosignature.objects.filter(
                checkpoint__log=latest.log, checkpoint__size=latest.size, refused=False
            ).exists()
            if not witnessed:
                self.stdout.write("No witness has cosigned a checkpoint of this size yet.")
        refusals = LogCosignature.objects.filter(refused=True).count()
        if refusals:
            raise CommandError(f"Witnesses have refused {refusals} checkpoint(s) of the log.")
