"""``manage.py audit_witness``: witness the platform's audit log from outside.

Uses only the platform's public endpoints, its own key and its own state
file (``--storage``), never the platform's database or settings. It must be
told the log's verifier key (``--log-key``, from ``manage.py audit_log_key``)
and gives its own with ``--print-vkey`` (for the platform's
``AUDIT_WITNESS_KEYS``). See consent/audit/witness.py.
"""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path
from typing import Any

import requests
from django.core.management.base import BaseCommand, CommandError, CommandParser

from consent.audit.notes import NoteError, NoteVerifier
from consent.audit.witness import LOCAL_WITNESS_NAME, Witness, WitnessState, witness_key
from core.supervisor import stop_on_signals

_TIMEOUT = 10


class Command(BaseCommand):
    help = "Cosign each new checkpoint of the audit log that is an append-only extension."

    def add_arguments(self, parser: CommandParser) -> None:
        env = os.environ.get
        parser.add_argument("--platform", default=env("AUDIT_WITNESS_PLATFORM_URL", ""))
        parser.add_argument("--host", default=env("AUDIT_WITNESS_HOST", ""), help="Host header.")
        parser.add_argument("--log-key", default=env("AUDIT_WITNESS_LOG_KEY", ""))
        parser.add_argument("--name", default=env("AUDIT_WITNESS_NAME", LOCAL_WITNESS_NAME))
        parser.add_argument("--storage", default=env("AUDIT_WITNESS_DIR", "var/witness"))
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between checks.")
        parser.add_argument("--once", action="store_true")
        parser.add_argument("--print-vkey", action="store_true", help="Print this witness's key.")

    def handle(self, *args: Any, **options: Any) -> None:
        storage = Path(options["storage"])
        key = witness_key(storage / "key", options["name"])
        if options["print_vkey"]:
            self.stdout.write(key.verifier().vkey())
            return
        if not options["platform"] or not options["log_key"]:
            raise CommandError(
                "--platform and --log-key (or their environment variables) are required."
            )
        try:
            log_key = NoteVerifier.from_vkey(options["log_key"])
        except NoteError as exc:
            raise CommandError(f"--log-key: {exc}") from None
        base = options["platform"].rstrip("/") + "/api/audit/log/"
        headers = {"X-Forwarded-Proto": "https"}
        if options["host"]:
            headers["Host"] = options["host"]
        session = requests.Session()
        session.headers.update(headers)

        def fetch_checkpoint() -> str:
            response = session.get(base + "checkpoint", timeout=_TIMEOUT)
            response.raise_for_status()
            return response.text

        def fetch_consistency(log: str, old: int, new: int) -> list[bytes]:
            params: dict[str, str | int] = {"log": log, "from": old, "to": new}
            response = session.get(base + "consistency", params=params, timeout=_TIMEOUT)
            response.raise_for_status()
            return [base64.b64decode(p) for p in response.json()["proof"]]

        def deliver(payload: dict[str, Any]) -> None:
            session.post(base + "cosignatures", json=payload, timeout=_TIMEOUT).raise_for_status()

        witness = Witness(
            key=key,
            log_key=log_key,
            state=WitnessState(storage / "state.json"),
            fetch_checkpoint=fetch_checkpoint,
            fetch_consistency=fetch_consistency,
            deliver=deliver,
        )
        stopping = stop_on_signals()
        while not stopping():
            try:
                outcome = witness.check_once()
            except requests.RequestException as exc:
                # The platform unreachable or not ready: try again later.
                self.stderr.write(f"audit witness: {exc.__class__.__name__}")
            else:
                if outcome.cosigned:
                    self.stdout.write(f"cosigned size {outcome.size}")
                else:
                    self.stderr.write(f"REFUSED: {outcome.problem}")
            self.stdout.flush()
            if options["once"]:
                return
            time.sleep(options["interval"])
