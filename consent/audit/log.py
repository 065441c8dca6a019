"""The audit log as a transparency log: positions, tiles, signed checkpoints
and proofs (docs/audit.md, docs/decisions/0012).

An entry is appended by its writer together with a row saying it awaits its
position (:class:`PendingEntry`). The sequencer (``manage.py audit_sequence``,
one at a time) takes a batch of waiting entries, gives them the next
positions of this year's log, stores the tiles that change, signs a
checkpoint and removes the batch from the waiting set, all in one
transaction: killed halfway, it leaves everything as it found it.

Each entry's leaf is ``id (8 bytes) || recorded_at (8 bytes, epoch µs) ||
digest`` (all big-endian), hashed as RFC 6962 says; the digest is the SHA-256
of the entry's content (``consent.audit.chain``), so anyone holding an entry
can recompute its leaf.

One module, longer than most: placing entries, the tiles they are stored in,
the checkpoints that sign them and the proofs read from those tiles are one
layout, and each part must agree with the others byte for byte.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import os
import secrets
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from consent.audit import merkle
from consent.audit.chain import chain_verify, epoch_us
from consent.audit.errors import entry_id_possible, entry_not_found
from consent.audit.models import (
    AuditEntry,
    ChainHead,
    LogCheckpoint,
    LogCosignature,
    LogInstance,
    LogLeaf,
    LogTile,
    PendingEntry,
)
from consent.audit.notes import (
    Checkpoint,
    NoteKey,
    checkpoint_parse,
    note_sign,
    note_split,
    note_text,
)
from consent.audit.tiles import TileKey, Tiles, tiles_edge, tiles_integrate, tiles_needed
from core.errors import Conflict, InvalidInput, NotFoundOrNotAllowed
from core.sql import run_prepared

# Tables appended to and never changed (the append-only trigger, and the
# platform's role may only select and insert).
APPEND_ONLY = ("audit_log_leaf", "audit_log_tile", "audit_log_checkpoint", "audit_log_cosignature")
# An idle log is signed again this often, so witnesses see it alive.
IDLE_CHECKPOINT = dt.timedelta(minutes=1)
_LEAF_PREFIX = struct.Struct(">qq")


class LogRefused(Exception):
    """The sequencer will not go on: what it found must be looked at first."""


def log_name(at: dt.datetime) -> str:
    """The log (shard) of a year: entries are placed in the log of the year,
    in UTC, in which they are sequenced."""
    return f"{settings.AUDIT_LOG_ORIGIN}/{at.astimezone(dt.UTC).year}"


def entry_leaf(entry_id: int, recorded_at: dt.datetime, digest: bytes | memoryview) -> bytes:
    return _LEAF_PREFIX.pack(entry_id, epoch_us(recorded_at)) + bytes(digest)


def _seed_from_file() -> bytes:
    """A key generated once into var/ (local and DEBUG runs only), linked into
    place whole so that processes starting together agree on it."""
    path = settings.AUDIT_LOG_KEY_FILE
    if path is None:
        raise ImproperlyConfigured("AUDIT_LOG_SIGNING_KEY is required when DEBUG is off.")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        draft.touch(mode=0o600)
        draft.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return base64.b64decode(path.read_text().strip())


@functools.cache
def _signing_key(origin: str, configured: str | None) -> NoteKey:
    seed = base64.b64decode(configured) if configured else _seed_from_file()
    if len(seed) != 32:
        raise ImproperlyConfigured("AUDIT_LOG_SIGNING_KEY must be base64 of 32 bytes.")
    return NoteKey.from_seed(origin, seed)


def signing_key() -> NoteKey:
    """The log's key, named by ``AUDIT_LOG_ORIGIN``: one key (and one name
    for witnesses to know it by) signs every year's log."""
    return _signing_key(settings.AUDIT_LOG_ORIGIN, settings.AUDIT_LOG_SIGNING_KEY)


def log_instance() -> str:
    """This database's log by its random name (:class:`LogInstance`), drawn
    the first time it is asked for. A flushed or new database draws anew."""
    instance, _ = LogInstance.objects.get_or_create(pk=1)
    return str(instance.uid)


