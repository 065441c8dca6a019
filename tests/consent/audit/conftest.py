"""Helpers for the audit log's tests: tampering behind the platform's back."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection

from consent.audit.models import AuditEntry


def tamper(sql: str, params: list[object] | None = None) -> None:
    """Run SQL against the log as a superuser would, bypassing the append-only
    triggers on PostgreSQL (they stay in force for everyone else)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params or [])
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


@pytest.fixture
def tampering() -> Callable[[str, list[object] | None], None]:
    return tamper


def entry_count() -> int:
    return AuditEntry.objects.count()
