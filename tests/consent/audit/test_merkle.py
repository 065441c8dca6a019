"""The RFC 6962 Merkle tree: hashes, roots and proofs against the RFC's and
transparency-dev's published vectors, and proofs checked by the verifier
for every position of trees of many shapes."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from consent.audit.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS = json.loads(
    (Path(__file__).parent / "vectors" / "transparency_dev_merkle.json").read_text()
)

# transparency-dev/merkle testonly.LeafInputs() and RootHashes() (RFC 6962 vectors).
LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243")] + [
    bytes.fromhex("5051525354555657"),
    bytes.fromhex("606162636465666768696a6b6c6d6e6f"),
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _proof(vector: dict[str, Any]) -> list[bytes]:
    return [_b64(p) for p in vector["proof"] or []]


def _name(vector: dict[str, Any]) -> str:
    return str(vector["file"])


def test_hashes_match_rfc_6962() -> None:
    assert EMPTY_ROOT.hex() == ROOTS[0]
    assert leaf_hash(b"").hex() == ROOTS[1]
    assert leaf_hash(b"L123456").hex() == (
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert node_hash(b"N123", b"N456").hex() == (
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


@pytest.mark.parametrize("size", range(len(ROOTS)))
def test_root_of_every_prefix_matches_the_vectors(size: int) -> None:
    tree = MemoryTree([leaf_hash(x) for x in LEAVES])
    assert tree.root(size).hex() == ROOTS[size]


@pytest.mark.parametrize("vector", VECTORS["inclusion"], ids=_name)
def test_inclusion_vectors_verify_or_are_refused(vector: dict[str, Any]) -> None:
    ok = verify_inclusion(
        index=vector["leafIdx"],
        size=vector["treeSize"],
        leaf=_b64(vector["leafHash"]),
        proof=_proof(vector),
        root_hash=_b64(vector["root"]),
    )
    assert ok is not vector["wantErr"]


@pytest.mark.parametrize("vector", VECTORS["consistency"], ids=_name)
def test_consistency_vectors_verify_or_are_refused(vector: dict[str, Any]) -> None:
    ok = verify_consistency(
        old_size=vector["size1"],
        new_size=vector["size2"],
        old_root=_b64(vector["root1"]),
        new_root=_b64(vector["root2"]),
        proof=_proof(vector),
    )
    assert ok is not vector["wantErr"]


def _happy(kind: str) -> list[dict[str, Any]]:
    return [v for v in VECTORS[kind] if v["file"].endswith("happy-path.json")]


@pytest.mark.parametrize("vector", _happy("inclusion"), ids=_name)
def test_generated_inclusion_proofs_equal_the_vectors(vector: dict[str, Any]) -> None:
    tree = MemoryTree([leaf_hash(x) for x in LEAVES])
    assert inclusion_proof(tree, vector["leafIdx"], vector["treeSize"]) == _proof(vector)


@pytest.mark.parametrize("vector", _happy("consistency"), ids=_name)
def test_generated_consistency_proofs_equal_the_vectors(vector: dict[str, Any]) -> None:
    tree = MemoryTree([leaf_hash(x) for x in LEAVES])
    assert consistency_proof(tree, vector["size1"], vector["size2"]) == _proof(vector)


def test_every_proof_of_trees_up_to_70_leaves_verifies_and_a_flipped_bit_does_not() -> None:
    tree = MemoryTree([leaf_hash(i.to_bytes(4, "big")) for i in range(70)])
    for size in range(1, tree.size + 1):
        root_hash = tree.root(size)
        for index in range(size):
            proof = inclusion_proof(tree, index, size)
            leaf = tree.node(0, index)
            assert verify_inclusion(
                index=index, size=size, leaf=leaf, proof=proof, root_hash=root_hash
            )
            other = leaf[:-1] + bytes([leaf[-1] ^ 1])
            assert not verify_inclusion(
                index=index, size=size, leaf=other, proof=proof, root_hash=root_hash
            )
        for old in range(1, size + 1):
            proof = consistency_proof(tree, old, size)
            old_root = tree.root(old)
            assert verify_consistency(
                old_size=old, new_size=size, old_root=old_root, new_root=root_hash, proof=proof
            )
            if proof:
                bent = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
                assert not verify_consistency(
                    old_size=old, new_size=size, old_root=old_root, new_root=root_hash, proof=bent
                )


def test_a_rewritten_leaf_breaks_consistency_with_the_old_root() -> None:
    honest = MemoryTree([leaf_hash(bytes([i])) for i in range(10)])
    forged = MemoryTree([leaf_hash(bytes([i if i != 3 else 99])) for i in range(12)])
    proof = consistency_proof(forged, 10, 12)
    assert not verify_consistency(
        old_size=10, new_size=12, old_root=honest.root(), new_root=forged.root(), proof=proof
    )


def test_proofs_for_positions_beyond_the_tree_are_refused() -> None:
    tree = MemoryTree([leaf_hash(b"a"), leaf_hash(b"b")])
    with pytest.raises(ProofError):
        inclusion_proof(tree, 2, 2)
    with pytest.raises(ProofError):
        consistency_proof(tree, 3, 2)
