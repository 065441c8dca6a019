"""Verifying the audit log: every entry against the transparency log.

An entry is intact when its content gives its digest, and it is in the
tree: its leaf (id, time, digest) hashes to the leaf hash stored at its
position, or it is still waiting for its position. The tree is intact when,
for each year's log, the newest checkpoint is signed by the log's key, the
positions below its size are all taken, and the stored tiles give its root.
Together: each entry present hashes into a root that a witness has seen, so
an entry that was edited, deleted, moved or slipped in behind the platform's
back is named here, and one whose tree was recomputed as well is refused by
the witness (``consent.audit.witness``).

Entries of archived months are gone from the table by design: their leaves
stay in the tree and their content in the archive file
(``consent.audit.partitions``).

On PostgreSQL each range of entries is checked by one set-based statement,
two ranges at a time; on SQLite entry by entry in Python.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Exists, Max, Min, OuterRef
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent.audit import merkle
from consent.audit.append import content_digest
from consent.audit.chain import Verification, chain_verify, ranges_checked
from consent.audit.log import checkpoint_latest, entry_leaf, signing_key, tree_tiles
from consent.audit.models import (
    DIGEST_FIELDS,
    ArchiveCheckpoint,
    AuditEntry,
    ChainHead,
    LogCheckpoint,
    LogCosignature,
    LogLeaf,
    LogTile,
    PendingEntry,
)
from consent.audit.notes import note_split, signature_find, signature_valid

# Entries per statement: planning is negligible, and two cores share the work.
RANGE_ROWS = 250_000
TILE_WIDTH = 256

# Problems, in the order they are named when two fall on the same entry.
CONTENT = gettext_lazy("its content does not match its digest")
UNPLACED = gettext_lazy("it is neither in the log's tree nor waiting for its place")
MISPLACED = gettext_lazy("it no longer gives the leaf stored at its place in the tree")

_ENTRY_ARGS = ", ".join(f"e.{name}" for name in DIGEST_FIELDS)
# Column and function names only are formatted in; values are parameters.
_RANGE_SQL = f"""
WITH x AS (
    SELECT e.id, e.recorded_at, e.digest, audit_entry_digest({_ENTRY_ARGS}) AS computed,
        l.log, l.position, l.recorded_at AS leaf_at, p.entry_id IS NOT NULL AS waiting
    FROM audit_auditentry e
    LEFT JOIN audit_log_leaf l ON l.entry_id = e.id
    LEFT JOIN audit_pending p ON p.entry_id = e.id
    WHERE e.id BETWEEN %(lo)s AND %(hi)s
        AND e.recorded_at >= %(since)s AND e.recorded_at < %(until)s
),
t AS (
    SELECT DISTINCT ON (log, index) log, index, hashes FROM audit_log_tile
    WHERE level = 0 AND (log, index) IN (
        SELECT DISTINCT log, position / {TILE_WIDTH} FROM x WHERE log IS NOT NULL)
    ORDER BY log, index, width DESC
)
SELECT
    count(*), min(x.id), max(x.id),
    min(x.id) FILTER (WHERE x.digest IS DISTINCT FROM x.computed),
    min(x.id) FILTER (WHERE x.log IS NULL AND NOT x.waiting),
    min(x.id) FILTER (
        WHERE x.log IS NOT NULL AND (
            x.leaf_at IS DISTINCT FROM x.recorded_at
            OR substring(t.hashes FROM ((x.position %% {TILE_WIDTH}) * 32 + 1)::integer FOR 32)
               IS DISTINCT FROM sha256('\\x00'::bytea || int8send(x.id)
                   || int8send(audit_epoch_us(x.recorded_at)) || x.digest)))
