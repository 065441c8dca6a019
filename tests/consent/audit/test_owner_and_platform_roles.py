"""The audit log against its own database roles, on PostgreSQL.

- The platform's role (the tests' connection when ``DATABASE_OWNER_URL`` is
  set, as in CI) appends to the log and nothing more: it cannot switch the
  triggers off, change or remove entries, set the id sequence back, touch the
  old chain's head or write the archive's checkpoints.
- The old chain's head only moves forward, whoever asks (the owner included,
  unless a superuser switches the triggers off).
- An owner who cuts placed entries off is named by ``audit_verify`` (exit 1):
  their leaves are still in the tree the witnesses saw.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.db import DatabaseError, connection, transaction

from consent.audit.chain import chain_verify
from consent.audit.models import AuditEntry
from consent.audit.services import Action, Purpose, audit_record
from consent.audit.verify import log_verify
from core.actors import Actor
from core.dbroles import platform_role, two_roles
from tests.conftest import ROOT, worker_env
from tests.consent.audit.conftest import as_owner, legacy_chain, tamper

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
        ("SELECT setval('audit_entry_id_seq', 1)", "permission denied"),
        ("ALTER SEQUENCE audit_entry_id_seq RESTART", "must be owner"),
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
        ("UPDATE audit_chainhead SET seq = seq - 1, hash = 'x'", "permission denied"),
        ("UPDATE audit_chainhead SET seq = seq + 1", "permission denied"),
        ("INSERT INTO audit_chainhead (id, seq, hash) VALUES (2, 0, 'x')", "permission denied"),
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
    assert log_verify().ok


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
        assert rights("audit_chainhead") == {"SELECT"}
        assert rights("audit_pending") == {"SELECT", "INSERT", "DELETE"}
        for table in ("audit_log_leaf", "audit_log_tile", "audit_log_checkpoint"):
            assert rights(table) == {"SELECT", "INSERT"}, table
        # Ids are drawn from the sequence, never set.
        cursor.execute(
            "SELECT p FROM unnest(ARRAY['USAGE','SELECT','UPDATE']) p "
            "WHERE has_sequence_privilege(current_user, 'audit_entry_id_seq', p)"
        )
        assert {row[0] for row in cursor.fetchall()} == {"USAGE"}
        assert rights("audit_archivecheckpoint") == {"SELECT"}
        # Beside the log, and everywhere else: the ordinary rights.
        assert rights("audit_auditflag") == {"SELECT", "INSERT", "UPDATE", "DELETE"}
        assert rights("acute_referral") == {"SELECT", "INSERT", "UPDATE", "DELETE"}
        assert rights("core_citizen") == {"SELECT", "INSERT", "UPDATE", "DELETE"}


@pytest.mark.django_db
def test_even_the_owner_cannot_move_the_head_back_or_remove_it() -> None:
    """With the triggers in force, the owner's rights do not let the head go
    back, change its hash in place, disappear or start over."""
    legacy_chain(3)
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


@pytest.mark.django_db
def test_a_head_is_only_created_at_genesis_on_an_empty_log() -> None:
    legacy_chain(2)
    tamper("DELETE FROM audit_chainhead")
    with pytest.raises(DatabaseError, match="starts at genesis"), transaction.atomic():
        as_owner(
            "INSERT INTO audit_chainhead (id, seq, hash) VALUES (1, 0, "
            "sha256(convert_to('tvaerakut audit log genesis', 'UTF8')))",
            bypass_triggers=False,
        )


@pytest.mark.django_db(transaction=True)
def test_audit_verify_exits_1_naming_entries_cut_off_after_they_were_placed() -> None:
    """The operator's commands as processes, as the platform's role (with two
    roles configured): the log is placed and verifies; the owner cuts the
    newest entries off (and what waits for them), and ``audit_verify`` exits 1
    naming the first one: its leaf is still in the tree."""
    entries = _record(5)
    env = worker_env()

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    placed = manage("audit_sequence", "--once")
    assert placed.returncode == 0, placed.stderr
    before = manage("audit_verify")
    assert before.returncode == 0, before.stderr
    assert "Transparency log OK" in before.stdout
    tamper("DELETE FROM audit_auditentry WHERE id >= %s", [entries[3].id])
    after = manage("audit_verify")
    assert after.returncode == 1
    # In the operator's language (the platform's, Danish, unless set otherwise).
    assert f"BROKEN at entry {entries[3].id}: den mangler i loggen" in after.stderr
