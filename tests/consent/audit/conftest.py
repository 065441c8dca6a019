"""Helpers for the audit log's tests: tampering behind the platform's back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.db import connection
from django.utils import timezone

from consent.audit.append import content_digest
from consent.audit.chain import GENESIS, epoch_us, link
from consent.audit.flags import flags_scan
from consent.audit.log import sequence_batch
from consent.audit.models import DIGEST_FIELDS, AuditEntry, ChainHead, PendingEntry


def as_owner(sql: str, params: list[object] | None = None, *, bypass_triggers: bool) -> None:
    """Run SQL in the test's own transaction with the rights of the database's
    owner, a superuser here (``tvaerakut_test_as_owner``, test databases only:
    tests/conftest.py); with ``bypass_triggers`` the append-only triggers are
    off for it, as only a superuser can have them."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params or [])
        return
    statement = connection.ops.compose_sql(sql, params or [])  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        # The head's check at commit runs now, for the chain before the
        # tampering, not at the end of the test against the tampered log.
        cursor.execute("SET CONSTRAINTS audit_chainhead_names_entry IMMEDIATE")
        cursor.execute("SELECT tvaerakut_test_as_owner(%s, %s)", [statement, bypass_triggers])


def tamper(sql: str, params: list[object] | None = None) -> None:
    """Run SQL against the log as a superuser would, bypassing the append-only
    triggers on PostgreSQL (they stay in force for everyone else)."""
    as_owner(sql, params, bypass_triggers=True)


@pytest.fixture
def tampering() -> Callable[[str, list[object] | None], None]:
    return tamper


def entry_count() -> int:
    return AuditEntry.objects.count()


# Column names only are formatted in.
RECOMPUTE_DIGESTS = (
    f"UPDATE audit_auditentry SET digest = audit_entry_digest({', '.join(DIGEST_FIELDS)})"  # noqa: S608
)


def legacy_chain(n: int, *, citizen_ids: list[int] | None = None) -> list[AuditEntry]:
    """A log as the hash chain left it before the transparency log: ``n``
    entries chained from genesis, the head at the last one, each waiting for
    its place in the tree (as migration 0007 left them) and the id sequence
    past them (as 0008 set it). Call it before anything else is recorded."""
    assert not AuditEntry.objects.exists(), "the chain comes before every other entry"
    ids = citizen_ids or list(range(1, n + 1))
    start = timezone.now() - dt.timedelta(minutes=5)
    entries = [
        AuditEntry(
            id=seq,
            recorded_at=start + dt.timedelta(milliseconds=seq),
            actor_username="legacy",
            actor_role="system",
            task="tests.legacy",
            citizen_id=citizen_id,
            action="read",
            purpose="treatment",
            outcome="permitted",
            detail={"n": seq, "note": "æøå"},
        )
        for seq, citizen_id in enumerate(ids, start=1)
    ]
    for entry in entries:
        entry.digest = content_digest([getattr(entry, name) for name in DIGEST_FIELDS])
    if connection.vendor == "postgresql":
        as_owner(
            "INSERT INTO audit_chainhead (id, seq, hash) VALUES (1, 0, %s) ON CONFLICT DO NOTHING",
            [GENESIS],
            bypass_triggers=False,
        )
    else:
        ChainHead.objects.get_or_create(id=1, defaults={"seq": 0, "hash": GENESIS})
    AuditEntry.objects.bulk_create(entries)
    if connection.vendor == "postgresql":
        # The digest as the database computes it (canonical jsonb text).
        tamper(RECOMPUTE_DIGESTS)
        stored = dict(AuditEntry.objects.values_list("id", "digest"))
        for entry in entries:
            entry.digest = bytes(stored[entry.id])
    current = GENESIS
    for entry in entries:
        current = link(current, entry.digest, epoch_us(entry.recorded_at))
        entry.chain_hash = current
        tamper("UPDATE audit_auditentry SET chain_hash = %s WHERE id = %s", [current, entry.id])
    last = entries[-1]
    PendingEntry.objects.bulk_create(
        PendingEntry(entry_id=e.id, recorded_at=e.recorded_at) for e in entries
    )
    as_owner(
        "UPDATE audit_chainhead SET seq = %s, hash = %s, at = %s WHERE id = 1",
        [last.id, last.chain_hash, last.recorded_at],
        bypass_triggers=False,
    )
    if connection.vendor == "postgresql":
        as_owner(
            "SELECT setval('audit_entry_id_seq', %s, false)", [last.id + 1], bypass_triggers=False
        )
    return entries


def log_refuses_entries() -> None:
    """Break the log behind the platform's back (inside the test's transaction)
    so that no entry can be appended: the queue the sequencer reads is gone."""
    tamper("ALTER TABLE audit_pending RENAME TO audit_pending_gone")


def flags_scan_placed() -> int:
    """The sequencer places what waits, then the flag scan reads it (as the
    sequencer process and the beat's scan do, one after the other)."""
    while sequence_batch():
        pass
    return flags_scan()
