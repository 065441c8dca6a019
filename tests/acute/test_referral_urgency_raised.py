"""R10: a referral sent again under its id asking for more haste — 1813 or
the hospital calls back, the citizen is worse — raises its urgency and
deadline. It was answered with the first referral unchanged, so the
escalation was lost: the board kept the old deadline, the deadline watch
warned by it, and the sender was told nothing. Less haste never relaxes a
deadline, and a referral a nurse has reached is left as it was."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from acute.models import Referral
from consent.audit.models import AuditEntry
from core.models import Organisation, Role
from tests import factories as f
from tests.acute.test_api import REFERRAL, service_request

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def acute_function():
    return f.acute_function()


def _post(client, body: dict):
    response = client.post(
        "/fhir/ServiceRequest", body, format="json", HTTP_ACCEPT="application/fhir+json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_r10_a_service_request_sent_again_with_a_higher_priority_raises_the_deadline():
    hospital = f.organisation(Organisation.Kind.HOSPITAL, "Herlev og Gentofte Hospital")
    client = f.client_for(f.staff(Role.PHYSICIAN, hospital))
    person = f.citizen()
    first = _post(client, service_request(person.cpr, priority="routine"))
    referral = Referral.objects.get()
    assert referral.urgency == "next_day"
    again = _post(client, service_request(person.cpr, priority="stat"))
    assert again["id"] == first["id"]
    assert again["priority"] == "asap"  # within 2 hours
    referral.refresh_from_db()
    assert referral.urgency == "within_2_hours"
    assert referral.deadline_at <= timezone.now() + dt.timedelta(hours=2)
    assert Referral.objects.count() == 1
    entry = AuditEntry.objects.get(
        citizen_id=person.pk, resource_type="ServiceRequest", detail__step="urgency_raised"
    )
    assert (entry.detail["urgency_before"], entry.detail["urgency"]) == (
        "next_day",
        "within_2_hours",
    )
    # Sent again with less haste: the deadline stays.
    deadline = referral.deadline_at
    assert _post(client, service_request(person.cpr, priority="routine"))["priority"] == "asap"
    referral.refresh_from_db()
    assert (referral.urgency, referral.deadline_at) == ("within_2_hours", deadline)


def test_r10_the_api_door_raises_it_too_but_not_for_a_referral_already_reached():
    gp = f.gp_practice()
    client = f.client_for(f.staff(Role.PHYSICIAN, gp))
    person = f.citizen(gp=gp)
    body = {**REFERRAL, "cpr": person.cpr, "external_id": "EPJ-1", "urgency": "next_day"}
    assert client.post("/api/acute/referrals", body, format="json").status_code == 201
    raised = client.post("/api/acute/referrals", {**body, "urgency": "within_shift"}, format="json")
    assert raised.status_code == 201
    assert raised.json()["urgency"] == "within_shift"
    referral = Referral.objects.get()
    Referral.objects.filter(pk=referral.pk).update(reached_at=timezone.now())
    late = client.post("/api/acute/referrals", {**body, "urgency": "within_2_hours"}, format="json")
    assert late.json()["urgency"] == "within_shift"


def test_r10_a_warning_acknowledged_for_the_old_deadline_is_raised_again_for_the_new():
    """The deadline watch kept one warning per kind for good: a referral at
    risk for its next-day deadline, acknowledged, was never warned about again
    once 1813 asked for two hours — nor, back from hospital, for the deadline
    it resumed with."""
    from acute import services
    from acute.models import DeadlineWarning

    hospital = f.organisation(Organisation.Kind.HOSPITAL, "Herlev og Gentofte Hospital")
    client = f.client_for(f.staff(Role.PHYSICIAN, hospital))
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    person = f.citizen()
    _post(client, service_request(person.cpr, priority="routine"))  # no nurse on shift
    assert services.deadline_watch()["at_risk"] == 1
    warning = DeadlineWarning.objects.get(kind="at_risk")
    acknowledged = f.client_for(coordinator).post(f"/api/acute/warnings/{warning.pk}/acknowledge")
    assert acknowledged.status_code == 200
    assert services.deadline_watch()["at_risk"] == 0  # seen, and nothing has changed
    _post(client, service_request(person.cpr, priority="stat"))
    assert services.deadline_watch()["at_risk"] == 1
    warning.refresh_from_db()
    referral = Referral.objects.get()
    assert warning.acknowledged_at is None
    assert warning.detail["deadline_at"] == referral.deadline_at.isoformat()
    assert DeadlineWarning.objects.filter(kind="at_risk").count() == 1
    assert services.deadline_watch()["at_risk"] == 0
