"""Appending to the hash chain, and verifying it.

``chain_hash[n] = sha256(chain_hash[n-1] || digest[n] || epoch_us(recorded_at[n]))``
with ``epoch_us`` as 8 bytes big-endian. The chain starts at :data:`GENESIS`.

On PostgreSQL one statement digests the rows, takes the chain head's row lock,
and inserts them (a plain statement for one entry, ``audit_chain_append`` for
a batch); the lock is held until the writer's transaction ends, so
positions are handed out in commit order and a rolled-back writer leaves no
gap. The statements are prepared once per connection, and run on the psycopg
cursor kept with the connection (``core.sql.run_prepared``). Elsewhere
(SQLite, one writer at a time) the same chain is computed in Python inside
the writer's transaction.

Verifying needs no sequential walk on PostgreSQL: each row's stored chain hash
is checked against its predecessor's stored hash, which by induction from the
anchor proves the whole chain, so ranges of the log are checked in parallel.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import struct
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from consent.audit.checkpoints import HeadCheckpoint, checkpoint_latest, checkpoint_problem
from consent.audit.models import (
    DIGEST_FIELDS,
    ArchiveCheckpoint,
    AuditEntry,
    ChainHead,
    PendingEntry,
)
from core.sql import run_prepared

GENESIS = hashlib.sha256(b"tvaerakut audit log genesis").digest()
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_PACK_US = struct.Struct(">q").pack
_MICROSECOND = dt.timedelta(microseconds=1)
# PostgreSQL takes at most 65,535 parameters in one statement.
_ROWS_PER_STATEMENT = 1000
# Connections that verify ranges of the log at once (one per core here).
VERIFY_CONNECTIONS = 2

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


def _of(alias: str) -> str:
    """The content columns of the CTE ``alias``, in digest order."""
    return ", ".join(f"{alias}.{name}" for name in DIGEST_FIELDS)


# The same statement marks the entries as awaiting their position in the
# Merkle tree (the sequencer's queue), and returns them.
_PENDING = (
    ", p AS (INSERT INTO audit_pending (entry_id, recorded_at) SELECT id, recorded_at FROM e) "
    "SELECT id, recorded_at, digest, chain_hash FROM e"
)

# One typed placeholder per content column.
_PLACEHOLDERS = ", ".join(f"%s::{t}" for t in _SQL_TYPES)


def _append_sql(rows: int) -> str:
    row = f"(%s::integer, {_PLACEHOLDERS})"
    digest_args, selected = _of("v"), _of("d")
    # Only column names and placeholders are formatted in; values are parameters.
    return (
        f"WITH v (ord, {_COLUMNS}) AS (VALUES {', '.join([row] * rows)}), "  # noqa: S608
        f"d AS (SELECT v.*, audit_entry_digest({digest_args}) AS digest FROM v), "
        "c AS (SELECT * FROM audit_chain_append(ARRAY(SELECT d.digest FROM d ORDER BY d.ord))), "
        f"e AS (INSERT INTO audit_auditentry (id, recorded_at, {_COLUMNS}, digest, chain_hash) "
        f"SELECT c.seq, c.at, {selected}, d.digest, c.chain_hash FROM d JOIN c ON c.ord = d.ord "
        "RETURNING id, recorded_at, digest, chain_hash)"
        f"{_PENDING}"
    )


def _append_one_sql() -> str:
    """One entry in one statement: digest it, move the head (its row lock is
    held until commit, and a writer that waited for it re-reads the moved
    head and the clock), insert the entry. No row comes back when the head is
    missing; the batch path then re-creates it."""
    digest_args = selected = _of("v")
    # Only column names, placeholders and type names are formatted in.
    return (
        f"WITH v ({_COLUMNS}) AS (VALUES ({_PLACEHOLDERS})), "  # noqa: S608
        f"d AS (SELECT audit_entry_digest({digest_args}) AS digest FROM v), "
        "h AS (UPDATE audit_chainhead c SET (seq, at, hash) = ("
        "SELECT c.seq + 1, t.at, "
        "sha256(c.hash || (SELECT d.digest FROM d) || int8send(audit_epoch_us(t.at))) "
        "FROM (SELECT clock_timestamp() AS at) t) "
        "WHERE c.id = 1 RETURNING c.seq, c.at, c.hash), "
        f"e AS (INSERT INTO audit_auditentry (id, recorded_at, {_COLUMNS}, digest, chain_hash) "
        f"SELECT h.seq, h.at, {selected}, d.digest, h.hash FROM h, v, d "
        "RETURNING id, recorded_at, digest, chain_hash)"
        f"{_PENDING}"
    )


_APPEND_ONE_SQL = _append_one_sql()


def _params(entry: AuditEntry) -> list[Any]:
    values = [getattr(entry, name) for name in DIGEST_FIELDS]
    values[-1] = orjson.dumps(values[-1]).decode()  # detail, as jsonb text
    return values


def _stored(
    entry: AuditEntry, alias: str, seq: int, at: dt.datetime, digest: bytes, chain_hash: bytes
) -> None:
    entry.id, entry.recorded_at = seq, at
    entry.digest, entry.chain_hash = bytes(digest), bytes(chain_hash)
    entry._state.adding = False
    entry._state.db = alias


def _append_postgres(db: BaseDatabaseWrapper, entries: list[AuditEntry]) -> None:
    if len(entries) == 1:
        returned = run_prepared(_APPEND_ONE_SQL, _params(entries[0]), binary=True, db=db)
        if returned:
            [(seq, at, digest, chain_hash)] = returned
            _stored(entries[0], db.alias, seq, at, digest, chain_hash)
            return
    for start in range(0, len(entries), _ROWS_PER_STATEMENT):
        chunk = entries[start : start + _ROWS_PER_STATEMENT]
        params: list[Any] = []
        for ord_, entry in enumerate(chunk, start=1):
            params.append(ord_)
            params.extend(_params(entry))
        returned = sorted(run_prepared(_append_sql(len(chunk)), params, binary=True, db=db))
        for entry, (seq, at, digest, chain_hash) in zip(chunk, returned, strict=True):
            _stored(entry, db.alias, seq, at, digest, chain_hash)


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
    PendingEntry.objects.bulk_create(
        PendingEntry(entry_id=e.id, recorded_at=e.recorded_at) for e in entries
    )
    head.seq, head.hash, head.at = seq, current, now
    head.save(update_fields=["seq", "hash", "at"])


def chain_append(entries: list[AuditEntry]) -> list[AuditEntry]:
    """Give the entries their chain positions and insert them, all or none."""
    if not entries:
        return entries
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "postgresql":
        if len(entries) <= _ROWS_PER_STATEMENT:
            # One statement: atomic even in autocommit, one round trip.
            _append_postgres(db, entries)
        else:
            with transaction.atomic():
                _append_postgres(db, entries)
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
    # The whole log, verified: the head's position and chain hash.
    head_seq: int | None = None
    last_hash: bytes | None = None
    # The head checkpoint the log was found to pass through, if any.
    checkpoint: HeadCheckpoint | None = None

    def describe(self) -> str:
        if self.ok:
            if not self.checked:
                return "No entries in range; nothing to verify."
            found = f"OK: {self.checked} entries verified ({self.first_id}..{self.last_id})"
            if self.checkpoint is not None:
                found += f"; the log passes through the last checkpoint ({self.checkpoint.seq})"
            return found + "."
        return (
            f"BROKEN at entry {self.broken_id}: {self.problem} ({self.checked} verified before it)."
        )


# One range of the log checked in one set-based statement. Each row is
# compared with its predecessor by id (``lag``): a gap or a repeated id, a
# content digest that does not match, and a chain hash that does not follow
# from the predecessor's stored hash (or from the anchor, for the range's
# first row). Column names only are formatted in; values are parameters.
_PG_RANGE_SQL = """
SELECT
    min(CASE WHEN prev_id < id - 1 THEN prev_id + 1 END) AS missing_from,
    min(id) FILTER (WHERE prev_id >= id) AS repeated,
    min(id) FILTER (WHERE digest <> audit_entry_digest({args})) AS content,
    min(id) FILTER (
        WHERE sha256(prev_hash || digest || int8send(audit_epoch_us(recorded_at))) <> chain_hash
    ) AS unlinked,
    max(id) AS last_seen
