"""R10: a referral's urgency sets its deadline, the same on every door.

A referral without an urgency was guessed: the FHIR door took it as routine
(next day), the 1813 hand-off as urgent (within the shift), the API refused
it with a generic error. It is now refused on every door with
``referral.urgency_required``, nothing written and the attempt denied on the
citizen's record (R9). And near a shift change "within the shift" fell due
sooner than "within 2 hours" (received 05:54 winter time, due at the night
shift's end, 07:00): a less urgent class is now never due sooner."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from acute.deadlines import deadline_for
from acute.models import Referral
from consent.audit.models import AuditEntry
from core.models import Organisation, Role
from tests import factories as f
from tests.acute.test_api import REFERRAL, service_request

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
CLASSES = ("within_2_hours", "within_shift", "next_day")


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def test_r10_within_the_shift_is_never_due_before_within_2_hours_near_a_shift_change():
    received = _utc("2026-01-15T04:54:00+00:00")  # 05:54 in Copenhagen, winter time
    assert deadline_for("within_2_hours", received) == _utc("2026-01-15T06:54:00+00:00")
    # The night shift ends at 07:00 local (06:00 UTC), sooner than two hours:
    # the day shift's end.
    assert deadline_for("within_shift", received) == _utc("2026-01-15T15:00:00+01:00")
    # Summer time: 05:54 local is 03:54 UTC; the night ends 07:00 local.
    summer = _utc("2026-07-15T05:54:00+02:00")
    assert deadline_for("within_shift", summer) == _utc("2026-07-15T15:00:00+02:00")


@pytest.mark.parametrize(
    "day",
    [
        "2026-01-15",  # winter time
        "2026-07-15",  # summer time
        "2026-03-29",  # the clocks go forward
        "2026-10-25",  # the clocks go back
    ],
)
def test_r10_a_less_urgent_class_is_never_due_sooner_at_any_minute_of_the_day(day):
    start = dt.datetime.fromisoformat(f"{day}T00:00:00").replace(tzinfo=COPENHAGEN)
    at = start.astimezone(dt.UTC)
    end = at + dt.timedelta(hours=25)
    while at < end:
        deadlines = [deadline_for(urgency, at) for urgency in CLASSES]
        assert deadlines == sorted(deadlines), (at, deadlines)
        assert deadlines[0] > at
        at += dt.timedelta(minutes=6)


@pytest.fixture
def acute_function():
    return f.acute_function()


def _denied_for(person) -> bool:
    return AuditEntry.objects.filter(
        citizen_id=person.pk,
        outcome="denied",
        resource_type="ServiceRequest",
        reason_code="referral.urgency_required",
    ).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["absent", "blank"])
def test_r10_the_api_refuses_a_referral_without_urgency(acute_function, missing):
    gp = f.gp_practice()
    client = f.client_for(f.staff(Role.PHYSICIAN, gp))
    person = f.citizen(gp=gp)
    body = {**REFERRAL, "cpr": person.cpr}
    if missing == "absent":
        del body["urgency"]
    else:
        body["urgency"] = ""
    response = client.post("/api/acute/referrals", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "referral.urgency_required", response.json()
    assert not Referral.objects.exists()
    assert _denied_for(person)


@pytest.mark.django_db
def test_r10_a_service_request_without_priority_is_refused_not_taken_as_routine(acute_function):
    hospital = f.organisation(Organisation.Kind.HOSPITAL, "Herlev og Gentofte Hospital")
    client = f.client_for(f.staff(Role.PHYSICIAN, hospital))
    person = f.citizen()
    body = service_request(person.cpr)
    del body["priority"]
    response = client.post(
        "/fhir/ServiceRequest", body, format="json", HTTP_ACCEPT="application/fhir+json"
    )
    assert response.status_code == 400, response.content
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "referral.urgency_required"
    assert not Referral.objects.exists()
    assert _denied_for(person)
    # The urgency category alone still says it.
    body["category"] = [
        {
            "coding": [
                {"system": "https://tvaerakut.dk/fhir/CodeSystem/urgency", "code": "within_shift"}
            ]
        }
    ]
    response = client.post(
        "/fhir/ServiceRequest", body, format="json", HTTP_ACCEPT="application/fhir+json"
    )
    assert response.status_code == 201, response.content
    assert Referral.objects.get().urgency == "within_shift"


@pytest.mark.django_db
def test_r10_the_phone_form_refuses_a_referral_without_urgency(acute_function):
    coordinator = f.staff(Role.COORDINATOR, acute_function)
    client = Client()
    assert f.log_in(client, coordinator).status_code == 302
    person = f.citizen()
    form = {
        "cpr": person.cpr,
        "source": "gp",
        "referrer_name": "Læge Jensen",
        "referrer_phone": "+4539111111",
        "reason": "Dehydrering",
        "clinical_picture": "Tør, svimmel, lavt BT",
        "requested_actions": "Væsketal, væske sc",
        "urgency": "",
        "responsible_physician_name": "Læge Jensen",
        "responsible_physician_phone": "+4539111111",
    }
    response = client.post("/coordinator/referrals/new/", form)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-code="referral.urgency_required"' in page
    assert "referral.urgency_required" not in page.replace(
        'data-code="referral.urgency_required"', ""
    )
    assert not Referral.objects.exists()
    assert _denied_for(person)
