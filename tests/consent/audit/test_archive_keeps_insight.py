"""A month the citizen's insight report still reaches into (R5: the last two
years) is not archived: dropped from the log's table, its accesses would
vanish from her report without a word."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from consent.audit.log import sequence_batch
from consent.audit.models import ArchiveCheckpoint
from consent.audit.partitions import monthly_partitions, partition_archive, partitions_ensure
from consent.audit.services import Action, Purpose, audit_record
from consent.selectors import insight_report
from core.actors import Actor
from core.dbroles import act_as_owner, act_as_platform
from core.errors import Conflict
from core.models import Role
from tests import factories
from tests.consent.audit.conftest import tamper

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _month_ago(months: int) -> dt.date:
    today = timezone.localdate().replace(day=1)
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    return dt.date(year, month + 1, 1)


def test_a_month_inside_the_last_two_years_is_not_archived(tmp_path: Path) -> None:
    team = factories.acute_function()
    person = factories.citizen()
    nurse = factories.staff(Role.ACUTE_NURSE, team)
    auditor = Actor.for_membership(factories.staff(Role.AUDITOR, team))
    month = _month_ago(13)
    partitions_ensure(months_ahead=0, today=month)
    read = audit_record(
        actor=Actor.for_membership(nurse),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        resource_type="Condition",
    )
    at = dt.datetime(month.year, month.month, 10, 12, tzinfo=dt.UTC)
    tamper("UPDATE audit_auditentry SET recorded_at = %s WHERE id = %s", [at, read.id])
    tamper("UPDATE audit_pending SET recorded_at = %s WHERE entry_id = %s", [at, read.id])
    sequence_batch()
    held = monthly_partitions()
    assert held[0][1] == month

    out = StringIO()
    try:
        with pytest.raises(CommandError, match=r"indsigtsrapport|insight report"):
            call_command(
                "audit_archive",
                "--before",
                f"{_month_ago(12):%Y-%m}",
                "--dir",
                str(tmp_path),
                stdout=out,
            )
    finally:
        act_as_platform()
    with pytest.raises(Conflict) as refused:
        partition_archive(partition=held[0][0], directory=tmp_path)
    assert refused.value.code == "audit.archive_within_insight"
    assert refused.value.params["month"] == f"{month:%Y-%m}"
    assert monthly_partitions() == held and not ArchiveCheckpoint.objects.exists()
    assert not list(tmp_path.iterdir())
    # The access stays in her report.
    report = insight_report(actor=auditor, citizen_id=person.pk)
    assert read.id in [a.entry_id for a in report.accesses]
    # Two years and a month later, no report reaches into it: archived then.
    later = dt.datetime(month.year + 2, month.month, 1, tzinfo=dt.UTC) + dt.timedelta(days=40)
    act_as_owner()
    try:
        done = partition_archive(partition=held[0][0], directory=tmp_path, now=later)
    finally:
        act_as_platform()
    assert done.rows == 1
