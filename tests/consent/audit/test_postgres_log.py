"""R9 on PostgreSQL: the database refuses UPDATE, DELETE and TRUNCATE on the log;
the log is partitioned by month; old months are archived without breaking
verification of what remains."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from consent.audit.log import sequence_batch
from consent.audit.models import ArchiveCheckpoint, AuditEntry, LogLeaf
from consent.audit.partitions import monthly_partitions, partition_archive, partitions_ensure
from consent.audit.services import Action, Purpose, audit_record
from consent.audit.verify import log_verify
from core.actors import Actor
from core.dbroles import act_as_platform, two_roles
from core.errors import Conflict
from tests.consent.audit.conftest import as_owner, tamper

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _record(n: int = 3) -> list[AuditEntry]:
    actor = Actor.system("tests.pg")
    return [
        audit_record(actor=actor, action=Action.READ, purpose=Purpose.TREATMENT, citizen_id=i)
        for i in range(n)
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditentry SET task = 'x'",
        "DELETE FROM audit_auditentry",
        "TRUNCATE audit_auditentry",
        "UPDATE {partition} SET task = 'x'",
        "DELETE FROM {partition}",
        "TRUNCATE {partition}",
        "TRUNCATE audit_auditentry_default",
    ],
)
@pytest.mark.parametrize("who", ["platform", "owner"])
def test_the_database_refuses_changes_to_the_log(sql: str, who: str) -> None:
    """The platform's role has no right to change the log (with one role, the
    trigger refuses it); the owner, who has, is refused by the trigger."""
    entries = _record()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM audit_auditentry WHERE id = %s", [entries[0].id]
        )
        partition = cursor.fetchone()[0]
    refused = "permission denied" if who == "platform" and two_roles() else "append-only"
    with (
        pytest.raises(DatabaseError, match=refused),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        # The test runner's own exemption (test databases only) is switched off here.
        cursor.execute("SET LOCAL tvaerakut.test_flush = 'off'")
        if who == "owner":
            as_owner(sql.format(partition=partition), bypass_triggers=False)
        else:
            cursor.execute(sql.format(partition=partition))
    assert AuditEntry.objects.count() == 3
    assert log_verify().ok


def test_entries_land_in_this_months_partition() -> None:
    entry = _record(1)[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM audit_auditentry WHERE id = %s", [entry.id]
        )
        assert (
            cursor.fetchone()[0]
            == f"audit_auditentry_y{entry.recorded_at:%Y}m{entry.recorded_at:%m}"
        )


def test_maintenance_creates_months_ahead_and_the_default_takes_the_rest() -> None:
    created = partitions_ensure(months_ahead=2, today=dt.date(2031, 11, 5))
    assert created == [
        "audit_auditentry_y2031m11",
        "audit_auditentry_y2031m12",
        "audit_auditentry_y2032m01",
    ]
    assert partitions_ensure(months_ahead=2, today=dt.date(2031, 11, 5)) == []
    # A row for a month without a partition is not refused: the default takes it.
    tamper(
        "INSERT INTO audit_auditentry (id, recorded_at, actor_username, actor_role, "
        "actor_organisation_name, task, action, resource_type, resource_id, purpose, outcome, "
        "reason_code, request_id, user_agent, detail, digest, chain_hash) VALUES (999999, "
        "'2040-05-05T00:00:00Z', '', '', '', 't', 'read', '', '', 'treatment', 'permitted', "
        "'', '', '', '{}', '\\x00', '\\x00')"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM audit_auditentry WHERE id = 999999")
        assert cursor.fetchone()[0] == "audit_auditentry_default"
    # Creating that month now is skipped (its rows stay in the default), not an error.
    assert partitions_ensure(months_ahead=0, today=dt.date(2040, 5, 1)) == []


@pytest.mark.django_db(transaction=True)
def test_archive_detaches_a_month_and_verification_continues(tmp_path: Path) -> None:
    """Older entries are moved into a past month's partition (as if recorded
    then), placed in the tree, archived to a file by the owner; the rest still
    verifies, and the archived entries' leaves stay in the tree."""
    entries = _record(5)
    partitions_ensure(months_ahead=0, today=dt.date(2020, 1, 1))
    _move_to(entries[:3], dt.datetime(2020, 1, 10, tzinfo=dt.UTC))

    def archive() -> str:
        out = StringIO()
        try:
            call_command("audit_archive", "--before", "2020-02", "--dir", str(tmp_path), stdout=out)
        finally:
            act_as_platform()
        return out.getvalue()

    # Not while its entries still wait for their place in the tree.
    with pytest.raises(CommandError, match="still wait for their place"):
        archive()
    sequence_batch()
    assert log_verify().ok
    assert "archived audit_auditentry_y2020m01: 3 entries" in archive()
    file = tmp_path / "audit_auditentry_y2020m01.jsonl"
    lines = file.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [e.id for e in entries[:3]]
    checkpoint = ArchiveCheckpoint.objects.get()
    assert checkpoint.last_seq == entries[2].id
    assert checkpoint.file_sha256 == hashlib.sha256(file.read_bytes()).hexdigest()
    assert "audit_auditentry_y2020m01" not in [name for name, _ in monthly_partitions()]
    result = log_verify()
    assert result.ok and result.checked == 2 and result.first_id == entries[3].id
    # Proofs for archived entries' places can still be served from the tree.
    assert LogLeaf.objects.filter(entry_id=entries[0].id).exists()
    # Tampering with what remains is still caught; so is an entry deleted from it.
    tamper("UPDATE audit_auditentry SET task = 'x' WHERE id = %s", [entries[4].id])
    assert log_verify().broken_id == entries[4].id
    tamper("DELETE FROM audit_auditentry WHERE id = %s", [entries[3].id])
    result = log_verify()
    assert result.broken_id in {entries[3].id, entries[4].id}
    tamper("UPDATE audit_auditentry SET task = 'tests.pg' WHERE id = %s", [entries[4].id])
    result = log_verify()
    assert result.broken_id == entries[3].id and "mangler i loggen" in result.problem


