"""Beat jobs and the audit log's shift checker."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from acute import tasks
from acute.models import DeadlineWarning
from consent.audit import flags
from tests import factories as f
from worker.schedule import BEAT_SCHEDULE

pytestmark = pytest.mark.django_db


def test_beat_runs_the_deadline_watch_and_expiry_every_minute():
    """R10: the deadline watch is scheduled every minute."""
    by_task = {entry["task"]: entry for entry in BEAT_SCHEDULE.values()}
    assert by_task["acute.deadline_watch"]["schedule"] == 60.0
    assert by_task["acute.visits_expire_unanswered"]["schedule"] == 60.0


def test_deadline_watch_task_stores_warnings():
    f.acute_referral()
    assert tasks.deadline_watch() == {"at_risk": 1, "overdue": 0}
    assert DeadlineWarning.objects.filter(kind="at_risk").count() == 1


def test_expiry_task_runs_without_work():
    assert tasks.visits_expire_unanswered() == 0


def test_shift_checker_is_registered_with_the_audit_log():
    nurse, shift = f.acute_nurse_on_shift()
    assert flags.on_shift(nurse.user_id, timezone.now()) is True
    assert flags.on_shift(nurse.user_id, shift.ends_at + dt.timedelta(hours=2)) is False
