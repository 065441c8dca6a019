"""The hash chain that preceded the transparency log: a chained log is
verified once and carried into the tree in chain order; verification names
an edited, deleted, inserted or duplicated entry, a head moved back, or a
break at the edge of the ranges checked in parallel."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from consent.audit.chain import chain_verify
from consent.audit.log import LogRefused, sequence_batch
from consent.audit.models import AuditEntry, ChainHead, LogLeaf, PendingEntry
from consent.audit.services import Action, Outcome, Purpose, audit_record
from consent.audit.verify import log_verify
from core.actors import Actor
from tests.consent.audit.conftest import legacy_chain, tamper

pytestmark = pytest.mark.django_db


def _fill(n: int = 6) -> list[AuditEntry]:
    """``n - 1`` entries, then three more (as a search of three citizens wrote them)."""
    return legacy_chain(n + 2, citizen_ids=[*range(1, n), 7, 8, 9])


def test_a_chained_log_verifies_and_is_carried_into_the_tree_in_chain_order() -> None:
    entries = _fill()
    result = chain_verify()
    assert result.ok and result.checked == len(entries)
    # New entries come after the chain, unchained, and wait with it.
    later = audit_record(
        actor=Actor.system("tests.chain"),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=1,
    )
    assert later.id > entries[-1].id and later.chain_hash is None
    assert sequence_batch() == len(entries) + 1
    placed = list(LogLeaf.objects.order_by("position").values_list("entry_id", flat=True))
    assert placed == [e.id for e in entries] + [later.id]
    assert not PendingEntry.objects.exists()
    assert ChainHead.objects.get().seq == entries[-1].id
    assert chain_verify().ok and log_verify().ok


def test_a_broken_chain_is_not_carried_into_the_tree() -> None:
    entries = _fill()
    tamper("UPDATE audit_auditentry SET actor_username = 'x' WHERE id = %s", [entries[2].id])
    with pytest.raises(LogRefused, match=f"BROKEN at entry {entries[2].id}"):
        sequence_batch()
    assert not LogLeaf.objects.exists()
    assert PendingEntry.objects.count() == len(entries)


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
    with pytest.raises(CommandError, match=r"\(audit.param_invalid\)"):
        call_command("audit_verify", "--from", "yesterday")


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
