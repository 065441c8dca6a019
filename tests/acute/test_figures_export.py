"""The follow-up figures as a coordinator opens them in a spreadsheet, per
municipality over time, read without holding a year of rows at once, and
every refusal of them on the audit log."""

from __future__ import annotations

import csv
import datetime as dt

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from acute.models import Referral
from consent.audit.models import AuditEntry
from core.models import Citizen, Organisation, Role
from tests import factories as f
from tests.acute.test_api import nurse_through_to_outcome

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator():
    return f.staff(Role.COORDINATOR, f.acute_function())


def _query() -> str:
    today = timezone.localdate()
    return f"start={today - dt.timedelta(days=1)}&end={today + dt.timedelta(days=1)}"


def test_the_csv_opens_safely_in_a_danish_spreadsheet(coordinator):
    """A municipality's name that starts like a formula stays text, æ/ø/å
    read right (byte order mark), and a mean reads with a decimal comma."""
    Organisation.objects.filter(municipality_code="159").update(name="=HYPERLINK(1) Kommune")
    referral = f.acute_referral(by=coordinator, person=f.citizen(municipality_code="159"))
    now = timezone.now()
    Referral.objects.filter(pk=referral.pk).update(
        received_at=now - dt.timedelta(minutes=10),
        reached_at=now - dt.timedelta(minutes=8, seconds=30),
        deadline_at=now - dt.timedelta(minutes=1),
    )
    response = f.client_for(coordinator).get(f"/api/acute/figures?{_query()}&output=csv")
    assert response.status_code == 200
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(response.content.decode("utf-8-sig").splitlines()))
    names = {r["value"] for r in rows if r["dimension"] == "municipality"}
    assert names == {"'=HYPERLINK(1) Kommune"}
    mean = next(r for r in rows if r["figure"] == "minutes_referral_to_arrival")
    assert mean["mean_minutes"] == "1,5"


def test_visits_count_for_the_episodes_municipality_after_the_citizen_moved(coordinator):
    """A municipality that has left the function is still reported for the
    time it took part, even when its citizen has since moved to another."""
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    nurse_through_to_outcome(nurse, referral.pk, coordinator, shift)
    Organisation.objects.filter(municipality_code="157").update(participates=False)
    Citizen.objects.filter(pk=referral.episode.citizen_id).update(
        municipality=f.municipality("159")
    )
    rows = f.client_for(coordinator).get(f"/api/acute/figures?{_query()}").json()["results"]
    visits = {r["value"]: r["count"] for r in rows if r["figure"] == "visits"}
    assert visits == {"Gentofte Kommune": 1}


@pytest.mark.postgres
def test_the_referrals_are_streamed_not_fetched_at_once(coordinator):
    """A year of referrals is read through a server-side cursor in chunks,
    never as one list in the web process's memory."""
    f.acute_referral(by=coordinator)
    streamed: list[bool] = []

    def watch(execute, sql, params, many, context):
        if 'FROM "acute_referral"' in sql and sql.lstrip().upper().startswith("SELECT"):
            streamed.append(isinstance(context["cursor"].cursor, psycopg.ServerCursor))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        response = f.client_for(coordinator).get(f"/api/acute/figures?{_query()}")
    assert response.status_code == 200
    assert streamed and all(streamed)


def _refusals(member) -> list[tuple[str, str]]:
    return list(
        AuditEntry.objects.filter(
            actor_user_id=member.user_id, resource_type="Figures", outcome="denied"
        ).values_list("reason_code", "purpose")
    )


@pytest.mark.parametrize(
    "role",
    [
        Role.ACUTE_NURSE,
        Role.PHYSICIAN,
        Role.HOME_NURSE,
        Role.MEDICINE_OFFICER,
        Role.AUDITOR,
        Role.ADMINISTRATOR,
    ],
)
def test_every_other_role_is_refused_and_the_attempt_recorded(role):
    """R6/R9: the figures are the coordinator's and the analyst's; anyone
    else is refused, through the API and the page, and the attempt is on the
    audit log."""
    member = f.staff(role, f.acute_function())
    api = f.client_for(member).get(f"/api/acute/figures?{_query()}")
    assert api.status_code == 403
    assert _refusals(member) == [("role_not_permitted", "operations")]
    web = Client()
    f.log_in(web, member)
    page = web.get("/coordinator/figures/")
    assert page.status_code == 403
    assert len(_refusals(member)) == 2


