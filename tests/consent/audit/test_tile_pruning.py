"""A quiet log signed often stores each growing tile again, wider, at every
batch. The owner prunes the narrower copies (docs/decisions/0017): every
checkpoint ever signed keeps its root, its inclusion proofs and its
consistency proofs to every other; the widest copy of a tile can be removed
by no one, and the platform's role removes nothing."""

from __future__ import annotations

import itertools
import random
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.models import Count

from consent.audit import merkle
from consent.audit.log import (
    TILES_PRUNE_SQL,
    entry_leaf,
    inclusion_for_entry,
    sequence_batch,
    tree_tiles,
)
from consent.audit.models import AuditEntry, LogCheckpoint, LogLeaf, LogTile
from consent.audit.services import Action, Purpose, audit_record_many
from consent.audit.verify import tree_verify
from core.actors import Actor
from core.dbroles import act_as_platform, two_roles
from tests.consent.audit.conftest import as_owner

pytestmark = pytest.mark.django_db


def _quiet_log(batches: int = 30) -> list[LogCheckpoint]:
    """Small batches, each signed: the level-0 tile fills and a new one grows,
    and the level-1 tile grows with them."""
    actor, rng, placed = Actor.system("tests.prune"), random.Random(17), 0
    for _ in range(batches):
        count = rng.randint(1, 25)
        audit_record_many(
            actor=actor,
            action=Action.SEARCH,
            purpose=Purpose.TREATMENT,
            citizen_ids=range(placed, placed + count),
        )
        placed += sequence_batch()
    return list(LogCheckpoint.objects.order_by("id"))


def _leaf_hash(position: int, log: str) -> bytes:
    leaf = LogLeaf.objects.get(log=log, position=position)
    entry = AuditEntry.objects.get(id=leaf.entry_id)
    return merkle.leaf_hash(entry_leaf(entry.id, entry.recorded_at, bytes(entry.digest)))


def _copies() -> int:
    return LogTile.objects.count()


def _tiles() -> int:
    return LogTile.objects.values("log", "level", "index").distinct().count()


def _prune_as_owner() -> None:
    as_owner(TILES_PRUNE_SQL, bypass_triggers=False)
    if connection.vendor == "postgresql":
        # as_owner checks the chain head at once; later appends in this test's
        # transaction are checked at its end again, as the platform runs.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS audit_chainhead_names_entry DEFERRED")


def test_every_signed_checkpoint_stays_provable_after_pruning() -> None:
    checkpoints = _quiet_log()
    log = checkpoints[-1].log
    assert checkpoints[-1].size > 256 and len(checkpoints) == 30
    before = _copies()
    assert before > 2 * _tiles()  # copies of the growing tiles, one per batch
    _prune_as_owner()
    assert _copies() == _tiles()
    widest = LogTile.objects.values("level", "index").annotate(n=Count("id"))
    assert all(row["n"] == 1 for row in widest)

    tiles = tree_tiles(log)
    rng = random.Random(6962)
    for checkpoint in checkpoints:
        size, root = checkpoint.size, bytes(checkpoint.root)
        assert merkle.root(tiles, size) == root
        for position in {0, size - 1, rng.randrange(size)}:
            assert merkle.verify_inclusion(
                index=position,
                size=size,
                leaf=_leaf_hash(position, log),
                proof=merkle.inclusion_proof(tiles, position, size),
                root_hash=root,
            )
    for old, new in itertools.combinations(checkpoints, 2):
        assert merkle.verify_consistency(
            old_size=old.size,
            new_size=new.size,
            old_root=bytes(old.root),
            new_root=bytes(new.root),
            proof=merkle.consistency_proof(tiles, old.size, new.size),
        )
    # The log grows on from the pruned tiles.
    audit_record_many(
        actor=Actor.system("tests.prune"),
        action=Action.SEARCH,
        purpose=Purpose.TREATMENT,
        citizen_ids=range(300),
    )
    sequence_batch()
    assert tree_verify(log)[0]
    latest = LogCheckpoint.objects.order_by("-id").first()
    assert latest is not None
    entry_id = LogLeaf.objects.get(log=log, position=latest.size - 1).entry_id
    assert inclusion_for_entry(entry_id).checkpoint.id == latest.id


def test_pruning_twice_removes_nothing_more() -> None:
    _quiet_log(5)
    _prune_as_owner()
    kept = _copies()
    _prune_as_owner()
    assert _copies() == kept == _tiles()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        # A tile's widest copy, alone or with the narrower ones in one statement.
        "DELETE FROM audit_log_tile WHERE (level, index, width) IN "
        "(SELECT level, index, max(width) FROM audit_log_tile GROUP BY level, index)",
        "DELETE FROM audit_log_tile",
        "UPDATE audit_log_tile SET hashes = hashes WHERE width < 256",
        "UPDATE audit_log_tile SET width = 1",
    ],
)
def test_not_even_the_owner_removes_a_tiles_widest_copy_or_changes_one(sql: str) -> None:
    _quiet_log(5)
    before = sorted(LogTile.objects.values_list("level", "index", "width", "hashes"))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL tvaerakut.test_flush = 'off'")
        as_owner(sql, bypass_triggers=False)
    assert sorted(LogTile.objects.values_list("level", "index", "width", "hashes")) == before


@pytest.mark.postgres
@pytest.mark.skipif(not two_roles(), reason="needs the two roles (DATABASE_OWNER_URL)")
def test_the_platforms_role_removes_no_tile() -> None:
    _quiet_log(5)
    before = _copies()
    with (
        pytest.raises(DatabaseError, match="permission denied"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(TILES_PRUNE_SQL)
    assert _copies() == before


@pytest.mark.django_db(transaction=True)
def test_audit_log_prune_runs_as_the_owner() -> None:
    _quiet_log(8)
    superseded = _copies() - _tiles()
    assert superseded > 0
    out = StringIO()
    try:
        call_command("audit_log_prune", stdout=out)
    finally:
        act_as_platform()
    assert f"superseded tile copies removed: {superseded}" in out.getvalue()
    assert _copies() == _tiles()
    assert tree_verify()[0]
