"""A witness of the audit log: a party the platform does not control.

It keeps its own key and its own state file — the newest checkpoint it has
cosigned for each log — and touches nothing of the platform but its public
endpoints. For each new checkpoint it checks the log's signature and a
consistency proof from the checkpoint it saw last; only then does it cosign
(C2SP tlog-cosignature) and move its state on. A checkpoint that is not an
append-only extension of what it saw is refused, and the refusal is both
kept in its state and delivered to the platform, where auditors see it.

Delivery: the witness POSTs its cosignature (or its signed refusal) to
``/api/audit/log/cosignatures``; the platform accepts it only when it
verifies against a witness key it is configured with (``AUDIT_WITNESS_KEYS``),
so the signature is the authentication. A witness that is down delays
cosigning, never the platform's work. Anyone can run one: only HTTP and the
log's public key are needed. Nothing here uses the platform's database.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consent.audit import merkle
from consent.audit.notes import (
    COSIGNATURE_V1,
    NoteError,
    NoteKey,
    NoteVerifier,
    checkpoint_parse,
    cosign,
    note_split,
    signature_find,
    signature_valid,
)

REFUSAL_PREFIX = "tvaerakut-witness-refusal/v1\n"


def refusal_message(body: str, problem: str) -> bytes:
    return (REFUSAL_PREFIX + problem + "\n" + body).encode()


# What the witness needs of the log: its checkpoint (text) and a consistency
# proof (log, from, to) -> hashes; and where to deliver what it signs.
FetchCheckpoint = Callable[[], str]
FetchConsistency = Callable[[str, int, int], list[bytes]]
Deliver = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Seen:
    size: int
    root: bytes


@dataclass(frozen=True)
class Outcome:
    cosigned: bool
    problem: str = ""
    size: int = 0
    # A refusal of a log this witness already refused (and told the platform
    # about) since it last cosigned it: no new alarm, nothing sent again.
    repeated: bool = False


def _previous(line: str) -> tuple[str, int, bytes] | None:
    """The ``previous <log> <size> <base64 root>`` extension line, parsed."""
    parts = line.split(" ")
    if len(parts) != 4 or parts[0] != "previous" or not (parts[2].isascii() and parts[2].isdigit()):
        return None
    if len(parts[2]) > 20:  # a tree size is an unsigned 64-bit number
        return None
    try:
        root = base64.b64decode(parts[3], validate=True)
    except ValueError:
        return None
    return (parts[1], int(parts[2]), root) if len(root) == 32 else None


def _check_state(data: Any) -> None:
    """A state this witness can hold logs to, or ValueError: JSON of another
    shape failed later, in the middle of a round, with a traceback."""
    logs = data.get("logs") if isinstance(data, dict) else None
    if not isinstance(logs, dict) or not isinstance(data.get("alarms"), list):
        raise ValueError("not a witness's state (logs and alarms)")
    for log, seen in logs.items():
        try:
            size, root = seen["size"], base64.b64decode(seen["root"], validate=True)
        except (TypeError, KeyError, ValueError):
            raise ValueError(f"the state of log {log[:100]!r} is not a size and a root") from None
        if not isinstance(size, int) or isinstance(size, bool) or size < 0 or len(root) != 32:
            raise ValueError(f"the state of log {log[:100]!r} is not a size and a root")


class WitnessState:
    """The witness's own storage: one JSON file, replaced whole on each change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.data: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            self.data = {"logs": {}, "alarms": []}
        _check_state(self.data)

    def seen(self, log: str) -> Seen | None:
        found = self.data["logs"].get(log)
        return Seen(found["size"], base64.b64decode(found["root"])) if found else None

    def cosigned_recently(self, log: str, seen: Seen, now: int) -> bool:
        """Whether this very tree was cosigned and delivered within a minute."""
        last = self.data.get("cosigned", {}).get(log)
        return bool(
            last
            and last["size"] == seen.size
            and last["root"] == base64.b64encode(seen.root).decode()
            and now - last["at"] < 60
        )

    def record(self, log: str, size: int, root: bytes) -> None:
        """The newest tree seen and checked: later ones must extend it."""
        self.data["logs"][log] = {"size": size, "root": base64.b64encode(root).decode()}
        self._settled(log)
        self._save()

    def delivered(self, log: str, size: int, root: bytes, at: int) -> None:
        root_text = base64.b64encode(root).decode()
        self.data.setdefault("cosigned", {})[log] = {"size": size, "root": root_text, "at": at}
        self._save()

    def alarm(self, log: str, problem: str) -> None:
        self.data["alarms"].append({"log": log, "problem": problem, "at": int(time.time())})
        self.data.setdefault("refusing", {})[log] = {"delivered": False}
        self._save()

    def refusing(self, log: str) -> dict[str, Any] | None:
        """The open refusal of ``log``: raised since the witness last cosigned
        it (a forked log stays forked however it grows), and whether the
        platform has taken it."""
        found: dict[str, Any] | None = self.data.get("refusing", {}).get(log)
        return found

    def refusal_delivered(self, log: str) -> None:
        self.data.setdefault("refusing", {})[log] = {"delivered": True}
        self._save()

    def _settled(self, log: str) -> None:
        """The log is followed again (cosigned): a later refusal is a new alarm."""
        self.data.get("refusing", {}).pop(log, None)

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        draft = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        draft.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        draft.replace(self.path)