# --- the stored tree ------------------------------------------------------------


# The widest copy of each tile asked for: one probe of the tile index per
# tile, reading no narrower copy however many are kept.
_TILES_SQL = """
SELECT k.level, k.index, t.hashes
FROM unnest(%s::integer[], %s::bigint[]) AS k(level, index)
CROSS JOIN LATERAL (
    SELECT hashes FROM audit_log_tile
    WHERE log = %s AND level = k.level AND index = k.index
    ORDER BY width DESC LIMIT 1
) t
"""


def _fetcher(log: str) -> object:
    def fetch(keys: Iterable[TileKey]) -> dict[TileKey, bytes]:
        wanted = list(keys)
        if not wanted:
            return {}
        if connection.vendor == "postgresql":
            levels, indexes = [k[0] for k in wanted], [k[1] for k in wanted]
            rows = run_prepared(_TILES_SQL, [levels, indexes, log], binary=True)
        else:
            where = Q()
            for level, index in wanted:
                where |= Q(level=level, index=index)
            widest = (
                LogTile.objects.filter(
                    log=OuterRef("log"), level=OuterRef("level"), index=OuterRef("index")
                )
                .order_by("-width")
                .values("width")[:1]
            )
            rows = list(
                LogTile.objects.filter(where, log=log, width=Subquery(widest)).values_list(
                    "level", "index", "hashes"
                )
            )
        return {(level, index): bytes(hashes) for level, index, hashes in rows}

    return fetch


def tree_tiles(log: str) -> Tiles:
    return Tiles(_fetcher(log))  # type: ignore[arg-type]


def checkpoint_latest(log: str | None = None) -> LogCheckpoint | None:
    """The newest checkpoint of ``log``, or of the newest log."""
    found = LogCheckpoint.objects.all() if log is None else LogCheckpoint.objects.filter(log=log)
    return found.order_by("-id").first()


def _previous_log_line(log: str, latest: LogCheckpoint | None) -> tuple[str, ...]:
    """A year's log names the last checkpoint of the log before it: found
    once, for the log's first checkpoint, and carried on from its latest."""
    if latest is not None:
        return checkpoint_parse(note_split(latest.note)[0]).extensions
    before = LogCheckpoint.objects.exclude(log=log).order_by("-id").first()
    if before is None:
        return ()
    root = base64.b64encode(bytes(before.root)).decode()
    return (f"previous {before.log} {before.size} {root}",)


def checkpoint_sign(
    log: str, size: int, root: bytes, latest: LogCheckpoint | None = None
) -> LogCheckpoint:
    """Sign ``log`` at ``size``; ``latest`` is its newest checkpoint so far (if any)."""
    body = Checkpoint(log, size, root, _previous_log_line(log, latest)).body()
    note = note_text(body, [note_sign(body, signing_key())])
    return LogCheckpoint.objects.create(
        log=log, size=size, root=root, note=note, signed_at=timezone.now()
    )


def _verify_chain_once() -> None:
    """Before the first entry of the chained log is placed in the tree, the
    chain is verified once: what the tree takes over must be what was chained."""
    if LogLeaf.objects.exists() or not ChainHead.objects.filter(seq__gt=0).exists():
        return
    result = chain_verify()
    if not result.ok:
        raise LogRefused(f"the hash chain does not verify: {result.describe()}")