FROM x LEFT JOIN t ON t.log = x.log AND t.index = x.position / {TILE_WIDTH}
"""  # noqa: S608

_EVER = (dt.datetime(1, 1, 1, tzinfo=dt.UTC), dt.datetime(9999, 1, 1, tzinfo=dt.UTC))


@dataclass(frozen=True)
class _Found:
    checked: int = 0
    first_id: int | None = None
    last_id: int | None = None
    breaks: list[tuple[int, int, Any]] = field(default_factory=list)  # (id, rank, problem)

    def first_break(self) -> tuple[int, int, Any] | None:
        return min(self.breaks, default=None)


def _check_range_postgres(lo: int, hi: int, since: dt.datetime, until: dt.datetime) -> _Found:
    with connection.cursor() as cursor:
        cursor.execute(_RANGE_SQL, {"lo": lo, "hi": hi, "since": since, "until": until})
        checked, first, last, content, unplaced, misplaced = cursor.fetchone()
    breaks = [
        (entry_id, rank, problem)
        for rank, (entry_id, problem) in enumerate(
            [(content, CONTENT), (unplaced, UNPLACED), (misplaced, MISPLACED)]
        )
        if entry_id is not None
    ]
    return _Found(checked, first, last, breaks)


def _stored_leaf_hashes(leaves: dict[int, LogLeaf]) -> dict[tuple[str, int], bytes]:
    """The leaf hash stored at each leaf's position (its log's widest level-0 tile)."""
    wanted = {(leaf.log, leaf.position // TILE_WIDTH) for leaf in leaves.values()}
    tiles: dict[tuple[str, int], bytes] = {}
    for log, index, hashes in (
        LogTile.objects.filter(level=0, log__in={log for log, _index in wanted})
        .order_by("log", "index", "width")
        .values_list("log", "index", "hashes")
    ):
        if (log, index) in wanted:
            tiles[(log, index)] = bytes(hashes)  # the widest comes last
    found = {}
    for leaf in leaves.values():
        tile = tiles.get((leaf.log, leaf.position // TILE_WIDTH), b"")
        offset = (leaf.position % TILE_WIDTH) * 32
        found[(leaf.log, leaf.position)] = tile[offset : offset + 32]
    return found


def _check_python(since: dt.datetime, until: dt.datetime) -> _Found:
    """The same checks entry by entry (SQLite: a small, local log)."""
    rows = list(
        AuditEntry.objects.filter(recorded_at__gte=since, recorded_at__lt=until)
        .order_by("id")
        .values_list("id", "recorded_at", "digest", *DIGEST_FIELDS)
    )
    if not rows:
        return _Found()
    ids = [row[0] for row in rows]
    leaves = {leaf.entry_id: leaf for leaf in LogLeaf.objects.filter(entry_id__in=ids)}
    waiting = set(PendingEntry.objects.filter(entry_id__in=ids).values_list("entry_id", flat=True))
    stored = _stored_leaf_hashes(leaves)
    breaks = []
    for entry_id, at, digest, *content in rows:
        digest = bytes(digest)
        if content_digest(content) != digest:
            breaks.append((entry_id, 0, CONTENT))
        leaf = leaves.get(entry_id)
        if leaf is None:
            if entry_id not in waiting:
                breaks.append((entry_id, 1, UNPLACED))
            continue
        computed = merkle.leaf_hash(entry_leaf(entry_id, at, digest))
        if leaf.recorded_at != at or stored[(leaf.log, leaf.position)] != computed:
            breaks.append((entry_id, 2, MISPLACED))
    return _Found(len(rows), ids[0], ids[-1], breaks)


def _check_entries(since: dt.datetime, until: dt.datetime) -> _Found:
    if connection.vendor != "postgresql":
        return _check_python(since, until)
    bounds = AuditEntry.objects.filter(recorded_at__gte=since, recorded_at__lt=until).aggregate(
        lo=Min("id"), hi=Max("id")
    )
    if bounds["lo"] is None:
        return _Found()
    ranges = [
        (lo, min(lo + RANGE_ROWS - 1, bounds["hi"]), since, until)
        for lo in range(bounds["lo"], bounds["hi"] + 1, RANGE_ROWS)
    ]
    found = ranges_checked(_check_range_postgres, ranges)
    firsts = [f.first_id for f in found if f.first_id is not None]
    lasts = [f.last_id for f in found if f.last_id is not None]
    return _Found(
        sum(f.checked for f in found),
        min(firsts, default=None),
        max(lasts, default=None),
        [b for f in found for b in f.breaks],
    )


def archived_until() -> dt.datetime | None:
    """The end of the newest archived month: entries before it are in the
    archive, not in the table."""
    newest = ArchiveCheckpoint.objects.order_by("-last_seq").first()
    return newest.until() if newest is not None else None


def _gone() -> tuple[int, str] | None:
    """A placed or waiting entry that is no longer in the table (and was not archived)."""
    floor = archived_until() or _EVER[0]
    present = AuditEntry.objects.filter(
        id=OuterRef("entry_id"), recorded_at=OuterRef("recorded_at")
    )
    leaf = (
        LogLeaf.objects.filter(recorded_at__gte=floor)
        .exclude(Exists(present))
        .order_by("entry_id")
        .values_list("entry_id", "log", "position")
        .first()
    )
    if leaf is not None:
        entry_id, log, position = leaf
        return entry_id, _("it is gone from the log, but its leaf is at %(place)s") % {
            "place": f"{log}:{position}"
        }
    pending = (
        PendingEntry.objects.exclude(Exists(present))
        .order_by("entry_id")
        .values_list("entry_id", flat=True)
        .first()
    )
    if pending is not None:
        return pending, _("it is gone from the log while waiting for its place")
    return None


def tree_verify(log: str | None = None) -> tuple[bool, str]:
    """The stored tree of ``log`` (default: the newest) against its newest
    checkpoint: the log's signature, every position below its size taken,
    and the stored tiles giving its root."""
    checkpoint = checkpoint_latest(log)
    if checkpoint is None:
        return True, "No checkpoint yet."
    return _tree_check(checkpoint)


def _tree_check(checkpoint: LogCheckpoint) -> tuple[bool, str]:
    log, size = checkpoint.log, checkpoint.size
    body, lines = note_split(checkpoint.note)
    verifier = signing_key().verifier()
    signed = signature_find(lines, verifier)
    if signed is None or not signature_valid(body, signed, verifier):
        return False, _("the newest checkpoint of %(log)s is not signed by the log's key") % {
            "log": log
        }
    placed = LogLeaf.objects.filter(log=log, position__lt=size).count()
    if placed != size:
        return False, _("%(log)s holds %(placed)s of the %(size)s leaves its checkpoint counts") % {
            "log": log,
            "placed": placed,
            "size": size,
        }
    if size and merkle.root(tree_tiles(log), size) != bytes(checkpoint.root):
        return False, _("the stored tiles of %(log)s do not give the checkpoint's root") % {
            "log": log
        }
    return True, f"{log}: {size} entries give the checkpoint's root."


@dataclass(frozen=True)
class LogVerification(Verification):
    # The newest checkpoint of each year's log, as checked (whole log only).
    checkpoints: tuple[LogCheckpoint, ...] = ()
    trees: tuple[str, ...] = ()
    refusals: int = 0

    def describe(self) -> str:
        if self.ok or self.broken_id is not None:
            return super().describe()
        return f"BROKEN: {self.problem} ({self.checked} entries verified)."


def log_verify(
    *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> LogVerification:
    """Check the entries recorded in ``[since, until)`` (default: all of them)
    and, for the whole log, every year's tree and the witnesses' word, and
    name the first broken entry."""
    whole = since is None and until is None
    found = _check_entries(since or _EVER[0], until or _EVER[1])
    first = found.first_break()
    if first is not None:
        entry_id, _rank, problem = first
        return LogVerification(
            False, found.checked, found.first_id, found.last_id, entry_id, str(problem)
        )
    if not whole:
        return LogVerification(True, found.checked, found.first_id, found.last_id)
    gone = _gone()
    if gone is not None:
        return LogVerification(False, found.checked, found.first_id, found.last_id, *gone)
    if not LogLeaf.objects.exists() and ChainHead.objects.filter(seq__gt=0).exists():
        # Not yet carried into the tree: the chain still speaks for them.
        chained = chain_verify()
        if not chained.ok:
            return LogVerification(
                False,
                found.checked,
                found.first_id,
                found.last_id,
                chained.broken_id,
                chained.problem,
            )
    newest = [
        checkpoint_latest(log)
        for log in LogCheckpoint.objects.order_by("log").values_list("log", flat=True).distinct()
    ]
    checkpoints = tuple(c for c in newest if c is not None)
    trees = []
    for checkpoint in checkpoints:
        ok, message = _tree_check(checkpoint)
        if not ok:
            return LogVerification(
                False, found.checked, found.first_id, found.last_id, None, message, checkpoints
            )
        trees.append(message)
    refusals = LogCosignature.objects.filter(refused=True).count()
    if refusals:
        return LogVerification(
            False,
            found.checked,
            found.first_id,
            found.last_id,
            None,
            _("witnesses have refused %(count)s checkpoint(s) of the log") % {"count": refusals},
            checkpoints,
            tuple(trees),
            refusals,
        )
    return LogVerification(
        True, found.checked, found.first_id, found.last_id, None, "", checkpoints, tuple(trees)
    )
