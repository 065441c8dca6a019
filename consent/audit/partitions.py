"""Monthly partitions of the log on PostgreSQL, and archiving old months.

Partitions are named ``audit_auditentry_yYYYYmMM``; a default partition takes
anything no month covers, so no entry is ever refused. Archiving writes a month
to a JSON-lines file, records an :class:`ArchiveCheckpoint` (its ids, the file's
SHA-256) and drops the partition. The month's leaves stay in the tree, so
every proof the witnesses saw can still be served, and each entry read back
from the file recomputes to its leaf.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from consent.audit.chain import on_postgres
from consent.audit.disclosures import INSIGHT_YEARS, insight_since
from consent.audit.models import DIGEST_FIELDS, MONTHLY_PARTITION, ArchiveCheckpoint, PendingEntry
from consent.audit.verify import log_verify
from core.errors import Conflict, PreconditionFailed

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
        match = MONTHLY_PARTITION.match(name)
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


def _insight_over(until: dt.datetime) -> dt.date:
    """The first day in Copenhagen on which no insight report reaches back
    before ``until`` any more: two calendar years after its local day."""
    local = timezone.localtime(until)
    day = min(local.day, 28) if (local.month, local.day) == (2, 29) else local.day
    later = local.date().replace(year=local.year + INSIGHT_YEARS, day=day)
    return later + dt.timedelta(days=1) if local.time() != dt.time() else later


def partition_archive(
    *, partition: str, directory: Path, now: dt.datetime | None = None
) -> Archived:
    """Write one month to ``directory`` and detach and drop it, recording a checkpoint.

    Refused unless it is the oldest month still held, it has ended (the
    platform still writes to the current month's partition, and a month ahead
    dropped empty would leave its entries to the default partition), every
    entry of it has its place in the tree (its leaf stays there; its content
    goes to the file), no citizen's insight report reaches into it any more
    (R5: the last two years), and the month verifies.
    """
    if not on_postgres():
        raise PreconditionFailed("audit.archive_needs_postgres", "Archiving needs PostgreSQL.")
    months = monthly_partitions()
    names = [name for name, _ in months]
    if partition not in names:
        raise Conflict("audit.archive_unknown_partition", "No such monthly audit partition.")
    if names[0] != partition:
        raise Conflict("audit.archive_not_oldest", "Archive the oldest month first.")
    start = dict(months)[partition]
    since = dt.datetime(start.year, start.month, 1, tzinfo=dt.UTC)
    until = dt.datetime.combine(_add_months(start, 1), dt.time(), tzinfo=dt.UTC)
    if until > (now or timezone.now()):
        raise Conflict(
            "audit.archive_month_not_over",
            f"{start:%Y-%m} has not ended; a month is archived once it is over.",
            params={"month": f"{start:%Y-%m}"},
        )
    if until > insight_since(now or timezone.now()):
        # The citizen's insight report (R5) lists every access of the last
        # two years from the log's table: a month dropped from it inside
        # those years would vanish from her report without a word.
        from_day = _insight_over(until)
        raise Conflict(
            "audit.archive_within_insight",
            f"{start:%Y-%m} holds accesses a citizen's insight report lists "
            f"(the last {INSIGHT_YEARS} years); it may be archived from {from_day:%Y-%m-%d}.",
            params={
                "month": f"{start:%Y-%m}",
                "years": INSIGHT_YEARS,
                "from": f"{from_day:%Y-%m-%d}",
            },
        )
    # Names are taken from the catalogue and match MONTHLY_PARTITION, so quoting them is safe.
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{partition}.jsonl"
    if target.exists():
        raise Conflict(
            "audit.archive_file_exists",
            f"{target.name} already exists in the archive.",
            params={"file": target.name},
        )
    with transaction.atomic(), connection.cursor() as cursor:
        # Stop new rows arriving while we copy and detach.
        cursor.execute(f'LOCK TABLE "{partition}" IN ACCESS EXCLUSIVE MODE')
        if PendingEntry.objects.filter(recorded_at__gte=since, recorded_at__lt=until).exists():
            raise Conflict(
                "audit.archive_unplaced",
                "Entries of this month still wait for their place in the log; "
                "archive it once the sequencer has placed them.",
            )
        cursor.execute(f'SELECT min(id), max(id), count(*) FROM "{partition}"')  # noqa: S608
        first_seq, last_seq, rows = cursor.fetchone()
        previous = ArchiveCheckpoint.objects.order_by("-last_seq").first()
        last_hash = bytes(previous.last_chain_hash) if previous else b""
        if rows:
            result = log_verify(since=since, until=until)
            if not result.ok:
                raise PreconditionFailed(
                    "audit.archive_broken_log",
                    result.describe(),
                )
            digest = _dump(cursor, partition, target)
            cursor.execute(
                f'SELECT chain_hash FROM "{partition}" WHERE chain_hash IS NOT NULL '  # noqa: S608
                "ORDER BY id DESC LIMIT 1"
            )
            chained = cursor.fetchone()
            if chained is not None:
                last_hash = bytes(chained[0])
        else:
            target.write_text("")
            digest = hashlib.sha256(b"").hexdigest()
            first_seq = last_seq = previous.last_seq if previous else 0
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
