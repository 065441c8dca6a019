"""The Merkle tree of RFC 6962 / RFC 9162 (section 2.1), in pure Python.

Leaf hash ``SHA-256(0x00 || entry)``, node hash ``SHA-256(0x01 || left ||
right)``, the root of an empty tree ``SHA-256("")``. Proofs are generated
over a :class:`NodeSource` — anything that can give the hash of a *perfect*
subtree: the ``2**level`` leaves starting at ``index * 2**level``. Every
other hash a proof or root needs is built from those, so the same functions
serve a list of leaves in memory (:class:`MemoryTree`) and the tiles the
sequencer stores in the database.

The verification functions follow RFC 9162 2.1.3.2 and 2.1.4.2 and need
nothing but hashes: they are what a citizen's lawyer would run, and what the
tests and ``audit_prove`` use. This module imports nothing from Django.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof was asked for positions the tree does not have."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class NodeSource(Protocol):
    def node(self, level: int, index: int) -> bytes:
        """The hash of the perfect subtree over leaves
        ``[index * 2**level, (index + 1) * 2**level)``, which must exist."""
        ...


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n`` > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_hash(source: NodeSource, lo: int, hi: int) -> bytes:
    """MTH of leaves ``[lo, hi)``, where ``lo`` is a multiple of the largest
    power of two not above ``hi - lo`` (true of every range RFC 6962's
    recursion visits)."""
    n = hi - lo
    if n & (n - 1) == 0:
        level = n.bit_length() - 1
        return source.node(level, lo >> level)
    # The right edge: perfect subtrees left to right, folded from the right.
    parts = []
    while lo < hi:
        n = hi - lo
        size = n if n & (n - 1) == 0 else split_point(n)
        level = size.bit_length() - 1
        parts.append(source.node(level, lo >> level))
        lo += size
    result = parts.pop()
    while parts:
        result = node_hash(parts.pop(), result)
    return result


def root(source: NodeSource, size: int) -> bytes:
    return EMPTY_ROOT if size == 0 else range_hash(source, 0, size)


def inclusion_proof(source: NodeSource, index: int, size: int) -> list[bytes]:
    """RFC 6962 ``PATH(index, D[size])``, bottom-up."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    path = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            path.append(range_hash(source, lo + k, hi))
            hi = lo + k
        else:
            path.append(range_hash(source, lo, lo + k))
            lo += k
    path.reverse()
    return path


def consistency_proof(source: NodeSource, old_size: int, new_size: int) -> list[bytes]:
    """RFC 6962 ``PROOF(old_size, D[new_size])``, bottom-up. Empty when the
    sizes are equal or the old tree is empty."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    path = []
    lo, hi, whole = 0, new_size, True
    while True:
        n, m = hi - lo, old_size - lo
        if m == n:
            if not whole:
                path.append(range_hash(source, lo, hi))
            break
        k = split_point(n)
        if m <= k:
            path.append(range_hash(source, lo + k, hi))
            hi = lo + k
        else:
            path.append(range_hash(source, lo, lo + k))
            lo += k
            whole = False
    path.reverse()
    return path


def verify_inclusion(
    *, index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """True when ``proof`` shows the leaf hash ``leaf`` at ``index`` in the
    tree of ``size`` leaves whose root is ``root_hash`` (RFC 9162 2.1.3.2)."""
    if not 0 <= index < size or any(len(h) != HASH_SIZE for h in (leaf, root_hash, *proof)):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(
    *,
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
) -> bool:
    """True when ``proof`` shows the tree ``(new_size, new_root)`` extends the
    tree ``(old_size, old_root)`` by appending only (RFC 9162 2.1.4.2). An
    empty old tree proves nothing and is refused: a witness's first
    checkpoint is taken on trust, every later one by proof."""
    if not 0 < old_size <= new_size or any(len(p) != HASH_SIZE for p in proof):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


class MemoryTree:
    """A tree held in memory, every perfect subtree stored by level: for
    tests, the witness's checks, and small logs."""

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append(h)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append(self, leaf: bytes) -> None:
        self.levels[0].append(leaf)
        level = 0
        while len(self.levels[level]) % 2 == 0:
            row = self.levels[level]
            if level + 1 == len(self.levels):
                self.levels.append([])
            self.levels[level + 1].append(node_hash(row[-2], row[-1]))
            level += 1

    def node(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        return root(self, self.size if size is None else size)
