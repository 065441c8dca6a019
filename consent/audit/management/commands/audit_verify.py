"""``manage.py audit_verify [--from DATE] [--to DATE]``: check the hash chain.

Exits 0 when intact; otherwise names the first broken entry and exits 1.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from consent.audit.chain import chain_verify
from consent.audit.selectors import parse_instant
from core.errors import InvalidInput


class Command(BaseCommand):
    help = "Verify the audit log's hash chain (whole log, or entries recorded in [from, to))."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="since", help="ISO date or date-time (inclusive)")
        parser.add_argument("--to", dest="until", help="ISO date (inclusive day) or date-time")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            since = parse_instant(options["since"], "from") if options["since"] else None
            until = parse_instant(options["until"], "to", end=True) if options["until"] else None
        except InvalidInput as exc:
            raise CommandError(exc.message) from None
        started = time.perf_counter()
        result = chain_verify(since=since, until=until)
        elapsed = time.perf_counter() - started
        rate = f" in {elapsed:.2f} s ({result.checked / elapsed:,.0f}/s)" if result.checked else ""
        if not result.ok:
            raise CommandError(result.describe())
        self.stdout.write(result.describe() + rate)
