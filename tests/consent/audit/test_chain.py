"""R9: the log is hash-chained; audit_verify finds edits, deletions and insertions."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from django.db.models import Max, Min

from consent.audit.chain import GENESIS, chain_verify, epoch_us, link
from consent.audit.models import AuditEntry, ChainHead
from consent.audit.services import Action, Outcome, Purpose, audit_record, audit_record_many
from core.actors import Actor
from tests.consent.audit.conftest import tamper

pytestmark = pytest.mark.django_db


def _fill(n: int = 6) -> list[AuditEntry]:
    actor = Actor.system("tests.chain")
    entries = [
        audit_record(
            actor=actor,
            action=Action.READ,
            purpose=Purpose.TREATMENT,
            citizen_id=i,
            detail={"note": "æøå", "n": i},
        )
        for i in range(1, n)
    ]
    entries += audit_record_many(
        actor=actor, action=Action.SEARCH, purpose=Purpose.TREATMENT, citizen_ids=[7, 8, 7, 9]
    )
    return entries


def test_entries_form_an_unbroken_chain_from_genesis() -> None:
    entries = _fill()
    ids = [e.id for e in entries]
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    # One entry per distinct citizen for a search (BALP).
    assert [e.citizen_id for e in entries[-3:]] == [7, 8, 9]
    stored = list(AuditEntry.objects.order_by("id"))
    current = GENESIS
    for entry in stored:
        current = link(current, bytes(entry.digest), epoch_us(entry.recorded_at))
        assert current == bytes(entry.chain_hash)
    head = ChainHead.objects.get()
    assert head.seq == stored[-1].id and bytes(head.hash) == current
    assert head.at == stored[-1].recorded_at
    result = chain_verify()
    assert result.ok and result.checked == len(stored)


def test_time_follows_chain_order() -> None:
    entries = _fill()
    times = list(AuditEntry.objects.order_by("id").values_list("recorded_at", flat=True))
    assert times == sorted(times)
    assert len(entries) == len(times)


def test_rolled_back_write_leaves_no_entry_and_no_gap() -> None:
    actor = Actor.system("tests.chain")
    audit_record(actor=actor, action=Action.READ, purpose=Purpose.TREATMENT, citizen_id=1)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=actor, action=Action.UPDATE, purpose=Purpose.TREATMENT, citizen_id=2)
        raise RuntimeError("the write failed")
    audit_record(actor=actor, action=Action.READ, purpose=Purpose.TREATMENT, citizen_id=3)
    assert list(AuditEntry.objects.values_list("citizen_id", flat=True).order_by("id")) == [1, 3]
    assert chain_verify().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_appends_go_on_after_the_database_connection_is_replaced() -> None:
    """A web worker's connection is closed between requests (CONN_MAX_AGE) or
    lost when the server restarts; the next append must use the new one."""
    actor = Actor.system("tests.chain")
    first = audit_record(actor=actor, action=Action.READ, purpose=Purpose.TREATMENT, citizen_id=1)
    connection.close()
    second = audit_record(actor=actor, action=Action.READ, purpose=Purpose.TREATMENT, citizen_id=2)
    assert second.id == first.id + 1
    assert list(AuditEntry.objects.values_list("citizen_id", flat=True).order_by("id")) == [1, 2]
    assert chain_verify().ok


def test_verify_names_an_edited_entry() -> None:
    entries = _fill()
    victim = entries[2]
    tamper("UPDATE audit_auditentry SET actor_username = 'someone-else' WHERE id = %s", [victim.id])
    result = chain_verify()
    assert not result.ok and result.broken_id == victim.id
    assert "content" in result.problem


def test_verify_names_an_edited_detail_and_time() -> None:
    entries = _fill()
    tamper(
        "UPDATE audit_auditentry SET detail = %s WHERE id = %s", ['{"note": "x"}', entries[1].id]
    )
    assert chain_verify().broken_id == entries[1].id


def test_verify_notices_a_changed_time() -> None:
    entries = _fill()
    AuditEntry.objects.filter(id=entries[3].id).values_list("recorded_at", flat=True)
    tamper(
        "UPDATE audit_auditentry SET recorded_at = recorded_at + interval '1 second' WHERE id = %s"
        if connection.vendor == "postgresql"
        else "UPDATE audit_auditentry SET recorded_at = '2020-01-01 00:00:00' WHERE id = %s",
        [entries[3].id],
    )
    result = chain_verify()
    assert not result.ok and result.broken_id == entries[3].id


def test_verify_names_a_deleted_entry() -> None:
    entries = _fill()
    tamper("DELETE FROM audit_auditentry WHERE id = %s", [entries[2].id])
    result = chain_verify()
    assert not result.ok and result.broken_id == entries[2].id
    assert "missing" in result.problem


def test_verify_notices_the_last_entry_deleted() -> None:
    entries = _fill()
    tamper("DELETE FROM audit_auditentry WHERE id = %s", [entries[-1].id])
    result = chain_verify()
    assert not result.ok and result.broken_id == entries[-1].id


def _copy_sql(columns: list[str], new_id: str, time: str = "recorded_at") -> str:
    shifted = {"id": new_id, "recorded_at": time, "actor_username": "'forger'"}
    selected = ", ".join(shifted.get(c, c) for c in columns)
    return (
        f"INSERT INTO audit_auditentry ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {selected} FROM audit_auditentry WHERE id = %s"
    )


def test_verify_names_an_inserted_entry() -> None:
    """Room is made in the middle (later ids shifted up) and a forged entry put in."""
    entries = _fill()
    source = entries[3]
    columns = [f.column for f in AuditEntry._meta.concrete_fields]
    tamper("UPDATE audit_auditentry SET id = -id WHERE id > %s", [source.id])
    tamper("UPDATE audit_auditentry SET id = 1 - id WHERE id < 0")
    tamper(_copy_sql(columns, "id + 1"), [source.id])
    tamper("UPDATE audit_chainhead SET seq = seq + 1 WHERE id = 1")
    result = chain_verify()
    assert not result.ok and result.broken_id == source.id + 1


@pytest.mark.postgres
def test_verify_names_a_duplicated_position() -> None:
    """PostgreSQL's key is (id, recorded_at): a second row at a taken position is caught."""
    entries = _fill()
    source = entries[3]
    columns = [f.column for f in AuditEntry._meta.concrete_fields]
    tamper(_copy_sql(columns, "id", "recorded_at + interval '1 microsecond'"), [source.id])
    result = chain_verify()
    assert not result.ok and result.broken_id == source.id


