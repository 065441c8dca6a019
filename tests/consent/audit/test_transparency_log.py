"""R9, R5: the audit log as a transparency log — entries placed by the one
sequencer, stored tiles that give the signed checkpoint's root, proofs that
verify with the pure verifier, and a sequencer that dies mid-batch losing
nothing and placing nothing twice."""

from __future__ import annotations

import base64
import datetime as dt
import random
import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consent.audit import merkle
from consent.audit.append import content_digest
from consent.audit.log import (
    checkpoint_latest,
    checkpoint_refresh,
    consistency_between,
    entry_leaf,
    inclusion_for_entries,
    inclusion_for_entry,
    log_name,
    sequence_batch,
    signing_key,
    tree_tiles,
)
from consent.audit.models import (
    DIGEST_FIELDS,
    AuditEntry,
    LogCheckpoint,
    LogLeaf,
    LogTile,
    PendingEntry,
)
from consent.audit.notes import checkpoint_parse, note_split, signature_find, signature_valid
from consent.audit.services import Action, Purpose, audit_record, audit_record_many
from consent.audit.tiles import Tiles, tiles_integrate
from consent.audit.verify import CONTENT, MISPLACED, log_verify, tree_verify
from core.actors import Actor
from core.errors import Conflict, InvalidInput, NotFoundOrNotAllowed
from tests.consent.audit.conftest import RECOMPUTE_DIGESTS, tamper

pytestmark = pytest.mark.django_db


def _record(n: int) -> list[AuditEntry]:
    actor = Actor.system("tests.tlog")
    return [
        audit_record(actor=actor, action=Action.READ, purpose=Purpose.TREATMENT, citizen_id=i)
        for i in range(n)
    ]


def _leaf_hash(entry: AuditEntry) -> bytes:
    stored = AuditEntry.objects.get(id=entry.id)
    return merkle.leaf_hash(entry_leaf(stored.id, stored.recorded_at, bytes(stored.digest)))


def test_tiles_give_the_same_tree_as_memory_across_tile_levels() -> None:
    """Batches of odd sizes, across the edges of level-0 and level-1 tiles
    (256 and 65,536 leaves): every root and proof equals the in-memory tree's."""
    store: dict[tuple[int, int], bytes] = {}
    tiles = Tiles(lambda keys: {k: store[k] for k in keys if k in store})
    memory = merkle.MemoryTree()
    rng = random.Random(6962)
    size = 0
    while size < 66_000:
        end = size + rng.randint(1, 3000)
        batch = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size, end)]
        store.update(tiles_integrate(tiles, size, batch))
        for h in batch:
            memory.append(h)
        size += len(batch)
        fresh = Tiles(lambda keys: {k: store[k] for k in keys if k in store})
        assert merkle.root(fresh, size) == memory.root()
    fresh = Tiles(lambda keys: {k: store[k] for k in keys if k in store})
    for index in (0, 255, 256, 65_535, 65_536, size - 1):
        assert merkle.inclusion_proof(fresh, index, size) == merkle.inclusion_proof(
            memory, index, size
        )
    assert merkle.consistency_proof(fresh, 65_537, size) == merkle.consistency_proof(
        memory, 65_537, size
    )


def test_the_sequencer_places_entries_in_order_and_signs_a_checkpoint() -> None:
    entries = _record(5)
    assert PendingEntry.objects.count() == 5
    assert sequence_batch() == 5
    assert PendingEntry.objects.count() == 0
    log = log_name(timezone.now())
    assert list(LogLeaf.objects.order_by("position").values_list("entry_id", "position")) == [
        (e.id, i) for i, e in enumerate(entries)
    ]
    checkpoint = checkpoint_latest(log)
    assert checkpoint is not None and checkpoint.size == 5
    body, lines = note_split(checkpoint.note)
    parsed = checkpoint_parse(body)
    assert (parsed.origin, parsed.size) == (log, 5)
    assert parsed.root == merkle.MemoryTree([_leaf_hash(e) for e in entries]).root()
    verifier = signing_key().verifier()
    signed = signature_find(lines, verifier)
    assert signed is not None and signature_valid(body, signed, verifier)
    assert not signature_valid(body.replace("\n5\n", "\n6\n"), signed, verifier)
    assert sequence_batch() == 0  # nothing waits; nothing placed twice
    assert tree_verify(log) == (True, f"{log}: 5 entries give the checkpoint's root.")


