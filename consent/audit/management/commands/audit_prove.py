"""``manage.py audit_prove ENTRY``: show and check an entry's place in the log.

Prints the inclusion proof of the entry against its log's newest checkpoint
(as JSON, the shape ``/api/audit/log/entries/<id>/inclusion`` serves), after
checking it with the pure verifier: the leaf recomputed from the entry, the
proof to the checkpoint's root, and the checkpoint's signature by the log's
key. Exits 1 when any of it fails.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from consent.audit import merkle
from consent.audit.log import inclusion_for_entry, signing_key
from consent.audit.models import Action
from consent.audit.notes import checkpoint_parse, note_split, signature_find, signature_valid
from consent.audit.services import audit_record_auditor_view
from core.actors import Actor
from core.errors import PlatformError
from core.validation import is_digits


def _entry_id(raw: str) -> int:
    """An entry id as the API takes it: the digits 0-9 only (``int`` also
    reads other scripts' digits, and a sign)."""
    if not is_digits(raw) or len(raw) > 18:
        raise argparse.ArgumentTypeError(f"an entry id is digits 0-9, not {raw!r}")
    return int(raw)


class Command(BaseCommand):
    help = "Print and verify the inclusion proof of one audit entry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("entry", type=_entry_id, help="The audit entry's id (digits 0-9).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            proof = inclusion_for_entry(options["entry"])
            # As the auditor's API does: a proof by id names an entry, and so
            # the citizen it is about; the reading is recorded before it is shown.
            audit_record_auditor_view(
                actor=Actor.system("consent.audit_prove"),
                action=Action.READ,
                citizen_ids=[proof.citizen_id],
                query={"inclusion": str(proof.entry_id)},
            )
        except PlatformError as exc:
            raise CommandError(exc.message) from None
        body, lines = note_split(proof.checkpoint.note)
        checkpoint = checkpoint_parse(body)
        verifier = signing_key().verifier()
        signed = signature_find(lines, verifier)
        if signed is None or not signature_valid(body, signed, verifier):
            raise CommandError("The checkpoint is not signed by the log's key.")
        if not merkle.verify_inclusion(
            index=proof.position,
            size=checkpoint.size,
            leaf=proof.leaf_hash,
            proof=proof.proof,
            root_hash=checkpoint.root,
        ):
            raise CommandError("The entry is NOT in the log the checkpoint describes.")
        self.stdout.write(json.dumps(proof.as_dict(), indent=1))
        self.stdout.write(
            f"OK: entry {proof.entry_id} is leaf {proof.position} of {proof.log} "
            f"(size {checkpoint.size}); verifier key {verifier.vkey()}"
        )