def test_a_refused_question_is_recorded_and_an_unknown_parameter_refused(coordinator):
    """A misspelt parameter is refused by name, never ignored (``ouput=csv``
    would otherwise be answered as JSON); every refused request, by the
    coordinator or the analyst, API or page, is on the audit log."""
    client = f.client_for(coordinator)
    unknown = client.get(f"/api/acute/figures?{_query()}&ouput=csv", HTTP_ACCEPT_LANGUAGE="da")
    assert unknown.status_code == 400
    error = unknown.json()["error"]
    assert (error["code"], error["field"]) == ("figures.param_unknown", "ouput")
    assert error["message"] == "Opfølgningstallene tager start, end, period og output."
    reversed_ = client.get("/api/acute/figures?start=2026-02-01&end=2026-01-01")
    assert reversed_.status_code == 400
    web = Client()
    f.log_in(web, coordinator)
    page = web.get("/coordinator/figures/", {"start": "not-a-date"})
    assert page.status_code == 400
    assert sorted(_refusals(coordinator)) == [
        ("figures.date_invalid", "operations"),
        ("figures.param_unknown", "operations"),
        ("figures.range_invalid", "operations"),
    ]
    analyst = f.staff(Role.ANALYST, f.acute_function())
    by_day = f.client_for(analyst).get("/api/acute/figures?start=2026-01-01&end=2026-01-31")
    assert by_day.status_code == 400
    assert _refusals(analyst) == [("figures.period_not_allowed", "analysis")]


@pytest.mark.parametrize(
    "query",
    [
        "start=2026-03-01&start=2026-01-01&end=2026-01-31",
        "start=2026-01-01&end=2026-01-31&period=day&period=month",
        "start=2026-01-01&end=2026-01-31&output=json&output=csv",
    ],
)
def test_a_parameter_given_twice_is_refused_not_read_as_its_last(coordinator, query):
    """Read as its last value, ``period=day&period=month`` was answered by
    month and two starts for one of them, without the reader knowing which:
    refused by name on the API and the page, and recorded as refused."""
    response = f.client_for(coordinator).get(
        f"/api/acute/figures?{query}", HTTP_ACCEPT_LANGUAGE="da"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "figures.param_repeated"
    assert error["message"].endswith("må kun angives én gang for opfølgningstallene.")
    web = Client()
    f.log_in(web, coordinator)
    page = web.get(f"/coordinator/figures/?{query}", HTTP_ACCEPT_LANGUAGE="da")
    assert page.status_code == 400
    assert "må kun angives én gang for opfølgningstallene" in page.content.decode()
    assert _refusals(coordinator) == [
        ("figures.param_repeated", "operations"),
        ("figures.param_repeated", "operations"),
    ]


def test_an_analyst_cannot_have_a_period_given_twice_read_as_months(coordinator):
    analyst = f.staff(Role.ANALYST, f.acute_function())
    response = f.client_for(analyst).get(
        "/api/acute/figures?start=2026-01-01&end=2026-01-31&period=day&period=month"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "figures.param_repeated"
    assert _refusals(analyst) == [("figures.param_repeated", "analysis")]


@pytest.mark.parametrize(
    "typed",
    [
        "2026-1-1",
        "\uff12\uff10\uff12\uff16-01-01",
        "20260101",
        "2026-W01-1",
        "2026-02-30",
        " 2026-01-01",
    ],
)
def test_the_api_takes_a_date_in_the_one_form_the_page_takes(coordinator, typed):
    """The API read ``2026-1-1`` and full-width digits (and the page
    ``20260101`` and ``2026-W01-1``) that the other door refused: one parser
    for both, ``YYYY-MM-DD`` only, refused by name and recorded as refused."""
    client = f.client_for(coordinator)
    api = client.get(
        "/api/acute/figures", {"start": typed, "end": "2026-01-31"}, HTTP_ACCEPT_LANGUAGE="da"
    )
    assert api.status_code == 400
    error = api.json()["error"]
    assert (error["code"], error["field"]) == ("figures.date_invalid", "start")
    assert error["message"] == "Datoer som ÅÅÅÅ-MM-DD."
    web = Client()
    f.log_in(web, coordinator)
    page = web.get("/coordinator/figures/", {"start": typed, "end": "2026-01-31"})
    assert page.status_code == 400
    assert _refusals(coordinator) == [
        ("figures.date_invalid", "operations"),
        ("figures.date_invalid", "operations"),
    ]
    assert client.get("/api/acute/figures?start=2026-01-01&end=2026-01-31").status_code == 200