def test_an_entry_committed_late_is_placed_after_those_placed_before_it() -> None:
    """Ids are handed out before commit, so a writer can commit an entry whose
    id is lower than ones already placed: the sequencer reads what waits, not
    ids above the last it saw."""
    entries = _record(5)
    late = entries[1]
    tamper("DELETE FROM audit_pending WHERE entry_id = %s", [late.id])
    assert sequence_batch() == 4
    tamper(
        "INSERT INTO audit_pending (entry_id, recorded_at) VALUES (%s, %s)",
        [late.id, late.recorded_at],
    )
    assert sequence_batch() == 1
    assert LogLeaf.objects.get(entry_id=late.id).position == 4
    proof = inclusion_for_entry(late.id)
    assert merkle.verify_inclusion(
        index=4,
        size=5,
        leaf=_leaf_hash(late),
        proof=proof.proof,
        root_hash=bytes(proof.checkpoint.root),
    )


def test_every_entry_has_an_inclusion_proof_and_checkpoints_are_consistent() -> None:
    entries = _record(3)
    sequence_batch()
    first = checkpoint_latest()
    actor = Actor.system("tests.tlog")
    entries += audit_record_many(
        actor=actor, action=Action.SEARCH, purpose=Purpose.TREATMENT, citizen_ids=range(300)
    )
    sequence_batch(limit=100)
    sequence_batch()
    latest = checkpoint_latest()
    assert first is not None and latest is not None and latest.size == 303
    for entry in entries[::7] + entries[-1:]:
        proof = inclusion_for_entry(entry.id)
        assert proof.checkpoint.id == latest.id
        assert merkle.verify_inclusion(
            index=proof.position,
            size=latest.size,
            leaf=_leaf_hash(entry),
            proof=proof.proof,
            root_hash=bytes(latest.root),
        )
    path = consistency_between(latest.log, first.size, latest.size)
    assert merkle.verify_consistency(
        old_size=first.size,
        new_size=latest.size,
        old_root=bytes(first.root),
        new_root=bytes(latest.root),
        proof=path,
    )


def test_unknown_entries_waiting_entries_and_sizes_beyond_the_tree_are_refused() -> None:
    [entry] = _record(1)
    with pytest.raises(Conflict) as waiting:
        inclusion_for_entry(entry.id)
    assert waiting.value.code == "audit.entry_not_yet_sequenced"
    sequence_batch()
    with pytest.raises(NotFoundOrNotAllowed) as unknown:
        inclusion_for_entry(entry.id + 1000)
    assert unknown.value.code == "audit.entry_not_found"
    log = log_name(timezone.now())
    with pytest.raises(InvalidInput) as beyond:
        consistency_between(log, 1, 2)
    assert beyond.value.code == "audit.size_beyond_tree"
    with pytest.raises(InvalidInput) as backwards:
        consistency_between(log, 0, 1)
    assert backwards.value.code == "audit.sizes_invalid"


def test_a_new_year_starts_a_new_log_that_names_the_last_checkpoint_of_the_old() -> None:
    _record(2)
    december = dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC)
    sequence_batch(now=december)
    _record(1)
    sequence_batch(now=december + dt.timedelta(minutes=2))
    old = checkpoint_latest(log_name(december))
    new = checkpoint_latest(log_name(december + dt.timedelta(minutes=2)))
    assert old is not None and new is not None and (old.size, new.size) == (2, 1)
    parsed = checkpoint_parse(note_split(new.note)[0])
    root = base64.b64encode(bytes(old.root)).decode()
    assert parsed.extensions == (f"previous {old.log} 2 {root}",)


def test_an_idle_log_is_signed_again_every_minute() -> None:
    _record(1)
    sequence_batch()
    assert checkpoint_refresh() is None
    later = timezone.now() + dt.timedelta(seconds=61)
    again = checkpoint_refresh(now=later)
    assert again is not None and again.size == 1
    assert LogCheckpoint.objects.count() == 2


