"""``manage.py audit_verify [--from DATE] [--to DATE]``: check every entry (or
those recorded in [from, to)) against the transparency log: its content
against its digest, and its leaf against the one stored at its place in the
tree (or that it is still waiting for its place). For the whole log also each
year's tree against its newest signed checkpoint, that no placed or waiting
entry is gone, and that no witness has refused a checkpoint.

Exits 0 when intact; otherwise names the first broken entry and exits 1.
A ``--from`` or ``--to`` that is no time, or a range that ends before it
starts, is refused with the API's message and code and exits 2, as argparse
does for a bad argument: never 1, which says the log is broken.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from consent.audit.models import LogCosignature
from consent.audit.selectors import parse_time_range
from consent.audit.verify import log_verify
from core.errors import InvalidInput
from core.messages import user_message

# As argparse's exit for a bad argument (and audit_prove's for an id that is none).
EXIT_BAD_ARGUMENT = 2


class Command(BaseCommand):
    help = "Verify the audit log against its transparency log (whole log, or [from, to))."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--from",
            dest="since",
            help="ISO date or date-time (inclusive; without an offset, Copenhagen time)",
        )
        parser.add_argument("--to", dest="until", help="ISO date (inclusive day) or date-time")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            since, until = parse_time_range(options["since"], options["until"], local=True)
        except InvalidInput as exc:
            with translation.override(settings.LANGUAGE_CODE):
                message = user_message(exc)
            raise CommandError(f"{message} ({exc.code})", returncode=EXIT_BAD_ARGUMENT) from None
        started = time.perf_counter()
        result = log_verify(since=since, until=until)
        elapsed = time.perf_counter() - started
        if not result.ok:
            raise CommandError(result.describe())
        rate = f" in {elapsed:.2f} s ({result.checked / elapsed:,.0f}/s)" if result.checked else ""
        self.stdout.write(result.describe().rstrip(".") + rate + ".")
        for line in result.trees:
            self.stdout.write(f"Transparency log OK: {line}")
        for checkpoint in result.checkpoints:
            witnessed = LogCosignature.objects.filter(
                checkpoint__log=checkpoint.log, checkpoint__size=checkpoint.size, refused=False
            ).exists()
            if not witnessed:
                self.stdout.write(
                    f"No witness has cosigned {checkpoint.log} at {checkpoint.size} entries yet."
                )
