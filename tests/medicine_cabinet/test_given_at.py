"""The API may say when a dose was given (``given_at``), with the checks the
tablet's queued dose gets: not in the future, not before the visit was
assigned, not after the citizen's registered death; the dose is booked with
the time it was given."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from acute.models import Visit
from medicine_cabinet.models import Administration, Movement
from tests import factories as f
from tests.medicine_cabinet.conftest import denied_audited, in_bag, order_for, visit_for

pytestmark = pytest.mark.django_db

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


@pytest.fixture
def dose(officer, nurse, cabinet, bag, paracetamol):
    """A visit (assigned an hour ago, the nurse on site) with an order of two
    tablets, and what a dose of them over the API sends."""
    in_bag(officer, nurse, cabinet, bag, paracetamol, "4", batch="P1")
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    # Ordered when she was sent: a dose given since is given on the order.
    order = order_for(nurse, citizen, paracetamol, visit=visit, ordered_at=visit.assigned_at)
    return {
        "visit": visit.pk,
        "order": order.pk,
        "medicine": paracetamol.pk,
        "quantity": "2",
        "unit": "tablet",
    }


def _give(nurse, body, given_at):
    return f.client_for(nurse).post(
        "/api/cabinet/administrations", {**body, "given_at": given_at}, format="json"
    )


def test_a_dose_given_earlier_on_the_visit_is_booked_with_the_time_it_was_given(nurse, dose):
    given = (timezone.now() - dt.timedelta(minutes=20)).astimezone(COPENHAGEN)
    answer = _give(nurse, dose, given.isoformat())
    assert answer.status_code == 201, answer.content
    administration = Administration.objects.get(pk=answer.json()["id"])
    assert administration.administered_at == given
    assert dt.datetime.fromisoformat(answer.json()["given_at"]) == given
    fhir = f.client_for(nurse).get(f"/fhir/MedicationAdministration/{administration.pk}")
    assert dt.datetime.fromisoformat(fhir.json()["effectiveDateTime"]) == given


def test_without_given_at_the_dose_is_given_now(nurse, dose):
    before = timezone.now()
    answer = f.client_for(nurse).post("/api/cabinet/administrations", dose, format="json")
    assert answer.status_code == 201, answer.content
    assert Administration.objects.get().administered_at >= before


@pytest.mark.parametrize(
    ("offset", "code"),
    [
        (dt.timedelta(hours=1), "offline.time_in_future"),
        (-dt.timedelta(hours=3), "time.before_visit"),
    ],
)
def test_a_time_in_the_future_or_before_the_visit_is_refused(nurse, dose, offset, code):
    refused = _give(nurse, dose, (timezone.now() + offset).isoformat())
    assert refused.status_code == 400, refused.content
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == (code, "given_at")
    assert not Administration.objects.exists()
    assert not Movement.objects.filter(kind=Movement.Kind.ADMINISTERED).exists()


def test_a_dose_given_after_the_death_is_refused_and_one_before_it_booked(nurse, dose):
    citizen = Visit.objects.get(pk=dose["visit"]).citizen
    citizen.deceased_at = timezone.now() - dt.timedelta(minutes=10)
    citizen.save(update_fields=["deceased_at"])
    refused = _give(nurse, dose, (timezone.now() - dt.timedelta(minutes=5)).isoformat())
    assert refused.status_code == 412, refused.content
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("administration.citizen_deceased", "given_at")
    assert not Administration.objects.exists()
    assert denied_audited(citizen, "administration.citizen_deceased")
    booked = _give(nurse, dose, (timezone.now() - dt.timedelta(minutes=20)).isoformat())
    assert booked.status_code == 201, booked.content


@pytest.mark.parametrize("given_at", ["i går", "2026-13-40T25:00:00+01:00", 12])
def test_a_malformed_time_is_refused(nurse, dose, given_at):
    refused = _give(nurse, dose, given_at)
    assert refused.status_code == 400, refused.content
    error = refused.json()["error"]
    assert error["code"] == "request.invalid" and "given_at" in error["fields"]
    assert not Administration.objects.exists()


def test_a_time_without_its_offset_is_refused_not_guessed(nurse, dose):
    naive = timezone.localtime() - dt.timedelta(minutes=20)
    refused = _give(nurse, dose, naive.replace(tzinfo=None).isoformat())
    assert refused.status_code == 400, refused.content
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("time.naive", "given_at")
    assert error["message"] == "Angiv tidspunktet med forskydningen fra UTC, fx +01:00 eller Z."
    assert not Administration.objects.exists()


def test_a_dose_given_more_than_a_day_back_is_refused_as_the_tablets_queue_refuses_it(nurse, dose):
    """One rule for every door (docs/decisions/0013): 26 hours late through
    the API is refused as it is from the page's queue, on a visit long under
    way, and the attempt is on the citizen's record (R9)."""
    long_ago = timezone.now() - dt.timedelta(hours=30)
    Visit.objects.filter(pk=dose["visit"]).update(assigned_at=long_ago)
    refused = _give(nurse, dose, (timezone.now() - dt.timedelta(hours=26)).isoformat())
    assert refused.status_code == 400, refused.content
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("offline.time_too_old", "given_at")
    assert not Administration.objects.exists()
    assert not Movement.objects.filter(kind=Movement.Kind.ADMINISTERED).exists()
    assert denied_audited(Visit.objects.get(pk=dose["visit"]).citizen, "offline.time_too_old")
