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
        ("/fhir/Condition?date=9999-12-31", "date"),
        ("/fhir/Condition?date=ge9999-12-31T23:59:59-14:00", "date"),
        ("/fhir/Condition?date=lt0001-01-01T00:00:00%2B14:00", "date"),
        ("/fhir/Patient?birthdate=9999-12-31", "birthdate"),
    ],
)
def test_a_search_for_a_date_beyond_the_calendar_is_refused(
    world: World, url: str, field: str
) -> None:
    response = f.client_for(world.nurse).get(url)
    assert _error(response) == (400, "search.date_invalid", [field])
