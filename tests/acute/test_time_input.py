"""Time at every door: ``/api/`` takes a date-time only with its offset
(``time.naive`` without one, the same on every endpoint), a time outside the
years 1 to 9999 in UTC is refused, never a 500; the auditor's page reads
Copenhagen time and refuses a time the clocks skip or repeat; "next day" asked
in the night means the coming day; and a visit's cancellation note is shown
where the coordinator and the nurse look at the visit, and on the API."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from acute import services
from acute.deadlines import deadline_for
from acute.models import NurseShift, Visit, VitalSign
from core.actors import Actor
from core.models import Role
from tests import factories as f

pytestmark = pytest.mark.django_db

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


@pytest.fixture
def coordinator():
    return f.staff(Role.COORDINATOR, f.acute_function())


@pytest.fixture
def on_site(coordinator):
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    visit = services.visit_assign(
        referral=referral, shift=shift, actor=Actor.for_membership(coordinator)
    )
    client = f.client_for(nurse)
    for step in ("accept", "en-route", "on-site"):
        assert client.post(f"/api/acute/visits/{visit.pk}/{step}").status_code == 200
    return client, visit


def _vitals(client, visit: Visit, measured_at: str):
    return client.post(
        f"/api/acute/visits/{visit.pk}/vital-signs",
        {"measurements": [{"code": "8867-4", "value": "96"}], "measured_at": measured_at},
        format="json",
    )


def test_vital_signs_without_an_offset_are_refused_as_the_clinical_endpoints_refuse(on_site):
    client, visit = on_site
    now = timezone.localtime(timezone.now()).replace(microsecond=0)
    naive = _vitals(client, visit, now.replace(tzinfo=None).isoformat())
    assert naive.status_code == 400, naive.content
    error = naive.json()["error"]
    assert (error["code"], error["field"]) == ("time.naive", "measured_at")
    assert error["message"] == "Angiv tidspunktet med forskydningen fra UTC, fx +01:00 eller Z."
    assert not VitalSign.objects.filter(visit=visit).exists()
    # The clinical endpoints answer the same way.
    result = client.post(
        f"/api/clinical/visits/{visit.pk}/procedures",
        {"code": "NOT-A-CODE", "performed_at": now.replace(tzinfo=None).isoformat()},
        format="json",
    )
    assert result.status_code == 400
    assert result.json()["error"]["code"] == "time.naive"


def test_offsets_z_and_fractions_of_a_second_are_read_as_the_instant_they_name(on_site):
    client, visit = on_site
    at = timezone.now().replace(microsecond=123456) - dt.timedelta(minutes=2)
    plus14 = at.astimezone(dt.timezone(dt.timedelta(hours=14)))
    assert _vitals(client, visit, plus14.isoformat()).status_code == 201
    zulu = at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    assert _vitals(client, visit, zulu).status_code == 201
    assert list(VitalSign.objects.filter(visit=visit).values_list("measured_at", flat=True)) == [
        at,
        at,
    ]
    # Out of range, hour 24, day 30 of February: a 400 naming the field.
    for value, code in [
        ("9999-12-31T23:30:00-14:00", "time.out_of_range"),
        ("0001-01-01T00:10:00+14:00", "time.out_of_range"),
        ("2026-10-25T24:00:00+01:00", "request.invalid"),
        ("2027-02-29T10:00:00+01:00", "request.invalid"),
        ("2026-10-25T02:30:00", "time.naive"),
        ("2027-03-28T02:30:00", "time.naive"),
    ]:
        refused = _vitals(client, visit, value)
        assert refused.status_code == 400, (value, refused.content)
        assert refused.json()["error"]["code"] == code, value
    assert VitalSign.objects.filter(visit=visit).count() == 2


def test_a_shift_and_a_follow_up_without_an_offset_are_refused(coordinator, on_site):
    _client, visit = on_site
    nurse = f.staff(Role.ACUTE_NURSE, coordinator.organisation)
    starts = (timezone.localtime(timezone.now()) + dt.timedelta(days=1)).replace(
        hour=7, minute=0, second=0, microsecond=0, tzinfo=None
    )
    client = f.client_for(coordinator)
    shift = client.post(
        "/api/acute/shifts",
        {
            "nurse": nurse.user_id,
            "kind": "day",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + dt.timedelta(hours=8)).isoformat(),
            "skills": [],
            "base_name": "Gentofte base",
            "base_latitude": 55.75,
            "base_longitude": 12.54,
        },
        format="json",
    )
    assert shift.status_code == 400, shift.content
    assert (shift.json()["error"]["code"], shift.json()["error"]["field"]) == (
        "time.naive",
        "starts_at",
    )
    assert not NurseShift.objects.filter(nurse=nurse.user).exists()
    follow_up = client.post(
        f"/api/acute/episodes/{visit.episode_id}/follow-ups",
        {"shift": visit.shift_id, "planned_for": starts.isoformat()},
        format="json",
    )
    assert follow_up.status_code == 400, follow_up.content
    assert follow_up.json()["error"]["code"] == "time.naive"


def test_r10_next_day_asked_in_the_night_is_the_coming_day():
    cases = [
        # 00:30 in the night: "next day" is the day that is dawning.
        ("2026-12-05T00:30:00+01:00", "2026-12-05T16:00:00+01:00"),
        ("2026-12-05T06:59:00+01:00", "2026-12-05T16:00:00+01:00"),
        # Late in the evening and from the day shift's start: the next date.
        ("2026-12-04T23:30:00+01:00", "2026-12-05T16:00:00+01:00"),
        ("2026-12-05T07:00:00+01:00", "2026-12-06T16:00:00+01:00"),
        # The night summer time ends: 00:30 summer time, due 16:00 winter time.
        ("2026-10-25T00:30:00+02:00", "2026-10-25T16:00:00+01:00"),
        ("2026-10-25T02:30:00+01:00", "2026-10-25T16:00:00+01:00"),
        # The night summer time starts: 01:30 winter time, due 16:00 summer time.
        ("2027-03-28T01:30:00+01:00", "2027-03-28T16:00:00+02:00"),
    ]
    for received, due in cases:
        at = dt.datetime.fromisoformat(received)
        assert deadline_for("next_day", at) == dt.datetime.fromisoformat(due), received
        assert deadline_for("next_day", at) - at < dt.timedelta(hours=34), received


def _login(membership) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def test_the_auditor_page_reads_copenhagen_time_and_refuses_a_time_the_clocks_skip_or_repeat():
    auditor = f.staff(Role.AUDITOR, f.municipality())
    page = _login(auditor)
    fine = page.get("/audit/", {"from": "2026-10-25T01:30"})
    assert fine.status_code == 200
    skipped = page.get("/audit/", {"from": "2027-03-28T02:30"})
    assert skipped.status_code == 400, skipped.status_code
    assert "Tidspunktet findes ikke i dansk tid" in skipped.content.decode()
    twice = page.get("/audit/", {"to": "2026-10-25T02:30"})
    assert twice.status_code == 400
    assert "Tidspunktet findes to gange i dansk tid" in twice.content.decode()
    # The API refuses a time without its offset; with it, either 02:30 is fine.
    api = f.client_for(auditor)
    naive = api.get("/api/audit/entries", {"from": "2026-10-25T02:30:00"})
    assert naive.status_code == 400
    assert naive.json()["error"]["code"] == "time.naive"
    for stated in ("2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00"):
        assert api.get("/api/audit/entries", {"from": stated}).status_code == 200


def test_the_cancellation_note_is_shown_to_the_coordinator_the_nurse_and_the_api(coordinator):
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    visit = services.visit_assign(
        referral=referral, shift=shift, actor=Actor.for_membership(coordinator)
    )
    note = "Borgeren <b>indlagt</b> af egen læge"
    api = f.client_for(coordinator)
    withdrawn = api.post(f"/api/acute/visits/{visit.pk}/withdraw", {"reason": note}, format="json")
    assert withdrawn.status_code == 200, withdrawn.content
    assert withdrawn.json()["cancel_note"] == note
    assert api.get(f"/api/acute/visits/{visit.pk}").json()["cancel_note"] == note

    escaped = "Borgeren &lt;b&gt;indlagt&lt;/b&gt; af egen læge"
    board = _login(coordinator).get(f"/coordinator/referrals/{referral.pk}/").content.decode()
    assert escaped in board and note not in board
    assert "Trukket tilbage af koordinatoren" in board
    # The nurse's access to the citizen ended with the visit (R1): her page
    # for it says when and why, with the note, and nothing about the citizen.
    seen = _login(nurse).get(f"/nurse/visits/{visit.pk}/")
    assert seen.status_code == 403, seen.status_code
    text = seen.content.decode()
    assert escaped in text and "Trukket tilbage af koordinatoren" in text
    assert referral.citizen.family_name not in text
    # Another nurse's page for the visit says nothing of it.
    other, _shift = f.acute_nurse_on_shift()
    assert escaped not in _login(other).get(f"/nurse/visits/{visit.pk}/").content.decode()


def test_figures_for_the_last_or_first_days_there_are_are_refused_not_a_500(coordinator):
    page = _login(coordinator)
    api = f.client_for(coordinator)
    for start, end in [("9999-12-01", "9999-12-31"), ("0001-01-01", "0001-01-31")]:
        shown = page.get("/coordinator/figures/", {"start": start, "end": end})
        assert shown.status_code == 400, (start, shown.status_code)
        assert "Datoerne skal ligge i årene 2000 til 2100." in shown.content.decode()
        answer = api.get("/api/acute/figures", {"start": start, "end": end})
        assert answer.status_code == 400, (start, answer.content)
        assert answer.json()["error"]["code"] == "figures.date_out_of_range"
    # A leap day and the day the clocks go back are ordinary days.
    for start, end in [("2024-02-29", "2024-03-01"), ("2026-10-25", "2026-10-25")]:
        assert api.get("/api/acute/figures", {"start": start, "end": end}).status_code == 200
