"""The hash chain that preceded the transparency log, and its verification.

Entries written before the tree existed carry ``chain_hash[n] =
sha256(chain_hash[n-1] || digest[n] || epoch_us(recorded_at[n]))`` with
``epoch_us`` as 8 bytes big-endian, starting at :data:`GENESIS` and ending at
the frozen :class:`ChainHead`. No entry is chained any more
(``consent.audit.append``); before the sequencer carries the chained entries
into the tree it verifies the chain once (``consent.audit.log``), so the tree
takes over only what was chained.

Verifying needs no sequential walk on PostgreSQL: each row's stored chain hash
is checked against its predecessor's stored hash, which by induction from the
anchor proves the whole chain, so ranges of the log are checked in parallel.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from django.db import connection

from consent.audit.append import content_digest
from consent.audit.models import DIGEST_FIELDS, ArchiveCheckpoint, AuditEntry, ChainHead

GENESIS = hashlib.sha256(b"tvaerakut audit log genesis").digest()
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_PACK_US = struct.Struct(">q").pack
# Connections that verify ranges of the log at once (one per core here).
VERIFY_CONNECTIONS = 2
# What a range's check finds (a chain break, a verification's findings).
_Finding = TypeVar("_Finding")


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def epoch_us(at: dt.datetime) -> int:
    return (at - EPOCH) // dt.timedelta(microseconds=1)


def link(previous: bytes, digest: bytes, us: int) -> bytes:
    return hashlib.sha256(previous + digest + _PACK_US(us)).digest()


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
        WHERE sha256(prev_hash || digest || int8send(audit_epoch_us(recorded_at)))
            IS DISTINCT FROM chain_hash
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
    found = ranges_checked(_check_range_postgres, ranges)
    first = min((b for b in found if b), key=lambda b: (b.entry_id, b.rank), default=None)
    if first is not None and not first.problem:
        until = _missing_until(first.entry_id, last_id)
        return _Break(first.entry_id, f"entries {first.entry_id}..{until} are missing", 1)
    return first


def ranges_checked(
    check: Callable[..., _Finding], ranges: Sequence[tuple[Any, ...]]
) -> list[_Finding]:
    """``check(*bounds)`` for each range of the log, on ``VERIFY_CONNECTIONS``
    connections at once where the log is committed data (inside a
    transaction, other connections could not see its rows: one at a time)."""
    if len(ranges) == 1 or connection.in_atomic_block:
        return [check(*bounds) for bounds in ranges]
    with ThreadPoolExecutor(max_workers=VERIFY_CONNECTIONS) as pool:
        return list(pool.map(partial(_on_own_connection, check), ranges))


def _on_own_connection(check: Callable[..., _Finding], bounds: tuple[Any, ...]) -> _Finding:
    """``check(*bounds)`` in a worker thread, whose connection is closed after."""
    try:
        return check(*bounds)
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
            stored = bytes(row[3] or b"")
            yield row[0], epoch_us(row[1]), digest, stored, content_digest(row[4:]) == digest
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
    if len(found) != 1 or found[0] is None:
        return None, "the entry before the range is missing, duplicated or not chained"
    return bytes(found[0]), ""


def chain_verify(
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    batch: int = 50_000,
) -> Verification:
    """Check the chained entries: the whole chain (from the last archive
    checkpoint to the head), or the chained entries recorded in ``[since,
    until)``, and name the first broken entry."""
    head = ChainHead.objects.filter(pk=1).first() or ChainHead(id=1, seq=0, hash=GENESIS)
    archived = ArchiveCheckpoint.objects.order_by("-last_seq").first()
    floor = archived.last_seq + 1 if archived else 1
    whole = since is None and until is None
    entries = AuditEntry.objects.filter(id__lte=head.seq)
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
    if first_id > last_id:
        return Verification(True, 0, None, None)
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
        if whole:
            stored = AuditEntry.objects.filter(id=last_id).values_list("chain_hash", flat=True)
            current = bytes(stored[0] or b"")
    else:
        walked = _walk_python(first_id, last_id, expected_hash, batch)
        if isinstance(walked, Verification):
            return walked
        checked, current = walked
    if whole:
        beyond = (
            AuditEntry.objects.filter(id__gt=head.seq, chain_hash__isnull=False)
            .order_by("id")
            .values_list("id", flat=True)
            .first()
        )
        if beyond is not None:
            return _broken(checked, first_id, last_id, beyond, "it lies beyond the chain head")
        if current != bytes(head.hash):
            return _broken(
                checked, first_id, last_id, last_id, "the chain head does not match the last entry"
            )
    return Verification(True, checked, first_id, last_id)


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
