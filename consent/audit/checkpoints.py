"""The chain head's checkpoints, kept outside the database.

Whoever owns the database can cut the newest entries off the log and move
the head back to the last entry kept: the chain that remains is intact, so
the chain alone cannot tell. A checkpoint is a copy of the head (position and
chain hash) written, after the chain verified, to a file that neither the
platform's processes nor the database's owner can write: one JSON line per
checkpoint, appended (``manage.py audit_checkpoint``, from the operator's own
account). Verification then requires the log to still pass through the last
checkpoint: the head no lower, and the entry at that position with the same
hash.

Outside witnesses of the log are meant to replace this; it is one module with
two entry points (:func:`checkpoint_append`, :func:`checkpoint_problem`) so it
can be taken out whole.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from consent.audit.models import ArchiveCheckpoint, AuditEntry
from core.errors import Conflict, PreconditionFailed


@dataclass(frozen=True)
class HeadCheckpoint:
    seq: int
    hash: bytes
    written_at: dt.datetime

    def line(self) -> str:
        record = {
            "seq": self.seq,
            "hash": self.hash.hex(),
            "written_at": self.written_at.isoformat(),
        }
        return json.dumps(record, sort_keys=True) + "\n"


def checkpoint_latest(path: Path) -> HeadCheckpoint | None:
    """The last checkpoint in the file; none while there is no file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PreconditionFailed(
            "audit.checkpoint_unreadable", f"The checkpoint file cannot be read: {exc.strerror}."
        ) from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        record = json.loads(lines[-1])
        return HeadCheckpoint(
            seq=int(record["seq"]),
            hash=bytes.fromhex(record["hash"]),
            written_at=dt.datetime.fromisoformat(record["written_at"]),
        )
    except (ValueError, KeyError, TypeError):
        raise PreconditionFailed(
            "audit.checkpoint_unreadable", "The last line of the checkpoint file is not one."
        ) from None


def checkpoint_append(path: Path, checkpoint: HeadCheckpoint) -> bool:
    """Append ``checkpoint`` unless it repeats the last one; whether it was
    written. A checkpoint behind the last one is refused."""
    latest = checkpoint_latest(path)
    if latest is not None:
        if checkpoint.seq < latest.seq:
            raise Conflict(
                "audit.checkpoint_behind",
                f"The log's head ({checkpoint.seq}) is behind the last checkpoint ({latest.seq}).",
            )
        if checkpoint.seq == latest.seq:
            if checkpoint.hash != latest.hash:
                raise Conflict(
                    "audit.checkpoint_differs",
                    f"Entry {checkpoint.seq} no longer has the hash of the last checkpoint.",
                )
            return False
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write in append mode: a line is added whole, earlier lines are never touched.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, checkpoint.line().encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return True


def checkpoint_problem(checkpoint: HeadCheckpoint, head_seq: int) -> tuple[int, str] | None:
    """Does the log still pass through ``checkpoint``? The entry to name and
    what is wrong, or None."""
    if head_seq < checkpoint.seq:
        return (
            head_seq + 1,
            f"the chain head ({head_seq}) is behind the last checkpoint ({checkpoint.seq}, "
            f"{checkpoint.written_at:%Y-%m-%d %H:%M:%S} UTC): "
            f"entries {head_seq + 1}..{checkpoint.seq} were cut off",
        )
    if checkpoint.seq == 0:
        return None
    archived = ArchiveCheckpoint.objects.filter(last_seq__gte=checkpoint.seq).exists()
    if archived:
        # Moved to archive storage; checked against its archive checkpoint, not here.
        return None
    stored = list(
        AuditEntry.objects.filter(id=checkpoint.seq).values_list("chain_hash", flat=True)[:2]
    )
    if len(stored) != 1 or bytes(stored[0]) != checkpoint.hash:
        return (
            checkpoint.seq,
            "the log no longer passes through the last checkpoint "
            f"({checkpoint.written_at:%Y-%m-%d %H:%M:%S} UTC): it was rewritten up to here",
        )
    return None
