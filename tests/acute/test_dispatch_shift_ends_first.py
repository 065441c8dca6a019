"""R10: a nurse whose shift ends before she can be at the citizen's door was
suggested as meeting the deadline, and once sent the deadline watch took her
estimated arrival — hours after she went off shift — as the citizen's cover:
the coordinator was never warned that nobody on duty would come."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from acute import services
from acute.models import DeadlineWarning
from core.models import Role
from tests import factories as f

pytestmark = pytest.mark.django_db

# Far from the citizen (Aarhus, she lives in Gentofte): hours of driving.
FAR = {"latitude": 56.2, "longitude": 10.2}


def test_r10_a_nurse_whose_shift_ends_before_she_arrives_does_not_meet_the_deadline():
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(urgency="next_day", by=coordinator)
    _, leaving_shift = f.acute_nurse_on_shift(hours_after=0.1, **FAR)
    _, staying_shift = f.acute_nurse_on_shift(hours_after=12, **FAR)

    ranked = (
        f.client_for(coordinator)
        .get(f"/api/acute/referrals/{referral.pk}/suggestions")
        .json()["results"]
    )
    by_shift = {row["shift"]: row for row in ranked}
    assert by_shift[leaving_shift.pk]["meets_deadline"] is False
    assert by_shift[staying_shift.pk]["meets_deadline"] is True
    assert ranked[0]["shift"] == staying_shift.pk


def test_r10_the_watch_warns_when_the_nurse_sent_arrives_after_her_shift_has_ended():
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(urgency="next_day", by=coordinator)
    _, shift = f.acute_nurse_on_shift(hours_after=0.1, **FAR)
    sent = f.client_for(coordinator).post(
        f"/api/acute/referrals/{referral.pk}/assign", {"shift": shift.pk}, format="json"
    )
    # The coordinator may still send her (she may stay on): the watch tells her the risk.
    assert sent.status_code == 201, sent.content
    arrival = dt.datetime.fromisoformat(sent.json()["estimated_arrival_at"])
    assert shift.ends_at < arrival < referral.deadline_at

    services.deadline_watch(now=timezone.now() + dt.timedelta(minutes=1))
    warning = DeadlineWarning.objects.get(referral=referral, kind="at_risk")
    assert warning.detail["deadline_at"] == referral.deadline_at.isoformat()
