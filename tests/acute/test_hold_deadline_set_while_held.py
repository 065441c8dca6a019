"""R10 with R12: while the citizen is in hospital the referral's clock is
paused, and the discharge moves its deadline on by the whole stay. A
deadline set during the stay — the coordinator re-triages it, or the
referrer sends it again asking for more haste — was counted from that
moment and then moved on by the whole stay too, the hours before it was set
included: a referral raised to "within 2 hours" six hours into a stay came
back from hospital with eight hours to go, and the deadline watch warned
six hours late. Set while held, a deadline now resumes with the time it was
given, counted from the discharge."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from acute import services
from acute.deadlines import deadline_for
from acute.models import Referral
from core.actors import Actor
from core.models import Organisation, Role
from tests import factories as f
from tests.acute.test_api import service_request

pytestmark = pytest.mark.django_db

HOSPITAL = Actor.system("tests.hospital_notification")


def _admitted_hours_ago(referral: Referral, hours: int) -> None:
    """Received a little before she was admitted ``hours`` ago; held since."""
    services.referrals_hold_for_admission(
        citizen_id=referral.citizen_id, admission="E-1", actor=HOSPITAL
    )
    now = timezone.now()
    Referral.objects.filter(pk=referral.pk).update(
        received_at=now - dt.timedelta(hours=hours, minutes=10),
        on_hold_since=now - dt.timedelta(hours=hours),
    )
    referral.refresh_from_db()


def _left_after_discharge(referral: Referral) -> dt.timedelta:
    services.referrals_resume_after_discharge(citizen_id=referral.citizen_id, actor=HOSPITAL)
    referral.refresh_from_db()
    assert referral.on_hold_since is None
    return referral.deadline_at - timezone.now()


def test_r10_r12_raised_to_within_2_hours_while_admitted_has_2_hours_from_the_discharge():
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(urgency="next_day", by=coordinator)
    _admitted_hours_ago(referral, 6)
    services.referral_retriage(
        referral=referral,
        urgency="within_2_hours",
        reason="Datteren ringer: hun er blevet mere forvirret",
        actor=Actor.for_membership(coordinator),
    )
    left = _left_after_discharge(referral)
    assert dt.timedelta(hours=1, minutes=59) < left <= dt.timedelta(hours=2), left
    # The deadline watch escalates it once those two hours have run out.
    assert (
        services.deadline_watch(now=referral.deadline_at + dt.timedelta(minutes=1))["overdue"] == 1
    )


def test_r10_r12_lowered_while_admitted_is_never_sooner_than_the_time_it_had_left():
    """Lowered, the deadline never moves sooner (decision 0028): the time it
    had left at the admission is still the least it gets."""
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(urgency="within_2_hours", by=coordinator)
    _admitted_hours_ago(referral, 1)
    had_left = referral.deadline_at - referral.on_hold_since
    changed_at = timezone.now()
    services.referral_retriage(
        referral=referral,
        urgency="next_day",
        reason="Hun har det bedre",
        actor=Actor.for_membership(coordinator),
    )
    left = _left_after_discharge(referral)
    assert left >= had_left - dt.timedelta(seconds=5)
    # The next day's time as counted at the change, not an hour of the stay more.
    given = deadline_for("next_day", changed_at) - changed_at
    assert abs(left - given) < dt.timedelta(minutes=1), (left, given)


def test_r10_r12_a_resend_asking_more_haste_while_admitted_counts_from_the_discharge():
    f.acute_function()
    hospital = f.organisation(Organisation.Kind.HOSPITAL, "Herlev og Gentofte Hospital")
    client = f.client_for(f.staff(Role.PHYSICIAN, hospital))
    person = f.citizen()

    def send(priority: str) -> None:
        response = client.post(
            "/fhir/ServiceRequest",
            service_request(person.cpr, priority=priority),
            format="json",
            HTTP_ACCEPT="application/fhir+json",
        )
        assert response.status_code == 201, response.content

    send("routine")
    referral = Referral.objects.get()
    _admitted_hours_ago(referral, 6)
    send("stat")
    referral.refresh_from_db()
    assert referral.urgency == "within_2_hours"
    left = _left_after_discharge(referral)
    assert dt.timedelta(hours=1, minutes=59) < left <= dt.timedelta(hours=2), left