def test_archive_refuses_out_of_order(tmp_path: Path) -> None:
    _record(2)
    months = monthly_partitions()
    with pytest.raises(Conflict):
        partition_archive(partition=months[-1][0], directory=tmp_path)


def test_a_month_that_has_not_ended_is_not_archived(tmp_path: Path) -> None:
    """``--before`` a month ahead took the current month, still written to, and
    the months created ahead: detached and dropped, their entries would go
    to the default partition."""
    _record(2)
    sequence_batch()
    held = monthly_partitions()
    next_month = (dt.date.today().replace(day=28) + dt.timedelta(days=4)).strftime("%Y-%m")
    try:
        with pytest.raises(CommandError, match="a month is archived once it is over"):
            call_command("audit_archive", "--before", next_month, "--dir", str(tmp_path))
    finally:
        act_as_platform()
    oldest, month = held[0]
    with pytest.raises(Conflict) as refused:
        partition_archive(
            partition=oldest,
            directory=tmp_path,
            now=dt.datetime(month.year, month.month, 2, tzinfo=dt.UTC),
        )
    assert refused.value.code == "audit.archive_month_not_over"
    assert monthly_partitions() == held and not ArchiveCheckpoint.objects.exists()
    assert not list(tmp_path.iterdir())


def _move_to(entries: list[AuditEntry], at: dt.datetime) -> None:
    """Test set-up only: give entries (and their places in the queue) an older time."""
    for i, entry in enumerate(entries):
        moved = at + dt.timedelta(seconds=i)
        tamper("UPDATE audit_auditentry SET recorded_at = %s WHERE id = %s", [moved, entry.id])
        tamper("UPDATE audit_pending SET recorded_at = %s WHERE entry_id = %s", [moved, entry.id])