def test_verify_notices_an_entry_beyond_the_head() -> None:
    _fill()
    head = ChainHead.objects.get()
    tamper("UPDATE audit_chainhead SET seq = seq - 1 WHERE id = 1")
    result = chain_verify()
    assert not result.ok and result.broken_id == head.seq


def test_verify_a_time_range(django_capture_on_commit_callbacks: object) -> None:
    entries = _fill()
    since = entries[2].recorded_at
    until = entries[4].recorded_at
    result = chain_verify(since=since, until=until)
    assert result.ok
    assert result.first_id == entries[2].id and result.last_id == entries[3].id
    tamper("UPDATE audit_auditentry SET task = 'forged' WHERE id = %s", [entries[0].id])
    assert chain_verify(since=since, until=until).ok  # outside the range
    assert chain_verify().broken_id == entries[0].id


def test_audit_verify_command_reports_and_fails_on_a_break() -> None:
    entries = _fill()
    from io import StringIO

    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert out.getvalue().startswith("OK:")
    tamper(
        "UPDATE audit_auditentry SET outcome = %s WHERE id = %s", [Outcome.DENIED, entries[1].id]
    )
    with pytest.raises(CommandError, match=f"BROKEN at entry {entries[1].id}"):
        call_command("audit_verify")
    with pytest.raises(CommandError, match="ISO date"):
        call_command("audit_verify", "--from", "yesterday")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_the_chain_intact() -> None:
    """Eight threads, each on its own connection, append at once — single entries,
    searches, and transactions that roll back — and the chain still verifies."""
    errors: list[BaseException] = []
    start = threading.Barrier(8)
    # Start as an emptied database does (no head yet): the writers must agree
    # on who re-creates it instead of taking each other's entries for a broken log.
    assert not AuditEntry.objects.exists()
    tamper("DELETE FROM audit_chainhead")

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
                        audit_record(
                            actor=actor, action=Action.READ, purpose=Purpose.TREATMENT, citizen_id=n
                        )
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    # 8 writers x (5 searches of 2 + 17 reads); rolled-back updates leave nothing.
    assert AuditEntry.objects.count() == 8 * (5 * 2 + 17)
    result = chain_verify()
    assert result.ok, result.describe()
    assert result.checked == 8 * 27
    ids = list(AuditEntry.objects.order_by("id").values_list("id", flat=True))
    assert ids == list(range(ids[0], ids[0] + len(ids)))


