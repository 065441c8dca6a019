"""Appending entries to the log: a plain durable insert, no shared row.

On PostgreSQL one statement takes each entry's id from ``audit_entry_id_seq``,
stamps it with the clock, inserts it with the content digest its writer
computed (``consent.audit.canonical``: the bytes ``audit_entry_digest`` would
give, which ``audit_verify`` checks), and marks it as waiting for its
position in the tree (``audit_pending``), returning what it stored. Writers
share no row and no lock, so their commits are flushed together (group
commit) and the rate grows with writers. The statement is prepared once
per connection and run on the psycopg cursor kept with it
(``core.sql.run_prepared``).

On SQLite (one writer at a time, ``BEGIN IMMEDIATE``) the same is done in
Python inside the writer's transaction.

The sequencer (``consent.audit.log``) later gives waiting entries their
positions; ids are unique but neither gapless nor in commit order.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import orjson
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Max
from django.utils import timezone

from consent.audit.canonical import entry_digest
from consent.audit.models import DIGEST_FIELDS, AuditEntry, PendingEntry
from core.sql import run_prepared

# PostgreSQL takes at most 65,535 parameters in one statement.
ROWS_PER_STATEMENT = 1000

_BIGINT = {"actor_user_id", "actor_organisation_id", "partner_organisation_id", "citizen_id"}
_SQL_TYPES = [
    "bigint"
    if name in _BIGINT
    else "inet"
    if name == "client_address"
    else "jsonb"
    if name == "detail"
    else "text"
    for name in DIGEST_FIELDS
]
_COLUMNS = ", ".join(DIGEST_FIELDS)
_PLACEHOLDERS = ", ".join(f"%s::{t}" for t in _SQL_TYPES)


def content_digest(values: Sequence[Any]) -> bytes:
    """The content digest computed in Python, for SQLite, which cannot digest:
    SHA-256 of the content fields as a canonical JSON array. PostgreSQL's
    ``audit_entry_digest`` hashes its own jsonb text of the same array, so a
    log is digested, and verified, by one of the two only."""
    canonical = json.dumps(list(values), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).digest()


def _of(alias: str) -> str:
    return ", ".join(f"{alias}.{name}" for name in DIGEST_FIELDS)


def _append_sql(rows: int) -> str:
    """``rows`` entries in one statement. Ids are drawn in the entries' order
    (``ord``), so a batch's ids ascend as its entries were given."""
    row = f"(%s::integer, {_PLACEHOLDERS}, %s::bytea)"
    # Only column names, placeholders and type names are formatted in.
    return (
        f"WITH v (ord, {_COLUMNS}, digest) AS (VALUES {', '.join([row] * rows)}), "  # noqa: S608
        "n AS MATERIALIZED (SELECT o.*, nextval('audit_entry_id_seq') AS id, "
        "clock_timestamp() AS at FROM (SELECT * FROM v ORDER BY ord) o), "
        f"e AS (INSERT INTO audit_auditentry (id, recorded_at, {_COLUMNS}, digest) "
        f"SELECT n.id, n.at, {_of('n')}, n.digest FROM n "
        "RETURNING id, recorded_at, digest), "
        "p AS (INSERT INTO audit_pending (entry_id, recorded_at) SELECT id, recorded_at FROM e) "
        "SELECT n.ord, e.id, e.recorded_at, e.digest FROM e JOIN n ON n.id = e.id"
    )


def _append_one_sql() -> str:
    """One entry, the statement every request makes: its values given
    directly rather than read from a VALUES list, one step less for the
    executor on the path every audited access takes."""
    # Only column names, placeholders and type names are formatted in.
    return (
        f"WITH e AS (INSERT INTO audit_auditentry (id, recorded_at, {_COLUMNS}, digest) "  # noqa: S608
        f"VALUES (nextval('audit_entry_id_seq'), clock_timestamp(), {_PLACEHOLDERS}, "
        "%s::bytea) "
        "RETURNING id, recorded_at, digest), "
        "p AS (INSERT INTO audit_pending (entry_id, recorded_at) SELECT id, recorded_at FROM e) "
        "SELECT 1, id, recorded_at, digest FROM e"
    )


