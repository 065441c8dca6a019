"""Helpers for the audit log's tests: tampering behind the platform's back."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection

from consent.audit.models import AuditEntry


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
        # The head's check at commit runs now, for the appends before the
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