def test_a_tampered_entry_no_longer_gives_the_leaf_at_its_place() -> None:
    """An edit is named by its entry: its content no longer gives its digest;
    and with the digest recomputed too, its leaf no longer gives the hash
    stored at its place in the tree (whose root the witnesses saw)."""
    entries = _record(4)
    sequence_batch()
    assert log_verify().ok
    tamper("UPDATE audit_auditentry SET actor_username = 'someone' WHERE id = %s", [entries[2].id])
    result = log_verify()
    assert not result.ok and result.broken_id == entries[2].id
    assert result.problem == str(CONTENT)
    if connection.vendor == "postgresql":
        tamper(RECOMPUTE_DIGESTS + " WHERE id = %s", [entries[2].id])
    else:
        edited = AuditEntry.objects.get(id=entries[2].id)
        digest = content_digest([getattr(edited, name) for name in DIGEST_FIELDS])
        tamper("UPDATE audit_auditentry SET digest = %s WHERE id = %s", [digest, entries[2].id])
    result = log_verify()
    assert not result.ok and result.broken_id == entries[2].id
    assert result.problem == str(MISPLACED)
    # The stored tree itself is untouched and still gives the signed root.
    assert tree_verify()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_sequencer_killed_mid_batch_loses_nothing_and_a_second_takes_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first sequencer's connection dies after it has written the batch's
    positions but before it commits; the second, which was waiting on the
    lock, takes over and places every entry exactly once."""
    import consent.audit.log as log_module
    from consent.audit.sequencer import lock_check, sequencer_lock

    entries = _record(6)
    in_batch, cut, first_pid = threading.Event(), threading.Event(), []
    original = log_module.tiles_integrate

    def stalled(*args: object, **kwargs: object) -> object:
        if threading.current_thread().name == "first":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                first_pid.append(cursor.fetchone()[0])
            in_batch.set()
            cut.wait(30)  # until its connection is cut
        return original(*args, **kwargs)

    monkeypatch.setattr(log_module, "tiles_integrate", stalled)
    failures: list[BaseException] = []

    def first() -> None:
        try:
            with sequencer_lock():
                sequence_batch(check=lock_check)
        except DatabaseError as exc:  # the cut connection surfaces here
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=first, name="first", daemon=True)
    thread.start()
    assert in_batch.wait(30)
    assert LogLeaf.objects.count() == 0  # written, not committed

    taken_over = threading.Event()

    def second() -> None:
        with sequencer_lock():
            taken_over.set()
            while sequence_batch(check=lock_check):
                pass
        connection.close()

    waiting = threading.Thread(target=second, name="second", daemon=True)
    waiting.start()
    assert not taken_over.wait(1)  # the first still holds the lock
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [first_pid[0]])
    assert taken_over.wait(30)  # the lock went with the first's session
    cut.set()
    waiting.join(60)
    thread.join(60)
    assert taken_over.is_set() and failures
    placed = list(LogLeaf.objects.order_by("position").values_list("entry_id", flat=True))
    assert placed == [e.id for e in entries]
    assert PendingEntry.objects.count() == 0
    assert tree_verify()[0]


def test_proofs_verify_with_the_tiles_read_back_from_the_database() -> None:
    _record(300)
    sequence_batch(limit=77)
    sequence_batch()
    latest = checkpoint_latest()
    assert latest is not None
    tiles = tree_tiles(latest.log)
    assert merkle.root(tiles, latest.size) == bytes(latest.root)
    with transaction.atomic():
        assert tree_verify()[0]


def test_audit_prove_prints_a_verified_proof_and_audit_verify_checks_the_tree() -> None:
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    entries = _record(3)
    out = StringIO()
    with pytest.raises(CommandError, match=r"audit\.entry_not_yet_sequenced"):
        call_command("audit_prove", str(entries[1].id), stdout=out)
    sequence_batch()
    call_command("audit_prove", str(entries[1].id), stdout=out)
    assert f"OK: entry {entries[1].id} is leaf 1 of" in out.getvalue()
    with pytest.raises(CommandError, match=r"audit\.entry_not_found"):
        call_command("audit_prove", "999999", stdout=out)
    verified = StringIO()
    call_command("audit_verify", stdout=verified)
    assert "Transparency log OK" in verified.getvalue()
    assert "No witness has cosigned" in verified.getvalue()
    tamper("UPDATE audit_auditentry SET digest = %s WHERE id = %s", [b"\x01" * 32, entries[0].id])
    with pytest.raises(CommandError, match="BROKEN"):
        call_command("audit_verify", stdout=StringIO())


def test_audit_sequence_once_places_what_waits_and_health_says_when_it_falls_behind() -> None:
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    call_command("audit_sequence", "--health", stdout=StringIO())  # nothing waits
    _record(3)
    with pytest.raises(CommandError, match="no checkpoint signed"):
        call_command("audit_sequence", "--health", stdout=StringIO())
    out = StringIO()
    call_command("audit_sequence", "--once", stdout=out)
    assert "placed 3 entries" in out.getvalue()
    _record(1)
    call_command("audit_sequence", "--health", stdout=StringIO())  # a fresh checkpoint


@pytest.mark.postgres
def test_a_batch_and_a_proof_take_the_same_few_statements_whatever_their_size() -> None:
    """Round trips do not grow with a batch (its positions, leaves and waiting
    rows are one statement, its tiles one read and one write) nor with the
    tree; an inclusion proof is two statements: place and checkpoint, tiles."""
    actor = Actor.system("tests.tlog")

    def batch_statements(count: int, start: int) -> int:
        audit_record_many(
            actor=actor,
            action=Action.SEARCH,
            purpose=Purpose.TREATMENT,
            citizen_ids=range(start, start + count),
        )
        with CaptureQueriesContext(connection) as queries:
            assert sequence_batch() == count
        return len(queries)

    batch_statements(3, 0)  # the first also verifies the chain once, and looks for last year
    # Savepoint and release, the check for the chain's first placement, the
    # log's checkpoint, the placing statement (and its planner setting),
    # tiles read, tiles written, the checkpoint signed: the same for one
    # entry or seven hundred.
    assert batch_statements(5, 10) == 9
    # Across the edge of a level-0 tile, so two tile levels change at once.
    assert batch_statements(700, 100) == 9
    assert batch_statements(1, 900) == 9
    leaf = LogLeaf.objects.order_by("?").first()
    assert leaf is not None
    with CaptureQueriesContext(connection) as queries:
        proof = inclusion_for_entry(leaf.entry_id).as_dict()
    assert len(queries) == 2
    assert proof["tree_size"] == 709
    # The insight report's proofs: the positions, the log's checkpoint, its tiles.
    entries = list(AuditEntry.objects.order_by("id")[::50])
    with CaptureQueriesContext(connection) as queries:
        proofs = inclusion_for_entries(entries)
    assert len(queries) == 3 and len(proofs) == len(entries) == 15


def test_a_tampered_full_tile_is_seen_even_after_its_subtrees_were_hashed() -> None:
    """The subtrees of a full tile are kept per process, keyed by the tile's
    bytes: a tile changed in the database is hashed anew, never served from
    what its earlier bytes gave."""
    entries = audit_record_many(
        actor=Actor.system("tests.tlog"),
        action=Action.SEARCH,
        purpose=Purpose.TREATMENT,
        citizen_ids=range(300),
    )
    sequence_batch()
    latest = checkpoint_latest()
    assert latest is not None

    def proves_leaf_0() -> bool:
        # Its path holds the subtree of leaves 128..255, hashed from tile 0.
        proof = merkle.inclusion_proof(tree_tiles(latest.log), 0, latest.size)
        return merkle.verify_inclusion(
            index=0,
            size=latest.size,
            leaf=_leaf_hash(entries[0]),
            proof=proof,
            root_hash=bytes(latest.root),
        )

    assert proves_leaf_0()
    full = LogTile.objects.get(log=latest.log, level=0, index=0, width=256)
    hashes = bytes(full.hashes)
    tamper(
        'UPDATE audit_log_tile SET hashes = %s WHERE level = 0 AND "index" = 0 AND width = 256',
        [hashes[: 200 * 32] + b"\x07" * 32 + hashes[201 * 32 :]],
    )
    assert not proves_leaf_0()