_APPEND_ONE_SQL = _append_one_sql()


def _params(entry: AuditEntry) -> list[Any]:
    """The content fields, then their digest."""
    return _content_params([getattr(entry, name) for name in DIGEST_FIELDS])


def _content_params(values: list[Any]) -> list[Any]:
    """The content fields (``DIGEST_FIELDS``, given up), then their digest."""
    digest = entry_digest(values)
    values[-1] = orjson.dumps(values[-1]).decode()  # detail, as jsonb text
    values.append(digest)
    return values


def content_append(values: list[Any]) -> None:
    """One entry, from its content fields in ``DIGEST_FIELDS`` order (the list
    is given up): inserted waiting for its position, on PostgreSQL, as
    :func:`entries_append` inserts one, digest and all, with no model built
    for it."""
    run_prepared(_APPEND_ONE_SQL, _content_params(values), binary=True)


@functools.cache
def _along_sql(statement: str) -> str:
    """The append of one entry, with the caller's ``statement`` run as a step
    of the same statement (a data-modifying step runs whether or not it is
    read)."""
    return f"WITH caller AS ({statement}), " + _APPEND_ONE_SQL.removeprefix("WITH ")


def content_append_along(statement: str, params: Sequence[Any], values: list[Any]) -> None:
    """:func:`content_append`, in one statement with the caller's
    ``statement`` (an INSERT, UPDATE or DELETE; what it returns is not read),
    whose ``params`` come first: one round trip for both, and both rows are
    written or neither. PostgreSQL only."""
    run_prepared(_along_sql(statement), [*params, *_content_params(values)], binary=True)


def _stored(entry: AuditEntry, alias: str, entry_id: int, at: dt.datetime, digest: bytes) -> None:
    entry.id, entry.recorded_at, entry.digest, entry.chain_hash = entry_id, at, bytes(digest), None
    entry._state.adding = False
    entry._state.db = alias


def _append_postgres(db: BaseDatabaseWrapper, entries: list[AuditEntry]) -> None:
    for start in range(0, len(entries), ROWS_PER_STATEMENT):
        chunk = entries[start : start + ROWS_PER_STATEMENT]
        if len(chunk) == 1:
            returned = run_prepared(_APPEND_ONE_SQL, _params(chunk[0]), binary=True, db=db)
        else:
            params: list[Any] = []
            for ord_, entry in enumerate(chunk, start=1):
                params.append(ord_)
                params.extend(_params(entry))
            returned = run_prepared(_append_sql(len(chunk)), params, binary=True, db=db)
        for entry, (_, entry_id, at, digest) in zip(chunk, sorted(returned), strict=True):
            _stored(entry, db.alias, entry_id, at, digest)


def _append_python(entries: list[AuditEntry]) -> None:
    # SQLite's writers take the database's write lock at BEGIN (IMMEDIATE),
    # so the highest id read here stays the highest until this commits.
    last = AuditEntry.objects.aggregate(last=Max("id"))["last"] or 0
    now = timezone.now()
    for entry_id, entry in enumerate(entries, start=last + 1):
        entry.id, entry.recorded_at, entry.chain_hash = entry_id, now, None
        entry.digest = content_digest([getattr(entry, name) for name in DIGEST_FIELDS])
    AuditEntry.objects.bulk_create(entries)
    PendingEntry.objects.bulk_create(
        PendingEntry(entry_id=e.id, recorded_at=e.recorded_at) for e in entries
    )


def entries_append(entries: list[AuditEntry]) -> list[AuditEntry]:
    """Insert the entries, each waiting for its position, all or none."""
    if not entries:
        return entries
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "postgresql":
        if len(entries) <= ROWS_PER_STATEMENT:
            # One statement: atomic even in autocommit, one round trip.
            _append_postgres(db, entries)
        else:
            with transaction.atomic():
                _append_postgres(db, entries)
    else:
        with transaction.atomic():
            _append_python(entries)
    return entries
