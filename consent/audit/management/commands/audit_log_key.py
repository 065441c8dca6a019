"""``manage.py audit_log_key``: print the log's verifier key (C2SP vkey), for
witnesses and anyone checking checkpoints."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from consent.audit.log import signing_key


class Command(BaseCommand):
    help = "Print the verifier key of the audit log's checkpoints."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(signing_key().verifier().vkey())
