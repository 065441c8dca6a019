"""Appending to the hash chain, and verifying it.

``chain_hash[n] = sha256(chain_hash[n-1] || digest[n] || epoch_us(recorded_at[n]))``
with ``epoch_us`` as 8 bytes big-endian. The chain starts at :data:`GENESIS`.

On PostgreSQL one statement digests the rows, takes the chain head's row lock
(``audit_chain_append``), and inserts them; the lock is held until the writer's
transaction ends, so positions are handed out in commit order and a rolled-back
writer leaves no gap. Elsewhere (SQLite, one writer at a time) the same chain is
computed in Python inside the writer's transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from consent.audit.models import DIGEST_FIELDS, ArchiveCheckpoint, AuditEntry, ChainHead

GENESIS = hashlib.sha256(b"tvaerakut audit log genesis").digest()
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_PACK_US = struct.Struct(">q").pack
_MICROSECOND = dt.timedelta(microseconds=1)
# PostgreSQL takes at most 65,535 parameters in one statement.
_ROWS_PER_STATEMENT = 1000

_BIGINT = {"actor_user_id", "actor_organisation_id", "partner_organisation_id", "citizen_id"}
_SQL_TYPES = [
    "bigint"
    if name in _BIGINT
    else "inet"
    if name == "client_address"
    else "jsonb"
    if name == "detail"
    else "text"
    for name in DIGEST_FIELDS
]
_COLUMNS = ", ".join(DIGEST_FIELDS)


class ChainHeadMissing(DatabaseError):
    pass


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def epoch_us(at: dt.datetime) -> int:
    return (at - EPOCH) // dt.timedelta(microseconds=1)


def link(previous: bytes, digest: bytes, us: int) -> bytes:
    return hashlib.sha256(previous + digest + _PACK_US(us)).digest()


def python_digest(values: Sequence[Any]) -> bytes:
    """The content digest computed in Python (used where the database cannot)."""
    canonical = json.dumps(list(values), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).digest()


def _content(entry: AuditEntry) -> list[Any]:
    return [getattr(entry, name) for name in DIGEST_FIELDS]


# --- appending ---------------------------------------------------------------


def _append_sql(rows: int) -> str:
    row = "(" + ", ".join(["%s::integer", *(f"%s::{t}" for t in _SQL_TYPES)]) + ")"
    digest_args = ", ".join(f"v.{name}" for name in DIGEST_FIELDS)
    selected = ", ".join(f"d.{name}" for name in DIGEST_FIELDS)
    # Only column names and placeholders are formatted in; values are parameters.
    return (
        f"WITH v (ord, {_COLUMNS}) AS (VALUES {', '.join([row] * rows)}), "  # noqa: S608
        f"d AS (SELECT v.*, audit_entry_digest({digest_args}) AS digest FROM v), "
        "c AS (SELECT * FROM audit_chain_append(ARRAY(SELECT d.digest FROM d ORDER BY d.ord))) "
        f"INSERT INTO audit_auditentry (id, recorded_at, {_COLUMNS}, digest, chain_hash) "
        f"SELECT c.seq, c.at, {selected}, d.digest, c.chain_hash FROM d JOIN c ON c.ord = d.ord "
        "RETURNING id, recorded_at, digest, chain_hash"
    )


def _append_postgres(entries: list[AuditEntry]) -> None:
    with connection.cursor() as cursor:
        for start in range(0, len(entries), _ROWS_PER_STATEMENT):
            chunk = entries[start : start + _ROWS_PER_STATEMENT]
            params: list[Any] = []
            for ord_, entry in enumerate(chunk, start=1):
                params.append(ord_)
                for name in DIGEST_FIELDS:
                    value = getattr(entry, name)
                    params.append(json.dumps(value) if name == "detail" else value)
            cursor.execute(_append_sql(len(chunk)), params)
            returned = sorted(cursor.fetchall())
            for entry, (seq, at, digest, chain_hash) in zip(chunk, returned, strict=True):
                entry.id, entry.recorded_at = seq, at
                entry.digest, entry.chain_hash = bytes(digest), bytes(chain_hash)
                entry._state.adding = False
                entry._state.db = connection.alias


def chain_head_locked() -> ChainHead:
    """The head, locked. An empty log starts at genesis; a log with entries
    but no head is broken and refuses to take more."""
    head = ChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        if AuditEntry.objects.exists():
            raise ChainHeadMissing("the audit chain head is missing")
        head = ChainHead.objects.create(id=1, seq=0, hash=GENESIS)
    return head


def _append_python(entries: list[AuditEntry]) -> None:
    head = chain_head_locked()
    # The clock is read once the head is locked, so time follows chain order.
    now = timezone.now()
    us = epoch_us(now)
    seq, current = head.seq, bytes(head.hash)
    for entry in entries:
        seq += 1
        entry.id, entry.recorded_at = seq, now
        entry.digest = python_digest(_content(entry))
        current = link(current, entry.digest, us)
        entry.chain_hash = current
    AuditEntry.objects.bulk_create(entries)
    head.seq, head.hash = seq, current
    head.save(update_fields=["seq", "hash"])


def chain_append(entries: list[AuditEntry]) -> list[AuditEntry]:
    """Give the entries their chain positions and insert them, all or none."""
    if not entries:
        return entries
    if on_postgres():
        if len(entries) <= _ROWS_PER_STATEMENT:
            # One statement: atomic even in autocommit, one round trip.
            _append_postgres(entries)
        else:
            with transaction.atomic():
                _append_postgres(entries)
    else:
        with transaction.atomic():
            _append_python(entries)
    return entries


# --- verifying ----------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_id: int | None
    last_id: int | None
    broken_id: int | None = None
    problem: str = ""

    def describe(self) -> str:
        if self.ok:
            if not self.checked:
                return "No entries in range; nothing to verify."
            return f"OK: {self.checked} entries verified ({self.first_id}..{self.last_id})."
        return (
            f"BROKEN at entry {self.broken_id}: {self.problem} ({self.checked} verified before it)."
        )


# Content check, set-based so PostgreSQL may run it in parallel workers
# ("id + 0" keeps the planner from turning min() into a one-row index walk).
_PG_CONTENT_SQL = (  # noqa: S608 - column names only
    "SELECT min(id + 0) FROM audit_auditentry WHERE id > %s AND id <= %s "
    "AND digest <> audit_entry_digest({args})"
).format(args=", ".join(DIGEST_FIELDS))
_PG_CHAIN_SQL = (
    "SELECT id, recorded_at, digest, chain_hash FROM audit_auditentry "
    "WHERE id > %s AND id <= %s ORDER BY id LIMIT %s"
)


def _rows_postgres(
    after: int, upto: int, batch: int
) -> Iterator[tuple[int, int, bytes, bytes, bool]]:
    """The chain walk reads only what linking needs; the content digests are
    checked in one set-based query first, and the first mismatch is reported
    when the walk reaches it."""
    with connection.cursor() as cursor:
        cursor.execute(_PG_CONTENT_SQL, [after, upto])
        first_bad = cursor.fetchone()[0]
        while True:
            cursor.execute(_PG_CHAIN_SQL, [after, upto, batch])
            rows = cursor.fetchall()
            for row_id, recorded_at, digest, chain_hash in rows:
                yield (
                    row_id,
                    (recorded_at - EPOCH) // _MICROSECOND,
                    digest if isinstance(digest, bytes) else bytes(digest),
                    chain_hash if isinstance(chain_hash, bytes) else bytes(chain_hash),
                    row_id != first_bad,
                )
            if len(rows) < batch:
                return
            after = rows[-1][0]


def _rows_python(
    after: int, upto: int, batch: int
) -> Iterator[tuple[int, int, bytes, bytes, bool]]:
    fields = ["id", "recorded_at", "digest", "chain_hash", *DIGEST_FIELDS]
    while True:
        rows = list(
            AuditEntry.objects.filter(id__gt=after, id__lte=upto)
            .order_by("id")
            .values_list(*fields)[:batch]
        )
        for row in rows:
            digest = bytes(row[2])
            yield row[0], epoch_us(row[1]), digest, bytes(row[3]), python_digest(row[4:]) == digest
        if len(rows) < batch:
            return
        after = rows[-1][0]


def _anchor(first_id: int) -> tuple[bytes | None, str]:
    """The chain hash before ``first_id``: genesis, an archive checkpoint, or the stored row."""
    if first_id <= 1:
        return GENESIS, ""
    checkpoint = ArchiveCheckpoint.objects.filter(last_seq=first_id - 1).first()
    if checkpoint is not None:
        return bytes(checkpoint.last_chain_hash), ""
    previous = AuditEntry.objects.filter(id=first_id - 1).values_list("chain_hash", flat=True)
    found = list(previous)
    if len(found) != 1:
        return None, "the entry before the range is missing or duplicated"
    return bytes(found[0]), ""


def chain_verify(
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    batch: int = 50_000,
) -> Verification:
    """Check the whole log (from the last archive checkpoint) or the entries
    recorded in ``[since, until)``, and name the first broken entry."""
    head = ChainHead.objects.filter(pk=1).first() or ChainHead(id=1, seq=0, hash=GENESIS)
    archived = ArchiveCheckpoint.objects.order_by("-last_seq").first()
    floor = archived.last_seq + 1 if archived else 1
    whole = since is None and until is None
    entries = AuditEntry.objects.all()
    if since is not None:
        entries = entries.filter(recorded_at__gte=since)
    if until is not None:
        entries = entries.filter(recorded_at__lt=until)
    if whole:
        first_id, last_id = floor, head.seq
    else:
        first = entries.order_by("id").values_list("id", flat=True).first()
        last = entries.order_by("-id").values_list("id", flat=True).first()
        if first is None or last is None:
            return Verification(True, 0, None, None)
        first_id, last_id = max(first, floor), last
    expected_hash, problem = _anchor(first_id)
    if expected_hash is None:
        return Verification(False, 0, first_id, last_id, first_id, problem)

    rows = _rows_postgres if on_postgres() else _rows_python
    expected_id, checked = first_id, 0
    current: bytes = expected_hash
    for row_id, us, digest, stored_hash, content_ok in rows(first_id - 1, last_id, batch):
        if row_id < expected_id:
            return _broken(
                checked, first_id, last_id, row_id, "an entry with this id appears twice"
            )
        if row_id > expected_id:
            return _broken(
                checked,
                first_id,
                last_id,
                expected_id,
                f"entries {expected_id}..{row_id - 1} are missing",
            )
        if not content_ok:
            return _broken(
                checked, first_id, last_id, row_id, "its content does not match its digest"
            )
        current = link(current, digest, us)
        if current != stored_hash:
            return _broken(
                checked,
                first_id,
                last_id,
                row_id,
                "its chain hash does not follow from the entry before",
            )
        expected_id += 1
        checked += 1
    if expected_id <= last_id:
        return _broken(
            checked, first_id, last_id, expected_id, f"entries {expected_id}..{last_id} are missing"
        )
    if whole:
        beyond = (
            AuditEntry.objects.filter(id__gt=head.seq)
            .order_by("id")
            .values_list("id", flat=True)
            .first()
        )
        if beyond is not None:
            return _broken(checked, first_id, last_id, beyond, "it lies beyond the chain head")
        if checked and current != bytes(head.hash):
            return _broken(
                checked, first_id, last_id, last_id, "the chain head does not match the last entry"
            )
    return Verification(True, checked, first_id if checked else None, last_id if checked else None)


def _broken(
    checked: int, first_id: int, last_id: int, broken_id: int, problem: str
) -> Verification:
    return Verification(False, checked, first_id, last_id, broken_id, problem)