FROM (
    SELECT e.*,
        coalesce(lag(id) OVER w, %(lo)s - 1) AS prev_id,
        coalesce(lag(chain_hash) OVER w, %(anchor)s) AS prev_hash
    FROM audit_auditentry e
    WHERE id >= %(window_lo)s AND id <= %(hi)s
    WINDOW w AS (ORDER BY id, recorded_at)
) AS x
WHERE id >= %(lo)s
""".format(args=", ".join(DIGEST_FIELDS))  # noqa: S608 - column names only
# Rows per statement: large enough that planning is negligible, small enough
# that two cores share the work.
PG_RANGE_ROWS = 250_000


@dataclass(frozen=True)
class _Break:
    entry_id: int
    problem: str
    rank: int  # which problem is named when two fall on the same entry


def _check_range_postgres(lo: int, hi: int, anchor: bytes | None) -> _Break | None:
    """Check entries ``lo..hi``. The first range is linked to ``anchor``; a
    later range reads the entry before ``lo`` and links to its stored hash (if
    that entry is missing, the range before reports it)."""
    params = {"lo": lo, "hi": hi, "anchor": anchor, "window_lo": lo if anchor else lo - 1}
    with connection.cursor() as cursor:
        cursor.execute(_PG_RANGE_SQL, params)
        missing_from, repeated, content, unlinked, last_seen = cursor.fetchone()
    found = []
    if repeated is not None:
        found.append(_Break(repeated, "an entry with this id appears twice", 0))
    if missing_from is not None:
        found.append(_Break(missing_from, "", 1))
    if last_seen is None or last_seen < hi:
        found.append(_Break(lo if last_seen is None else last_seen + 1, "", 1))
    if content is not None:
        found.append(_Break(content, "its content does not match its digest", 2))
    if unlinked is not None:
        found.append(_Break(unlinked, "its chain hash does not follow from the entry before", 3))
    return min(found, key=lambda b: (b.entry_id, b.rank), default=None)


def _missing_until(start: int, hi: int) -> int:
    """The last id of the run of missing entries that starts at ``start``."""
    following = (
        AuditEntry.objects.filter(id__gt=start, id__lte=hi)
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    return hi if following is None else following - 1


def _check_postgres(first_id: int, last_id: int, anchor: bytes) -> _Break | None:
    """All ranges, on two connections at once where the log is committed data
    (inside a transaction, other connections could not see it: one at a time)."""
    ranges = [
        (lo, min(lo + PG_RANGE_ROWS - 1, last_id), anchor if lo == first_id else None)
        for lo in range(first_id, last_id + 1, PG_RANGE_ROWS)
    ]
    if len(ranges) == 1 or connection.in_atomic_block:
        found = [_check_range_postgres(*r) for r in ranges]
    else:
        with ThreadPoolExecutor(max_workers=VERIFY_CONNECTIONS) as pool:
            found = list(pool.map(_check_range_in_thread, ranges))
    first = min((b for b in found if b), key=lambda b: (b.entry_id, b.rank), default=None)
    if first is not None and not first.problem:
        until = _missing_until(first.entry_id, last_id)
        return _Break(first.entry_id, f"entries {first.entry_id}..{until} are missing", 1)
    return first


def _check_range_in_thread(args: tuple[int, int, bytes | None]) -> _Break | None:
    try:
        return _check_range_postgres(*args)
    finally:
        connection.close()


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
    checkpoint_file: Path | None = None,
) -> Verification:
    """Check the whole log (from the last archive checkpoint) or the entries
    recorded in ``[since, until)``, and name the first broken entry. The whole
    log must also pass through the last head checkpoint in ``checkpoint_file``
    (default ``AUDIT_CHECKPOINT_FILE``), if there is one."""
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

    if on_postgres():
        found = _check_postgres(first_id, last_id, expected_hash)
        if found is not None:
            return _broken(
                found.entry_id - first_id, first_id, last_id, found.entry_id, found.problem
            )
        checked = last_id - first_id + 1
        current = expected_hash
        if whole and checked:
            stored = AuditEntry.objects.filter(id=last_id).values_list("chain_hash", flat=True)
            current = bytes(stored[0])
    else:
        walked = _walk_python(first_id, last_id, expected_hash, batch)
        if isinstance(walked, Verification):
            return walked
        checked, current = walked
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
        path = checkpoint_file or settings.AUDIT_CHECKPOINT_FILE
        checkpoint = checkpoint_latest(Path(path)) if path else None
        if checkpoint is not None:
            behind = checkpoint_problem(checkpoint, head.seq)
            if behind is not None:
                return _broken(checked, first_id, last_id, *behind)
        return Verification(
            True,
            checked,
            first_id if checked else None,
            last_id if checked else None,
            head_seq=head.seq,
            last_hash=current if checked else bytes(head.hash),
            checkpoint=checkpoint,
        )
    return Verification(True, checked, first_id if checked else None, last_id if checked else None)


def _broken(
    checked: int, first_id: int, last_id: int, broken_id: int, problem: str
) -> Verification:
    return Verification(False, checked, first_id, last_id, broken_id, problem)


def _walk_python(
    first_id: int, last_id: int, anchor: bytes, batch: int
) -> Verification | tuple[int, bytes]:
    """The chain walked entry by entry (SQLite): checked count and last hash, or the break."""
    expected_id, checked = first_id, 0
    current: bytes = anchor
    for row_id, us, digest, stored_hash, content_ok in _rows_python(first_id - 1, last_id, batch):
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
    return checked, current