def test_detail_with_dates_and_overlong_values_is_stored_and_verifies() -> None:
    import datetime as dt

    actor = Actor.system("tests.chain." + "x" * 300)
    entry = audit_record(
        actor=actor,
        action=Action.UPDATE,
        purpose=Purpose.OPERATIONS,
        citizen_id=1,
        resource_type="R" * 100,
        reason_code="c" * 100,
        detail={"due": dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC), "n": 1.5},
    )
    stored = AuditEntry.objects.get(id=entry.id)
    assert stored.detail == {"due": "2026-01-02T03:04:00Z", "n": 1.5}
    assert len(stored.task) == 200 and len(stored.reason_code) == 64
    assert chain_verify().ok


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
    import subprocess
    import sys

    from tests.conftest import ROOT, worker_env

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
        audit_record(actor=actor, action=Action.READ, purpose=Purpose.TREATMENT, citizen_id=mine)
        mine += 1
    for process in processes:
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, output.decode()[-2000:]
    # Each process: 3 searches of 2 citizens + 27 updates.
    assert AuditEntry.objects.count() == 3 * (3 * 2 + 27) + mine
    times = dict(
        AuditEntry.objects.values_list("task")
        .annotate(first=Min("id"))
        .values_list("task", "first")
    )
    last_main = AuditEntry.objects.filter(task="tests.main").aggregate(last=Max("id"))["last"]
    assert times["tests.process"] < last_main  # the processes wrote while this one did
    result = chain_verify()
    assert result.ok, result.describe()
    assert AuditEntry.objects.filter(task="tests.process").count() == 3 * 33


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ranges_verified_in_parallel_find_breaks_at_and_across_their_edges(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On PostgreSQL the log is checked in ranges on two connections at once;
    a break just after a range's edge, inside a later range, or a run of
    deleted entries spanning two ranges is named exactly as one walk would."""
    import consent.audit.chain as chain

    monkeypatch.setattr(chain, "PG_RANGE_ROWS", 4)
    entries = _fill(16)  # 15 single entries, then a search of 3: 18 in all
    result = chain_verify()
    assert result.ok and result.checked == 18, result.describe()

    def broken_after(sql: str, params: list[object]) -> chain.Verification:
        with transaction.atomic():
            tamper(sql, params)
        return chain_verify()

    # The first entry of the third range (a later range links to the stored hash before it).
    result = broken_after(
        "UPDATE audit_auditentry SET recorded_at = recorded_at + interval '1 microsecond' "
        "WHERE id = %s",
        [entries[8].id],
    )
    assert result.broken_id == entries[8].id and "chain hash" in result.problem
    assert result.checked == 8
    # An earlier break in another range is the one named.
    result = broken_after(
        "UPDATE audit_auditentry SET purpose = 'audit' WHERE id = %s", [entries[5].id]
    )
    assert result.broken_id == entries[5].id and "content" in result.problem
    # Deleted entries across a range edge: the first missing one, and how many.
    result = broken_after(
        "DELETE FROM audit_auditentry WHERE id IN (%s, %s, %s)",
        [entries[2].id, entries[3].id, entries[4].id],
    )
    assert result.broken_id == entries[2].id
    assert result.problem == f"entries {entries[2].id}..{entries[4].id} are missing"