# The name a witness signs with unless told another (AUDIT_WITNESS_NAME).
LOCAL_WITNESS_NAME = "witness.local/w1"


def witness_key(path: Path, name: str) -> NoteKey:
    """The witness's Ed25519 key, generated into its own storage on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(os.urandom(32)).decode())
    seed = base64.b64decode(path.read_text().strip())
    return NoteKey.from_seed(name, seed, COSIGNATURE_V1)


class Witness:
    def __init__(
        self,
        *,
        key: NoteKey,
        log_key: NoteVerifier,
        state: WitnessState,
        fetch_checkpoint: FetchCheckpoint,
        fetch_consistency: FetchConsistency,
        deliver: Deliver,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key, self.log_key, self.state = key, log_key, state
        self.fetch_checkpoint, self.fetch_consistency = fetch_checkpoint, fetch_consistency
        self.deliver, self.clock = deliver, clock

    def _refuse(self, log: str, body: str, problem: str) -> Outcome:
        """Raise the alarm once per forked log and tell the platform until it
        has taken the refusal; the same log refused again (it stays forked,
        and grows) is neither a new alarm nor sent again every few seconds."""
        open_refusal = self.state.refusing(log)
        if open_refusal is None:
            self.state.alarm(log, problem)
        elif open_refusal["delivered"]:
            return Outcome(False, problem, repeated=True)
        signature = self.key.private.sign(refusal_message(body, problem))
        self.deliver(
            {
                "witness": self.key.name,
                "checkpoint": body,
                "refusal": problem,
                "signature": base64.b64encode(signature).decode(),
            }
        )
        self.state.refusal_delivered(log)
        return Outcome(False, problem)

    def _extends(self, log: str, seen: Seen | None, size: int, root: bytes) -> str | None:
        """Why the tree ``(size, root)`` of ``log`` is not an append-only
        extension of the one this witness saw last, or None when it is."""
        if seen is None:
            return None
        if size < seen.size:
            return f"the log shrank from {seen.size} to {size} entries"
        if size == seen.size:
            return None if root == seen.root else f"the root at size {seen.size} has changed"
        proof = self.fetch_consistency(log, seen.size, size)
        if not merkle.verify_consistency(
            old_size=seen.size, new_size=size, old_root=seen.root, new_root=root, proof=proof
        ):
            return f"size {size} is not an append-only extension of size {seen.size}"
        return None

    def check_once(self) -> Outcome:
        """Fetch the newest checkpoint, check it, and cosign or refuse it."""
        note = self.fetch_checkpoint()
        try:
            body, lines = note_split(note)
            checkpoint = checkpoint_parse(body)
        except NoteError as exc:
            return Outcome(False, f"not a checkpoint: {exc}")
        signed = signature_find(lines, self.log_key)
        if signed is None or not signature_valid(body, signed, self.log_key):
            # Not the log's: nothing to hold the log to, and nothing to sign.
            return Outcome(False, "the checkpoint is not signed by the log's key")
        log = checkpoint.origin
        seen = self.state.seen(log)
        problem = self._extends(log, seen, checkpoint.size, checkpoint.root)
        if problem is None and seen is None:
            # A new log (a new year's): the last checkpoint of the log before
            # it, which it names, must extend what this witness saw of that one.
            for extension in checkpoint.extensions:
                previous = _previous(extension)
                if previous is not None:
                    before, size, root = previous
                    problem = self._extends(before, self.state.seen(before), size, root)
        if problem is not None:
            return self._refuse(log, body, problem)
        now = int(self.clock())
        current = Seen(checkpoint.size, checkpoint.root)
        if self.state.cosigned_recently(log, current, now):
            return Outcome(True, size=checkpoint.size)  # cosigned this tree a moment ago
        # What it has seen moves on now; "delivered" only once the platform has
        # taken the cosignature, so a failed delivery is tried again.
        self.state.record(log, checkpoint.size, checkpoint.root)
        line = cosign(body, self.key, now)
        self.deliver({"witness": self.key.name, "checkpoint": body, "cosignature": line.text()})
        self.state.delivered(log, checkpoint.size, checkpoint.root, now)
        return Outcome(True, size=checkpoint.size)
