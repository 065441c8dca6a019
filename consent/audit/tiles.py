"""The Merkle tree's stored hashes, as tiles laid out the way Tessera does.

Tile ``index`` at tile level ``level`` holds up to 256 consecutive node hashes
of tree level ``8 * level``, from node ``256 * index`` on. Every node of the
tree between those levels is the root of a run of hashes inside one tile, so
a proof for a tree of ten million entries reads a handful of tiles. Only the
right edge of each tile level is ever partial; when it grows it is stored
again, wider, and the widest copy is the current one (so the table stays
append-only).

Nothing here touches the database: :class:`Tiles` is given a function that
fetches tiles, and :func:`tiles_integrate` returns the tiles to store.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable

from consent.audit.merkle import HASH_SIZE

HEIGHT = 8
WIDTH = 1 << HEIGHT

TileKey = tuple[int, int]  # (tile level, tile index)
Fetch = Callable[[Iterable[TileKey]], dict[TileKey, bytes]]


class TreeNodeMissing(LookupError):
    """A node the tree should have is not stored: the stored tree is damaged."""


def _halve(run: bytes) -> bytes:
    """The parents of a run of node hashes given concatenated (hashlib called
    directly: a proof computes some 250 nodes per tile level)."""
    sha256, pair = hashlib.sha256, 2 * HASH_SIZE
    return b"".join(sha256(b"\x01" + run[i : i + pair]).digest() for i in range(0, len(run), pair))


def perfect_root(run: bytes) -> bytes:
    """The root over a power-of-two run of node hashes, given concatenated."""
    while len(run) > HASH_SIZE:
        run = _halve(run)
    return run


@functools.lru_cache(maxsize=1024)
def _tile_levels(tile: bytes) -> tuple[bytes, ...]:
    """Every level of the subtrees inside a tile, from the tile's own hashes
    up (of a partial tile, the subtrees complete in it). Keyed by the tile's
    bytes, so never stale: the tiles of the upper levels, which every proof
    reads, are hashed once per process (about 16 KiB each, at most 1,024
    kept)."""
    levels = [tile]
    while len(levels[-1]) >= 2 * HASH_SIZE:
        run = levels[-1]
        levels.append(_halve(run[: len(run) - len(run) % (2 * HASH_SIZE)]))
    return tuple(levels)


class Tiles:
    """A node source (:class:`consent.audit.merkle.NodeSource`) over tiles,
    fetched once each and kept for the life of the object."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._cache: dict[TileKey, bytes] = {}

    def prefetch(self, keys: Iterable[TileKey]) -> None:
        wanted = [k for k in keys if k not in self._cache]
        if wanted:
            found = self._fetch(wanted)
            for key in wanted:
                self._cache[key] = found.get(key, b"")

    def tile(self, level: int, index: int) -> bytes:
        self.prefetch([(level, index)])
        return self._cache[(level, index)]

    def put(self, key: TileKey, hashes: bytes) -> None:
        self._cache[key] = hashes

    def node(self, level: int, index: int) -> bytes:
        tile_level, sub = divmod(level, HEIGHT)
        first = index << sub
        offset = first % WIDTH
        tile = self.tile(tile_level, first // WIDTH)
        end = (offset + (1 << sub)) * HASH_SIZE
        if len(tile) < end:
            raise TreeNodeMissing(f"tree node {level}/{index} is not stored")
        at = (offset >> sub) * HASH_SIZE
        return _tile_levels(tile)[sub][at : at + HASH_SIZE]


class _Recorder:
    """A node source that only notes which tiles its nodes come from."""

    def __init__(self) -> None:
        self.keys: set[TileKey] = set()

    def node(self, level: int, index: int) -> bytes:
        tile_level, sub = divmod(level, HEIGHT)
        self.keys.add((tile_level, (index << sub) // WIDTH))
        return bytes(HASH_SIZE)


def tiles_needed(compute: Callable[[_Recorder], object]) -> set[TileKey]:
    """The tiles a computation over the tree (a proof, a root) will read, so
    they can be fetched in one go."""
    recorder = _Recorder()
    compute(recorder)
    return recorder.keys


def tiles_edge(size: int) -> set[TileKey]:
    """The partial tiles at the right edge of a tree of ``size`` leaves: what
    :func:`tiles_integrate` reads to append to it."""
    keys = set()
    start, level = size, 0
    while start:
        first_tile, offset = divmod(start, WIDTH)
        if offset:
            keys.add((level, first_tile))
        start, level = first_tile, level + 1
    return keys


def tiles_integrate(tiles: Tiles, size: int, leaves: list[bytes]) -> dict[TileKey, bytes]:
    """Append ``leaves`` (leaf hashes) to a tree of ``size`` leaves: the tiles
    that change, with their new contents (also put into ``tiles``)."""
    changed: dict[TileKey, bytes] = {}
    row, start, level = leaves, size, 0
    while row:
        first_tile, offset = divmod(start, WIDTH)
        kept = tiles.tile(level, first_tile)[: offset * HASH_SIZE] if offset else b""
        if len(kept) != offset * HASH_SIZE:
            raise TreeNodeMissing(f"tile {level}/{first_tile} is shorter than the tree")
        run = kept + b"".join(row)
        count = offset + len(row)
        for k in range(0, count, WIDTH):
            key = (level, first_tile + k // WIDTH)
            changed[key] = run[k * HASH_SIZE : (k + WIDTH) * HASH_SIZE]
            tiles.put(key, changed[key])
        # Tiles completed by this run give the next level its new nodes.
        full_after = (start + len(row)) // WIDTH
        row = [perfect_root(changed[(level, i)]) for i in range(first_tile, full_after)]
        start, level = first_tile, level + 1
    return changed
