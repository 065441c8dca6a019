"""R10 with R12: a referral held while the citizen is in hospital is paused
(*på pause*), and resumes at the discharge with the time it had left. Its
deadline had stayed where it was, so a referral whose deadline passed while
nobody was to go came back from hospital late: escalated as overdue by the
next deadline watch, shown late on the board and counted as a deadline missed
in the follow-up figures."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from acute import services
from acute.models import DeadlineWarning, Referral
from acute.selectors import figures
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.models import Role
from tests import factories as f

pytestmark = pytest.mark.django_db

HOSPITAL = Actor.system("tests.hospital_notification")


def _held_for(referral: Referral, held: dt.timedelta) -> None:
    """Admitted ``held`` ago (the hold's start moved back) and discharged now."""
    services.referrals_hold_for_admission(
        citizen_id=referral.citizen_id, admission="E-1", actor=HOSPITAL
    )
    since = timezone.now() - held
    Referral.objects.filter(pk=referral.pk).update(on_hold_since=since)
    services.referrals_resume_after_discharge(citizen_id=referral.citizen_id, actor=HOSPITAL)


def test_r10_a_referral_back_from_hospital_has_the_time_it_had_left() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(urgency="within_2_hours", by=coordinator)
    deadline = referral.deadline_at
    _held_for(referral, dt.timedelta(days=2))
    referral.refresh_from_db()
    assert referral.on_hold_since is None
    moved = referral.deadline_at - deadline
    assert dt.timedelta(days=2) <= moved < dt.timedelta(days=2, minutes=1)
    # The deadline watch does not escalate it on its return...
    now = timezone.now()
    assert services.deadline_watch(now=now)["overdue"] == 0
    assert not DeadlineWarning.objects.filter(
        referral=referral, kind=DeadlineWarning.Kind.OVERDUE
    ).exists()
    # ...but does once the time it had left has run out.
    assert (
        services.deadline_watch(now=referral.deadline_at + dt.timedelta(minutes=1))["overdue"] == 1
    )
    # The audit entry of the resumption says where the deadline went.
    entry = AuditEntry.objects.get(
        citizen_id=referral.citizen_id, resource_type="ServiceRequest", detail__step="resumed"
    )
    assert entry.detail["deadline_at"] == referral.deadline_at.isoformat()
    assert entry.detail["deadline_before"] == deadline.isoformat()


def test_r10_a_referral_back_from_hospital_is_on_time_on_the_board_and_in_the_figures() -> None:
    """Received three hours ago with two hours to go, admitted half an hour
    later, discharged now: an hour and a half is left."""
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(urgency="within_2_hours", by=coordinator)
    now = timezone.now()
    Referral.objects.filter(pk=referral.pk).update(
        received_at=now - dt.timedelta(hours=3), deadline_at=now - dt.timedelta(hours=1)
    )
    _held_for(referral, dt.timedelta(hours=2, minutes=30))
    referral.refresh_from_db()
    left = referral.deadline_at - timezone.now()
    assert dt.timedelta(minutes=89) < left <= dt.timedelta(minutes=90)
    client = Client()
    assert f.log_in(client, coordinator).status_code == 302
    live = client.get("/coordinator/live/").content.decode()
    at = live.index(f"/coordinator/referrals/{referral.pk}/")
    row = live[live.rindex("<tr", 0, at) : live.index("</tr>", at)]
    assert "Forsinket" not in row, row
    # A nurse arrives within the time it had left: the deadline is met.
    Referral.objects.filter(pk=referral.pk).update(reached_at=timezone.now())
    today = timezone.localdate()
    rows = figures(start=today - dt.timedelta(days=1), end=today, period="month")
    [all_row] = [
        r for r in rows if r["figure"] == "reached_within_deadline" and r["dimension"] == "all"
    ]
    assert (all_row["count"], all_row["met"]) == (1, 1)
