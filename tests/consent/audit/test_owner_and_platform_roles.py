"""The audit log against its own database roles, on PostgreSQL.

- The platform's role (the tests' connection when ``DATABASE_OWNER_URL`` is
  set, as in CI) appends to the log and nothing more: it cannot switch the
  triggers off, change or remove entries, move the head back or write the
  archive's checkpoints.
- The chain head only moves forward, whoever asks (the owner included, unless
  a superuser switches the triggers off).
- An owner who cuts the newest entries off and moves the head back keeps a
  chain that verifies; the head checkpoint kept outside the database catches
  it, and ``audit_verify`` exits 1 saying so.
"""

from __future__ import annotations

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from consent.audit.chain import chain_verify
from consent.audit.models import AuditEntry, ChainHead
from consent.audit.services import Action, Purpose, audit_record
from core.actors import Actor
from core.dbroles import platform_role, two_roles
from tests.conftest import ROOT, worker_env
from tests.consent.audit.conftest import as_owner, tamper

pytestmark = pytest.mark.postgres

needs_two_roles = pytest.mark.skipif(
    not two_roles(),
    reason="needs the two roles: set DATABASE_OWNER_URL beside DATABASE_URL (CI always does)",
)


def _record(n: int) -> list[AuditEntry]:
    actor = Actor.system("tests.roles")
    return [
        audit_record(actor=actor, action=Action.READ, purpose=Purpose.TREATMENT, citizen_id=i + 1)
        for i in range(n)
    ]


def _refused(sql: str, match: str) -> None:
    with (
        pytest.raises(DatabaseError, match=match),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL tvaerakut.test_flush = 'off'")
        cursor.execute(sql)


def _this_month() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM audit_auditentry ORDER BY id DESC LIMIT 1"
        )
        return cursor.fetchone()[0]


@needs_two_roles
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sql", "match"),
    [
        ("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only", "must be owner"),
        ("ALTER TABLE audit_auditentry DISABLE TRIGGER ALL", "must be owner"),
        ("ALTER TABLE audit_chainhead DISABLE TRIGGER audit_chainhead_forward_only", "owner"),
        ("DROP TRIGGER audit_entry_append_only ON audit_auditentry", "must be owner"),
        ("ALTER TABLE audit_auditentry DETACH PARTITION {partition}", "must be owner"),
        ("SET session_replication_role = replica", "permission denied"),
        ("UPDATE audit_auditentry SET task = 'x'", "permission denied"),
        ("DELETE FROM audit_auditentry", "permission denied"),
        ("TRUNCATE audit_auditentry", "permission denied"),
        ("SELECT * FROM {partition}", "permission denied"),
        ("DELETE FROM {partition}", "permission denied"),
        ("DELETE FROM audit_chainhead", "permission denied"),
        ("TRUNCATE audit_chainhead", "permission denied"),
        ("UPDATE audit_chainhead SET seq = seq - 1, hash = 'x'", "only moves forward"),
        ("UPDATE audit_chainhead SET hash = 'x'", "only moves forward"),
        ("INSERT INTO audit_archivecheckpoint (partition) VALUES ('x')", "permission denied"),
        ("DELETE FROM audit_archivecheckpoint", "permission denied"),
        ("UPDATE django_migrations SET app = 'x'", "permission denied"),
        ("CREATE TABLE audit_shadow (id int)", "permission denied"),
        (
            "CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
            "must be owner|permission denied for schema",
        ),
    ],
)
def test_the_platforms_role_cannot_change_the_log(sql: str, match: str) -> None:
    entries = _record(3)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == platform_role()
    _refused(sql.format(partition=_this_month()), match)
    assert list(AuditEntry.objects.order_by("id").values_list("id", flat=True)) == [
        e.id for e in entries
    ]
    assert ChainHead.objects.get().seq == entries[-1].id
    assert chain_verify().ok


@needs_two_roles
@pytest.mark.django_db
def test_the_platforms_role_has_its_rights_and_no_more() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user"
        )
        assert cursor.fetchone() == (False, False, False, False)
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND pg_get_userbyid(c.relowner) = current_user"
        )
        assert cursor.fetchone()[0] == 0, "the platform's role owns nothing"

        def rights(table: str) -> set[str]:
            cursor.execute(
                "SELECT p FROM unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE',"
                "'REFERENCES','TRIGGER']) p WHERE has_table_privilege(current_user, %s, p)",
                [table],
            )
            return {row[0] for row in cursor.fetchall()}

        assert rights("audit_auditentry") == {"SELECT", "INSERT"}
        assert rights("audit_chainhead") == {"SELECT", "INSERT", "UPDATE"}
        assert rights("audit_archivecheckpoint") == {"SELECT"}
        # Beside the log, and everywhere else: the ordinary rights.
        assert rights("audit_auditflag") == {"SELECT", "INSERT", "UPDATE", "DELETE"}
        assert rights("acute_referral") == {"SELECT", "INSERT", "UPDATE", "DELETE"}
        assert rights("core_citizen") == {"SELECT", "INSERT", "UPDATE", "DELETE"}


@pytest.mark.django_db
def test_even_the_owner_cannot_move_the_head_back_or_remove_it() -> None:
    """With the triggers in force, the owner's rights do not let the head go
    back, change its hash in place, disappear or start over."""
    _record(3)
    for sql, match in [
        ("UPDATE audit_chainhead SET seq = seq - 1", "only moves forward"),
        ("UPDATE audit_chainhead SET hash = sha256('x')", "only moves forward"),
        ("DELETE FROM audit_chainhead", "cannot be removed"),
        ("TRUNCATE audit_chainhead", "append-only"),
    ]:
        with pytest.raises(DatabaseError, match=match), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL tvaerakut.test_flush = 'off'")
            as_owner(sql, bypass_triggers=False)
    # Moving forward to a position no entry holds is refused when it commits.
    with (
        pytest.raises(DatabaseError, match="does not name the newest entry"),
        transaction.atomic(),
    ):
        as_owner("UPDATE audit_chainhead SET seq = seq + 5", bypass_triggers=False)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert chain_verify().ok


