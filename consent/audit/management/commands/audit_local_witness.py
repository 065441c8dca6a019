"""``manage.py audit_local_witness``: what `make run` needs to start a witness
of this database's log, in one process: the witness's storage
(``<VAR_DIR>/witness/<this database's log>``), the witness's verifier key
(its key made there on first use) and the log's verifier key, as one JSON
object. A reset or another database is another log, and so another storage:
the witness starts afresh instead of refusing it as a fork."""

from __future__ import annotations

import json
import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from consent.audit.log import log_instance, signing_key
from consent.audit.witness import LOCAL_WITNESS_NAME, witness_key


class Command(BaseCommand):
    help = "Print, as JSON, the storage and keys of a local witness of this database's log."

    def handle(self, *args: Any, **options: Any) -> None:
        storage = settings.VAR_DIR / "witness" / log_instance()
        name = os.environ.get("AUDIT_WITNESS_NAME", LOCAL_WITNESS_NAME)
        self.stdout.write(
            json.dumps(
                {
                    "storage": str(storage),
                    "witness_vkey": witness_key(storage / "key", name).verifier().vkey(),
                    "log_key": signing_key().verifier().vkey(),
                }
            )
        )
