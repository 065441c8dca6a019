"""Monthly partitions of the log on PostgreSQL, and archiving old months.

Partitions are named ``audit_auditentry_yYYYYmMM``; a default partition takes
anything no month covers, so no entry is ever refused. Archiving writes a month
to a JSON-lines file, records an :class:`ArchiveCheckpoint` (the last position
and chain hash it held) and drops the partition; verification of what remains
starts from that checkpoint.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from consent.audit.chain import chain_verify, on_postgres
from consent.audit.models import DIGEST_FIELDS, ArchiveCheckpoint
from core.errors import Conflict, PreconditionFailed

MONTHLY = re.compile(r"^audit_auditentry_y(\d{4})m(\d{2})$")
_ARCHIVE_COLUMNS = ["id", "recorded_at", *DIGEST_FIELDS, "digest", "chain_hash"]


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def partitions_ensure(*, months_ahead: int, today: dt.date | None = None) -> list[str]:
    """Create this month's and the next ``months_ahead`` months' partitions; the
    names of those created. Nothing to do off PostgreSQL."""
    if not on_postgres():
        return []
    start = (today or timezone.now().date()).replace(day=1)
    created = []
    with connection.cursor() as cursor:
        for offset in range(months_ahead + 1):
            cursor.execute("SELECT audit_partition_ensure(%s)", [_add_months(start, offset)])
            name = cursor.fetchone()[0]
            if name:
                created.append(name)
    return created


def monthly_partitions() -> list[tuple[str, dt.date]]:
    """(name, first day of month), oldest first."""
    if not on_postgres():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'audit_auditentry'::regclass"
        )
        names = [row[0] for row in cursor.fetchall()]
    found = []
    for name in names:
        match = MONTHLY.match(name)
        if match:
            found.append((name, dt.date(int(match[1]), int(match[2]), 1)))
    return sorted(found, key=lambda item: item[1])


@dataclass(frozen=True)
class Archived:
    partition: str
    rows: int
    file: Path
    first_seq: int | None
    last_seq: int | None


def partition_archive(*, partition: str, directory: Path) -> Archived:
    """Write one month to ``directory`` and detach and drop it, recording a checkpoint.

    Refused unless it is the oldest month still held, every earlier entry is
    already archived, no later month holds an earlier position, and its own
    part of the chain verifies.
    """
    if not on_postgres():
        raise PreconditionFailed("audit.archive_needs_postgres", "Archiving needs PostgreSQL.")
    months = monthly_partitions()
    names = [name for name, _ in months]
    if partition not in names:
        raise Conflict("audit.archive_unknown_partition", "No such monthly audit partition.")
    if names[0] != partition:
        raise Conflict("audit.archive_not_oldest", "Archive the oldest month first.")
    # Names are taken from the catalogue and match MONTHLY, so quoting them in SQL is safe.
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{partition}.jsonl"
    if target.exists():
        raise Conflict("audit.archive_file_exists", f"{target.name} already exists in the archive.")
    with transaction.atomic(), connection.cursor() as cursor:
        # Stop new rows arriving while we copy and detach.
        cursor.execute(f'LOCK TABLE "{partition}" IN ACCESS EXCLUSIVE MODE')
        cursor.execute(f'SELECT min(id), max(id), count(*) FROM "{partition}"')  # noqa: S608
        first_seq, last_seq, rows = cursor.fetchone()
        previous = ArchiveCheckpoint.objects.order_by("-last_seq").first()
        floor = previous.last_seq if previous else 0
        if rows:
            if first_seq != floor + 1:
                raise Conflict(
                    "audit.archive_gap",
                    f"Entries before {first_seq} are still held elsewhere; archive them first.",
                )
            cursor.execute(
                "SELECT count(*) FROM audit_auditentry WHERE id <= %s AND tableoid <> %s::regclass",
                [last_seq, partition],
            )
            if cursor.fetchone()[0]:
                raise Conflict(
                    "audit.archive_interleaved",
                    "Other partitions hold entries inside this month's positions.",
                )
            result = _verify_segment(first_seq, last_seq)
            if result is not None:
                raise PreconditionFailed("audit.archive_broken_chain", result)
            digest = _dump(cursor, partition, target)
            cursor.execute(f'SELECT chain_hash FROM "{partition}" WHERE id = %s', [last_seq])  # noqa: S608
            last_hash = bytes(cursor.fetchone()[0])
        else:
            target.write_text("")
            digest = hashlib.sha256(b"").hexdigest()
            first_seq = last_seq = floor
            last_hash = bytes(previous.last_chain_hash) if previous else b""
        cursor.execute(f'ALTER TABLE audit_auditentry DETACH PARTITION "{partition}"')
        ArchiveCheckpoint.objects.create(
            partition=partition,
            first_seq=first_seq,
            last_seq=last_seq,
            last_chain_hash=last_hash,
            row_count=rows,
            file_path=str(target),
            file_sha256=digest,
            archived_at=timezone.now(),
        )
        cursor.execute(f'DROP TABLE "{partition}"')
    return Archived(
        partition, rows, target, first_seq if rows else None, last_seq if rows else None
    )


def _verify_segment(first_seq: int, last_seq: int) -> str | None:
    from consent.audit.models import AuditEntry

    since = AuditEntry.objects.filter(id=first_seq).values_list("recorded_at", flat=True).first()
    until = AuditEntry.objects.filter(id=last_seq).values_list("recorded_at", flat=True).first()
    if since is None or until is None:
        return "The month's first or last entry is missing."
    result = chain_verify(since=since, until=until + dt.timedelta(microseconds=1))
    return None if result.ok else result.describe()


def _dump(cursor: object, partition: str, target: Path) -> str:
    """Write the month as JSON lines (bytes as hex) and return the file's SHA-256."""
    columns = ", ".join(_ARCHIVE_COLUMNS)
    sha = hashlib.sha256()
    with target.open("w", encoding="utf-8") as out, connection.cursor() as reader:
        after = 0
        while True:
            reader.execute(
                f'SELECT {columns} FROM "{partition}" WHERE id > %s ORDER BY id LIMIT 10000',  # noqa: S608
                [after],
            )
            rows = reader.fetchall()
            for row in rows:
                record = {}
                for name, value in zip(_ARCHIVE_COLUMNS, row, strict=True):
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value).hex()
                    elif isinstance(value, dt.datetime):
                        value = value.isoformat()
                    elif value is not None and name == "client_address":
                        value = str(value)
                    record[name] = value
                line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
                out.write(line)
                sha.update(line.encode("utf-8"))
            if len(rows) < 10000:
                break
            after = rows[-1][0]
    return sha.hexdigest()