@needs_two_roles
@pytest.mark.django_db
def test_a_session_of_its_own_tables_does_not_fool_the_heads_check() -> None:
    """A temporary table named like the log is the session's first choice for
    that name; the head's check at commit still looks at the real log."""
    _record(2)
    with (
        pytest.raises(DatabaseError, match="does not name the newest entry"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("CREATE TEMP TABLE audit_auditentry (LIKE public.audit_auditentry)")
        cursor.execute(
            "INSERT INTO audit_auditentry (id, recorded_at, actor_username, actor_role, "
            "actor_organisation_name, task, action, resource_type, resource_id, purpose, "
            "outcome, reason_code, request_id, user_agent, detail, digest, chain_hash) "
            "SELECT seq + 5, at, '', '', '', '', 'read', '', '', 'treatment', 'permitted', "
            "'', '', '', '{}', '\\x00', sha256('forged') FROM audit_chainhead"
        )
        cursor.execute("UPDATE audit_chainhead SET seq = seq + 5, hash = sha256('forged')")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert chain_verify().ok


@pytest.mark.django_db
def test_a_head_is_only_created_at_genesis_on_an_empty_log() -> None:
    _record(2)
    tamper("DELETE FROM audit_chainhead")
    with pytest.raises(DatabaseError, match="starts at genesis"), transaction.atomic():
        as_owner(
            "INSERT INTO audit_chainhead (id, seq, hash) VALUES (1, 0, "
            "sha256(convert_to('tvaerakut audit log genesis', 'UTF8')))",
            bypass_triggers=False,
        )


@pytest.mark.django_db
def test_verify_and_checkpoint_catch_a_cut_tail_and_a_rewound_head(tmp_path: Path) -> None:
    checkpoints = tmp_path / "audit-head.jsonl"
    entries = _record(6)
    out = StringIO()
    call_command("audit_checkpoint", "--file", str(checkpoints), stdout=out)
    assert f"Checkpoint at entry {entries[-1].id}" in out.getvalue()
    # Nothing new: the same head is not written twice.
    call_command("audit_checkpoint", "--file", str(checkpoints), stdout=StringIO())
    assert len(checkpoints.read_text().splitlines()) == 1

    _cut_tail_and_rewind(entries, keep=4)
    # The chain alone still verifies: that is what the checkpoint is for.
    assert chain_verify(checkpoint_file=tmp_path / "none.jsonl").ok
    result = chain_verify(checkpoint_file=checkpoints)
    assert not result.ok
    assert result.broken_id == entries[4].id
    assert "behind the last checkpoint" in result.problem
    with pytest.raises(CommandError, match=rf"entries {entries[4].id}\.\.{entries[5].id} were cut"):
        call_command("audit_verify", "--checkpoint", str(checkpoints), stdout=StringIO())
    # Nor is a checkpoint written over it.
    with pytest.raises(CommandError, match="behind the last checkpoint"):
        call_command("audit_checkpoint", "--file", str(checkpoints), stdout=StringIO())


@pytest.mark.django_db
def test_checkpoint_catches_a_log_rewritten_through_it(tmp_path: Path) -> None:
    """Cut off and then written again with other entries up to the same
    position: the head is no longer behind, but the log no longer passes
    through the checkpoint."""
    checkpoints = tmp_path / "audit-head.jsonl"
    entries = _record(4)
    call_command("audit_checkpoint", "--file", str(checkpoints), stdout=StringIO())
    _cut_tail_and_rewind(entries, keep=2)
    refill = _record(3)
    assert refill[1].id == entries[3].id
    result = chain_verify(checkpoint_file=checkpoints)
    assert not result.ok and result.broken_id == entries[3].id
    assert "no longer passes through the last checkpoint" in result.problem


def _cut_tail_and_rewind(entries: list[AuditEntry], *, keep: int) -> None:
    """The owner's rewrite, with the triggers switched off: the newest entries
    deleted (and their places in the sequencer's queue) and the head set back
    to the last one kept."""
    last = entries[keep - 1]
    tamper("DELETE FROM audit_auditentry WHERE id > %s", [last.id])
    tamper("DELETE FROM audit_pending WHERE entry_id > %s", [last.id])
    tamper(
        "UPDATE audit_chainhead SET seq = %s, hash = %s, at = %s WHERE id = 1",
        [last.id, bytes(last.chain_hash), last.recorded_at],
    )


@pytest.mark.django_db(transaction=True)
def test_audit_verify_exits_1_naming_the_cut_off_entries(tmp_path: Path) -> None:
    """The operator's commands as processes, as the platform's role (with two
    roles configured): the
    checkpoint is written, the owner cuts the tail off and moves the head
    back, and ``audit_verify`` exits 1 with the reason."""
    checkpoints = tmp_path / "audit-head.jsonl"
    entries = _record(5)
    env = worker_env(AUDIT_CHECKPOINT_FILE=str(checkpoints))

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    written = manage("audit_checkpoint")
    assert written.returncode == 0, written.stderr
    before = manage("audit_verify")
    assert before.returncode == 0, before.stderr
    assert "passes through the last checkpoint" in before.stdout
    _cut_tail_and_rewind(entries, keep=3)
    after = manage("audit_verify")
    assert after.returncode == 1
    assert f"BROKEN at entry {entries[3].id}" in after.stderr
    assert f"entries {entries[3].id}..{entries[4].id} were cut off" in after.stderr
