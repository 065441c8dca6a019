"""``manage.py audit_prove ENTRY``: show and check an entry's place in the log.

Prints the inclusion proof of the entry against its log's newest checkpoint
(as JSON, the shape ``/api/audit/log/entries/<id>/inclusion`` serves), after
checking it with the pure verifier: the leaf recomputed from the entry, the
proof to the checkpoint's root, and the checkpoint's signature by the log's
key.

Exit codes (for scripts): 0 the entry is in the log and the proof verifies;
1 it does not verify (the checkpoint is not the log's, or the entry is not in
the tree it describes) or could not be shown; 2 the id is not an entry's id, or names no entry
(``audit.entry_not_found``, said as the API says it); 3 the entry has not yet
been given its place in the log (``audit.entry_not_yet_sequenced``): ask again
in a moment.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from consent.audit import merkle
from consent.audit.errors import ENTRY_NOT_FOUND
from consent.audit.log import NOT_YET_SEQUENCED, inclusion_for_entry, signing_key
from consent.audit.models import Action
from consent.audit.notes import checkpoint_parse, note_split, signature_find, signature_valid
from consent.audit.services import audit_record_auditor_view
from core.actors import Actor
from core.errors import PlatformError
from core.messages import user_message
from core.validation import is_digits

# Exit codes besides 0 (verified) and 1 (not verified, or the proof could not be shown).
EXIT_NO_SUCH_ENTRY = 2  # as argparse's for an argument that is no entry id
EXIT_NOT_YET_PLACED = 3
_EXIT_BY_CODE = {ENTRY_NOT_FOUND: EXIT_NO_SUCH_ENTRY, NOT_YET_SEQUENCED: EXIT_NOT_YET_PLACED}


def _entry_id(raw: str) -> int:
    """An entry id as the API takes it: the digits 0-9 only (``int`` also
    reads other scripts' digits, and a sign)."""
    if not is_digits(raw) or len(raw) > 18:
        raise argparse.ArgumentTypeError(f"an entry id is digits 0-9, not {raw!r}")
    return int(raw)


def refused(exc: PlatformError) -> CommandError:
    """A refusal as the command says it: the message the API gives (in the
    platform's language) and its code, on one line, with its exit code."""
    with translation.override(settings.LANGUAGE_CODE):
        message = user_message(exc)
    return CommandError(f"{message} ({exc.code})", returncode=_EXIT_BY_CODE.get(exc.code, 1))


class Command(BaseCommand):
    help = (
        "Print and verify the inclusion proof of one audit entry. Exit codes: 0 verified; "
        "1 the proof does not verify; 2 no such entry (audit.entry_not_found) or not an id; "
        "3 not yet placed in the log, ask again in a moment."
    )

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
            raise refused(exc) from None
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
