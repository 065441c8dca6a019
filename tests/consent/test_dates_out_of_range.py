"""A time the store can write but never read back: 9999-12-31T23:59:59-14:00
is in the year 10000 in UTC, 0001-01-01T00:00:00+14:00 in the year 0. One such
clinical date in a citizen's record made every later read of it — the
nurse's summary, searches, the insight report — fail with a server error. Each
door refuses it with a precise code instead, and a search for such a date is a
refused search, not a server error."""

from __future__ import annotations

from typing import Any

import pytest

from consent.models import ConsentDirective, RecordResource
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, post

PAST_9999 = "9999-12-31T23:59:59-14:00"
BEFORE_1 = "0001-01-01T00:00:00+14:00"


def _error(response: Any) -> tuple[int, str, list[str]]:
    issue = response.json()["issue"][0]
    return response.status_code, issue["details"]["coding"][0]["code"], issue.get("expression", [])


@pytest.mark.parametrize("moment", [PAST_9999, BEFORE_1])
def test_a_clinical_date_beyond_the_calendar_is_refused_and_the_record_stays_readable(
    world: World, moment: str
) -> None:
    client = f.client_for(world.nurse)
    before = RecordResource.objects.count()
    diagnosis = bodies.diagnosis(world.person.pk, onsetDateTime=moment)
    assert _error(post(client, "/fhir/Condition", diagnosis)) == (
        400,
        "fhir.date_out_of_range",
        ["Condition.onsetDateTime"],
    )
    plan = {**bodies.care_plan(world.person.pk), "period": {"start": moment}}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": plan, "request": {"method": "POST", "url": "CarePlan"}}],
    }
    assert _error(post(client, "/fhir/", bundle)) == (
        400,
        "fhir.date_out_of_range",
        ["Bundle.entry[0].resource.period.start"],
    )
    assert RecordResource.objects.count() == before
    everything = client.get(f"/fhir/Patient/{world.person.pk}/$everything")
    assert everything.status_code == 200


@pytest.mark.parametrize(
    ("period", "expression"),
    [
        ({"period": {"start": "2026-01-01", "end": "9999-12-31"}}, "provision.period.end"),
        ({"period": {"start": BEFORE_1}}, "provision.period.start"),
        ({"data_period": {"start": "0001-01-01"}}, "provision.dataPeriod.start"),
    ],
)
def test_a_consent_period_beyond_the_calendar_is_refused(
    world: World, period: dict[str, Any], expression: str
) -> None:
    body = bodies.refusal(world.person.pk, **period)
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert _error(response) == (400, "fhir.date_out_of_range", [expression])
    assert not ConsentDirective.objects.exists()


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/fhir/Condition?date=ge9999-12-31T23:59:59-14:00", "date"),
        ("/fhir/Condition?date=lt0001-01-01T00:00:00%2B14:00", "date"),
        ("/fhir/Condition?date=9999-13", "date"),
        ("/fhir/Patient?birthdate=10000-01-01", "birthdate"),
        ("/fhir/AuditEvent?date=2026-02-30", "date"),
    ],
)
def test_a_search_for_a_date_beyond_the_calendar_is_refused(
    world: World, url: str, field: str
) -> None:
    who = world.auditor if url.startswith("/fhir/AuditEvent") else world.nurse
    response = f.client_for(who).get(url)
    assert _error(response) == (400, "search.date_invalid", [field])


@pytest.mark.parametrize("last", ["9999", "9999-12", "9999-12-31"])
def test_the_calendars_last_year_month_and_day_are_searched_alike_on_every_door(
    world: World, last: str
) -> None:
    """One date parser for every search: the shared record's, Patient's and
    AuditEvent's. The calendar's last day is a day like any other, on every
    door; it was refused on two and taken on the third."""
    nurse = f.client_for(world.nurse)
    pid = world.person.pk
    for url, found in (
        (f"/fhir/Condition?patient={pid}&date={last}", 0),
        (f"/fhir/Condition?patient={pid}&date=le{last}", 1),
        (f"/fhir/Condition?patient={pid}&date=ge{last}", 0),
        (f"/fhir/Condition?patient={pid}&date=gt{last}", 0),
        (f"/fhir/Condition?patient={pid}&date=ne{last}", 1),
        (f"/fhir/Patient?_id={pid}&birthdate={last}", 0),
        (f"/fhir/Patient?_id={pid}&birthdate=le{last}", 1),
    ):
        response = nurse.get(url)
        assert (response.status_code, response.json().get("total")) == (200, found), url
    auditor = f.client_for(world.auditor)
    agent = f"agent={world.nurse.user_id}"
    for url, some in (
        (f"/fhir/AuditEvent?{agent}&date={last}", False),
        (f"/fhir/AuditEvent?{agent}&date=le{last}", True),
        (f"/fhir/AuditEvent?{agent}&date=gt{last}", False),
    ):
        response = auditor.get(url)
        assert (response.status_code, response.json()["total"] > 0) == (200, some), url
