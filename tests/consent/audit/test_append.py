"""R9: each access is one plain durable insert that waits for its place in the
log; writers share no row and no lock, and nothing they write is lost,
doubled or left out of the tree, whatever commits in whatever order."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading

import pytest
from django.db import connection, connections, transaction

from consent.audit.log import sequence_batch
from consent.audit.models import AuditEntry, LogLeaf, PendingEntry
from consent.audit.services import Action, Purpose, audit_record, audit_record_many
from consent.audit.verify import log_verify
from core.actors import Actor
from tests.conftest import ROOT, worker_env

pytestmark = pytest.mark.django_db


def _read(actor: Actor, citizen_id: int) -> AuditEntry:
    return audit_record(
        actor=actor, action=Action.READ, purpose=Purpose.TREATMENT, citizen_id=citizen_id
    )


def test_an_entry_is_stored_with_its_digest_and_waits_for_its_place() -> None:
    actor = Actor.system("tests.append")
    entry = _read(actor, 1)
    searched = audit_record_many(
        actor=actor, action=Action.SEARCH, purpose=Purpose.TREATMENT, citizen_ids=[7, 8, 7, 9]
    )
    # One entry per distinct citizen for a search (IHE BALP), ids ascending in order.
    assert [e.citizen_id for e in searched] == [7, 8, 9]
    assert entry.id < searched[0].id < searched[1].id < searched[2].id
    stored = AuditEntry.objects.get(id=entry.id)
    assert bytes(stored.digest) == entry.digest and len(entry.digest) == 32
    assert stored.chain_hash is None and stored.recorded_at == entry.recorded_at
    waiting = set(PendingEntry.objects.values_list("entry_id", flat=True))
    assert waiting == {entry.id, *(e.id for e in searched)}
    assert log_verify().ok
    assert sequence_batch() == 4
    assert not PendingEntry.objects.exists() and LogLeaf.objects.count() == 4
    assert log_verify().ok


def test_a_rolled_back_write_leaves_no_entry_and_nothing_waiting() -> None:
    actor = Actor.system("tests.append")
    _read(actor, 1)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=actor, action=Action.UPDATE, purpose=Purpose.TREATMENT, citizen_id=2)
        raise RuntimeError("the write failed")
    _read(actor, 3)
    assert list(AuditEntry.objects.values_list("citizen_id", flat=True).order_by("id")) == [1, 3]
    assert PendingEntry.objects.count() == 2
    sequence_batch()
    assert log_verify().ok


def test_detail_with_dates_and_overlong_values_is_stored_and_verifies() -> None:
    actor = Actor.system("tests.append." + "x" * 300)
    entry = audit_record(
        actor=actor,
        action=Action.UPDATE,
        purpose=Purpose.OPERATIONS,
        citizen_id=1,
        resource_type="R" * 100,
        reason_code="c" * 100,
        detail={"due": dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC), "n": 1.5, "note": "æøå"},
    )
    stored = AuditEntry.objects.get(id=entry.id)
    assert stored.detail == {"due": "2026-01-02T03:04:00Z", "n": 1.5, "note": "æøå"}
    assert len(stored.task) == 200 and len(stored.reason_code) == 64
    sequence_batch()
    assert log_verify().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_appends_go_on_after_the_database_connection_is_replaced() -> None:
    """A web worker's connection is closed between requests (CONN_MAX_AGE) or
    lost when the server restarts; the next append must use the new one."""
    actor = Actor.system("tests.append")
    first = _read(actor, 1)
    connection.close()
    second = _read(actor, 2)
    assert second.id > first.id
    assert list(AuditEntry.objects.values_list("citizen_id", flat=True).order_by("id")) == [1, 2]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_writer_does_not_wait_for_another_writers_open_transaction() -> None:
    """The entry of a transaction still open holds nothing another writer
    needs: a second writer appends and commits meanwhile, and the sequencer
    places what is committed and picks up the late one when it commits."""
    holding, release = threading.Event(), threading.Event()
    slow: list[AuditEntry] = []
    errors: list[BaseException] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                slow.append(_read(Actor.system("tests.slow"), 1))
                holding.set()
                release.wait(timeout=60)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    try:
        assert holding.wait(timeout=30)
        # Under the chain head's lock, this append would wait for the slow
        # writer's commit; with a plain insert it commits at once.
        fast = _read(Actor.system("tests.fast"), 2)
        assert fast.id > slow[0].id
        assert sequence_batch() == 1
        assert list(LogLeaf.objects.values_list("entry_id", flat=True)) == [fast.id]
    finally:
        release.set()
        thread.join(timeout=60)
    assert not errors, errors
    assert sequence_batch() == 1
    placed = list(LogLeaf.objects.order_by("position").values_list("entry_id", flat=True))
    assert placed == [fast.id, slow[0].id]
    assert log_verify().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_lose_nothing_and_double_nothing() -> None:
    """Eight threads, each on its own connection, append at once — single
    entries, searches, and transactions that roll back — while the sequencer
    places what has committed; every committed entry ends up in the tree once."""
    errors: list[BaseException] = []
    start = threading.Barrier(9)
    done = threading.Event()

    def writer(n: int) -> None:
        try:
            actor = Actor.system(f"tests.writer{n}")
            start.wait()
            for i in range(25):
                if i % 5 == 0:
                    audit_record_many(
                        actor=actor,
                        action=Action.SEARCH,
                        purpose=Purpose.TREATMENT,
                        citizen_ids=[n * 1000 + i, n * 1000 + i + 1],
                    )
                elif i % 7 == 0:
                    try:
                        with transaction.atomic():
                            audit_record(
                                actor=actor,
                                action=Action.UPDATE,
                                purpose=Purpose.TREATMENT,
                                citizen_id=n,
                            )
                            raise RuntimeError("rolled back")
                    except RuntimeError:
                        pass
                else:
                    with transaction.atomic():
                        _read(actor, n)
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread below
            errors.append(exc)
        finally:
            connections.close_all()

    def sequencer() -> None:
        try:
            start.wait()
            while not done.is_set():
                sequence_batch(limit=20)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    placing = threading.Thread(target=sequencer)
    placing.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    done.set()
    placing.join(timeout=120)
    assert not errors, errors
    while sequence_batch():
        pass
    # 8 writers x (5 searches of 2 + 17 reads); rolled-back updates leave nothing.
    ids = list(AuditEntry.objects.values_list("id", flat=True))
    assert len(ids) == len(set(ids)) == 8 * (5 * 2 + 17)
    placed = list(LogLeaf.objects.values_list("entry_id", flat=True))
    assert sorted(placed) == sorted(ids)
    assert not PendingEntry.objects.exists()
    result = log_verify()
    assert result.ok and result.checked == len(ids), result.describe()


WRITER_SCRIPT = """
import django
django.setup()
from django.db import transaction
from consent.audit.services import audit_record, audit_record_many
from core.actors import Actor
actor = Actor.system("tests.process")
for i in range(30):
    if i % 10 == 0:
        audit_record_many(actor=actor, action="search", purpose="treatment", citizen_ids=[i, i + 1])
    else:
        with transaction.atomic():
            audit_record(actor=actor, action="update", purpose="treatment", citizen_id=i)
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_separate_processes_and_this_one_write_at_once() -> None:
    """Like web and Celery workers: three OS processes and this test append together."""
    env = worker_env(DJANGO_SETTINGS_MODULE="config.settings")
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER_SCRIPT],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(3)
    ]
    actor = Actor.system("tests.main")
    # Keep writing until every process is done, so the writes overlap.
    mine = 0
    while mine < 30 or any(p.poll() is None for p in processes):
        _read(actor, mine)
        mine += 1
    for process in processes:
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, output.decode()[-2000:]
    # Each process: 3 searches of 2 citizens + 27 updates.
    assert AuditEntry.objects.filter(task="tests.process").count() == 3 * 33
    assert AuditEntry.objects.count() == 3 * 33 + mine
    while sequence_batch():
        pass
    result = log_verify()
    assert result.ok and result.checked == 3 * 33 + mine, result.describe()