def sequence_batch(
    *,
    limit: int | None = None,
    now: dt.datetime | None = None,
    check: Callable[[], None] | None = None,
) -> int:
    """Place up to ``limit`` waiting entries in the tree, in entry order, and
    sign a checkpoint. Returns how many were placed (0: none waited).
    ``check`` runs first inside the transaction (the sequencer's lock)."""
    limit = limit or settings.AUDIT_SEQUENCER_BATCH
    with transaction.atomic():
        if check is not None:
            check()
        _verify_chain_once()
        log = log_name(now or timezone.now())
        latest = checkpoint_latest(log)
        size = latest.size if latest else 0
        leaves = _place(log, size, limit)
        if not leaves:
            return 0
        new_size = size + len(leaves)
        tiles = tree_tiles(log)
        # The edge tiles the batch extends and those the new root reads, in one query.
        tiles.prefetch(
            tiles_edge(size) | tiles_needed(lambda source: merkle.root(source, new_size))
        )
        changed = tiles_integrate(tiles, size, leaves)
        LogTile.objects.bulk_create(
            LogTile(log=log, level=level, index=index, width=len(h) // 32, hashes=h)
            for (level, index), h in changed.items()
        )
        checkpoint_sign(log, new_size, merkle.root(tiles, new_size), latest)
    return len(leaves)


def leaf_hashes(rows: Iterable[tuple[int, int | None, bytes | None]]) -> list[bytes]:
    """Leaf hashes of ``(entry id, recorded_at in epoch µs, digest)`` rows; a
    row without a digest is an entry that waited but is gone from the log."""
    pack, leaf_hash = _LEAF_PREFIX.pack, merkle.leaf_hash
    hashes, missing = [], []
    for entry_id, us, digest in rows:
        if us is None or digest is None:
            missing.append(entry_id)
        else:
            hashes.append(leaf_hash(pack(entry_id, us) + digest))
    if missing:
        raise LogRefused(f"entries awaiting a position are gone from the log: {missing[:10]}")
    return hashes


# One statement on PostgreSQL: take the batch from the waiting set, give it
# its positions, and read back each entry's leaf fields in position order. No
# ids travel to the database and back as parameters. Each entry is one probe
# of its month's primary key: the LIMIT 1 keeps the planner from joining the
# batch against the whole log, and the time as a range (rather than "=")
# keeps it from the index on time alone, where the entries of one bulk
# search all share a time.
_PLACE_SQL = """
WITH taken AS (
    DELETE FROM audit_pending WHERE entry_id IN (
        SELECT entry_id FROM audit_pending ORDER BY entry_id LIMIT %s
    )
    RETURNING entry_id, recorded_at
), placed AS (
    INSERT INTO audit_log_leaf (entry_id, log, position, recorded_at)
    SELECT entry_id, %s, %s - 1 + row_number() OVER (ORDER BY entry_id), recorded_at FROM taken
    RETURNING entry_id, position, recorded_at
)
SELECT p.entry_id, e.us, e.digest FROM placed p
LEFT JOIN LATERAL (
    SELECT audit_epoch_us(a.recorded_at) AS us, a.digest FROM audit_auditentry a
    WHERE a.id = p.entry_id
      AND a.recorded_at >= p.recorded_at AND a.recorded_at <= p.recorded_at
    LIMIT 1
) e ON true
ORDER BY p.position
"""


def _place(log: str, size: int, limit: int) -> list[bytes]:
    """Give up to ``limit`` waiting entries the positions from ``size`` on and
    remove them from the waiting set; their leaf hashes in position order."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # A batch's estimated cost would otherwise have it compiled (JIT)
            # each time, which costs more than running it.
            cursor.execute("SET LOCAL jit = off")
        return leaf_hashes(run_prepared(_PLACE_SQL, [limit, log, size], binary=True))
    waiting = list(
        PendingEntry.objects.order_by("entry_id").values_list("entry_id", "recorded_at")[:limit]
    )
    if not waiting:
        return []
    ids = [entry_id for entry_id, _ in waiting]
    found = {
        entry_id: (epoch_us(at), bytes(digest))
        for entry_id, at, digest in AuditEntry.objects.filter(
            id__in=ids,
            recorded_at__gte=min(at for _, at in waiting),
            recorded_at__lte=max(at for _, at in waiting),
        ).values_list("id", "recorded_at", "digest")
    }
    LogLeaf.objects.bulk_create(
        LogLeaf(entry_id=entry_id, log=log, position=size + n, recorded_at=at)
        for n, (entry_id, at) in enumerate(waiting)
    )
    PendingEntry.objects.filter(entry_id__in=ids).delete()
    return leaf_hashes((i, *found.get(i, (None, None))) for i in ids)


# Every node a narrower copy of a tile holds is in its wider copies too (a
# node's hash never changes once its leaves are all there): the narrower ones
# serve no proof for any checkpoint. The tile table's trigger lets only these
# through, and only the database's owner may delete (docs/decisions/0017).
TILES_PRUNE_SQL = """
DELETE FROM audit_log_tile WHERE EXISTS (
    SELECT 1 FROM audit_log_tile wider
    WHERE wider.log = audit_log_tile.log AND wider."level" = audit_log_tile."level"
      AND wider."index" = audit_log_tile."index" AND wider.width > audit_log_tile.width
)
"""


def tiles_prune() -> int:
    """Remove the tile copies that a wider copy of the same tile supersedes,
    as Tessera collects its partial tiles; how many were removed. The
    owner's maintenance (``manage.py audit_log_prune``)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(TILES_PRUNE_SQL)
        return cursor.rowcount


def checkpoint_refresh(
    now: dt.datetime | None = None, check: Callable[[], None] | None = None
) -> LogCheckpoint | None:
    """Sign the newest log again when its last checkpoint is a minute old."""
    now = now or timezone.now()
    with transaction.atomic():
        if check is not None:
            check()
        latest = checkpoint_latest()
        if latest is None or now - latest.signed_at < IDLE_CHECKPOINT:
            return None
        return checkpoint_sign(latest.log, latest.size, bytes(latest.root), latest)


# --- serving checkpoints and proofs ------------------------------------------------


def checkpoint_served(checkpoint: LogCheckpoint) -> str:
    """The checkpoint's signed note with the witnesses' cosignatures added."""
    lines = LogCosignature.objects.filter(checkpoint=checkpoint, refused=False).values_list(
        "signature_line", flat=True
    )
    return checkpoint.note + "".join(lines)


@dataclass(frozen=True)
class InclusionProof:
    entry_id: int
    log: str
    position: int
    leaf: bytes
    proof: list[bytes]
    checkpoint: LogCheckpoint
    citizen_id: int | None = None
    # The checkpoint as served (with its cosignatures), when read with the proof.
    served: str | None = None

    @property
    def leaf_hash(self) -> bytes:
        return merkle.leaf_hash(self.leaf)

    def as_dict(self) -> dict[str, object]:
        return {
            "entry_id": self.entry_id,
            "log": self.log,
            "leaf_index": self.position,
            "tree_size": self.checkpoint.size,
            "leaf": base64.b64encode(self.leaf).decode(),
            "leaf_hash": base64.b64encode(self.leaf_hash).decode(),
            "proof": [base64.b64encode(p).decode() for p in self.proof],
            "checkpoint": self.served or checkpoint_served(self.checkpoint),
        }


@dataclass(frozen=True)
class _Placed:
    """An entry's place in its log, with what its proof is built from."""

    entry_id: int
    log: str
    position: int
    leaf: bytes
    checkpoint: LogCheckpoint
    citizen_id: int | None
    served: str | None = None


def _proofs(placed: list[_Placed]) -> dict[int, InclusionProof]:
    """Inclusion proofs against each entry's checkpoint, the tiles of each
    log read in one query."""
    by_log: dict[str, list[_Placed]] = {}
    for place in placed:
        if place.position < place.checkpoint.size:
            by_log.setdefault(place.log, []).append(place)
    proofs: dict[int, InclusionProof] = {}
    for log, places in by_log.items():
        tiles = tree_tiles(log)
        needed: set[TileKey] = set()
        for place in places:
            index, size = place.position, place.checkpoint.size
            needed |= tiles_needed(
                functools.partial(merkle.inclusion_proof, index=index, size=size)
            )
        tiles.prefetch(needed)
        for place in places:
            proofs[place.entry_id] = InclusionProof(
                place.entry_id,
                log,
                place.position,
                place.leaf,
                merkle.inclusion_proof(tiles, place.position, place.checkpoint.size),
                place.checkpoint,
                place.citizen_id,
                place.served,
            )
    return proofs


def inclusion_for_entries(entries: list[AuditEntry]) -> dict[int, InclusionProof]:
    """Proofs for the entries already placed, against their logs' newest
    checkpoints; an entry still waiting for its position has none yet."""
    leaves = LogLeaf.objects.filter(entry_id__in=[e.id for e in entries])
    positions = {leaf.entry_id: (leaf.log, leaf.position) for leaf in leaves}
    latest = {log: checkpoint_latest(log) for log in {log for log, _ in positions.values()}}
    placed = []
    for entry in entries:
        if entry.id not in positions:
            continue
        log, position = positions[entry.id]
        checkpoint = latest[log]
        if checkpoint is not None:
            leaf = entry_leaf(entry.id, entry.recorded_at, bytes(entry.digest))
            placed.append(_Placed(entry.id, log, position, leaf, checkpoint, entry.citizen_id))
    return _proofs(placed)


# An entry's place, leaf fields and its log's newest checkpoint (with its
# cosignatures) in one query (the entry probed by its key, as above):
# the leaf row gives the entry's month, so the entry is found by its key in
# that month's partition, not looked for by id in every month.
_PLACED_SQL = """
SELECT l.log, l.position, e.recorded_at, e.digest, e.citizen_id,
       c.id, c.size, c.root, c.note, c.signed_at,
       (SELECT string_agg(signature_line, '' ORDER BY id) FROM audit_log_cosignature
        WHERE checkpoint_id = c.id AND NOT refused)
FROM audit_log_leaf l
JOIN audit_auditentry e ON e.id = l.entry_id
    AND e.recorded_at >= l.recorded_at AND e.recorded_at <= l.recorded_at
CROSS JOIN LATERAL (
    SELECT id, size, root, note, signed_at FROM audit_log_checkpoint
    WHERE log = l.log ORDER BY id DESC LIMIT 1
) c
WHERE l.entry_id = %s
"""
_CHECKPOINT_FIELDS = ("id", "log", "size", "root", "note", "signed_at")


def _placed_entry(entry_id: int) -> _Placed | None:
    rows = run_prepared(_PLACED_SQL, [entry_id], binary=True)
    if not rows:
        return None
    log, position, at, digest, citizen_id, checkpoint_id, *checkpoint, cosignatures = rows[0]
    return _Placed(
        entry_id,
        log,
        position,
        entry_leaf(entry_id, at, digest),
        LogCheckpoint.from_db("default", _CHECKPOINT_FIELDS, (checkpoint_id, log, *checkpoint)),
        citizen_id,
        checkpoint[2] + (cosignatures or ""),
    )


NOT_YET_SEQUENCED = "audit.entry_not_yet_sequenced"


def inclusion_for_entry(entry_id: int) -> InclusionProof:
    """The entry's inclusion proof against its log's newest checkpoint."""
    if not entry_id_possible(entry_id):
        raise entry_not_found()
    if connection.vendor == "postgresql":
        placed = _placed_entry(entry_id)
        proof = _proofs([placed]).get(entry_id) if placed else None
    else:
        entry = AuditEntry.objects.filter(id=entry_id).first()
        proof = inclusion_for_entries([entry]).get(entry_id) if entry else None
    if proof is not None:
        return proof
    if not AuditEntry.objects.filter(id=entry_id).exists():
        raise entry_not_found()
    raise Conflict(
        NOT_YET_SEQUENCED,
        "The entry has not yet been given its place in the log; ask again in a moment.",
    )


# The smallest tree a consistency proof starts from: RFC 6962 proves none
# from the empty tree.
SMALLEST_TREE_SIZE = 1


def consistency_between(log: str, old_size: int, new_size: int) -> list[bytes]:
    """The consistency proof between two sizes of ``log``."""
    latest = checkpoint_latest(log)
    if latest is None:
        raise NotFoundOrNotAllowed("audit.log_unknown", "No audit log with this name.")
    if not SMALLEST_TREE_SIZE <= old_size <= new_size:
        raise InvalidInput(
            "audit.sizes_invalid", "The sizes must satisfy 1 <= from <= to.", field="from"
        )
    if new_size > latest.size:
        raise InvalidInput(
            "audit.size_beyond_tree",
            f"The log has {latest.size} entries; no proof for a larger size.",
            field="to",
            params={"size": latest.size},
        )
    tiles = tree_tiles(log)
    tiles.prefetch(
        tiles_needed(lambda source: merkle.consistency_proof(source, old_size, new_size))
    )
    return merkle.consistency_proof(tiles, old_size, new_size)
