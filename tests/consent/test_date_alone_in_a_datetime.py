"""A FHIR dateTime given as a date alone (a death on ``2026-10-25``, a
diagnosis with its onset on a day) is that Danish day, as a search reads a
date: its first moment in Copenhagen (core.times.day_start), never midnight
UTC, which a page or a partner in Copenhagen reads as 01:00 or 02:00 — a
time nobody gave, and on the night summer time ends the hour that comes
twice."""

from __future__ import annotations

import datetime as dt

from consent.models import RecordResource
from core.models import Citizen
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, post

# The first moment of 2026-10-25 in Copenhagen (summer time, +02:00).
DAY_START = dt.datetime(2026, 10, 24, 22, 0, tzinfo=dt.UTC)


def test_a_death_given_as_a_date_on_the_fhir_patient_door_is_that_danish_day(
    world: World,
) -> None:
    client = f.client_for(world.coordinator)
    cpr = f.cpr_number(born=dt.date(1939, 5, 17))
    created = post(client, "/fhir/Patient", bodies.patient(cpr, deceasedDateTime="2026-10-25"))
    assert created.status_code == 201, created.content
    citizen = Citizen.objects.get(cpr=cpr)
    assert citizen.deceased_at == DAY_START
    # Written back in UTC, the one form, the Danish day's start.
    assert created.json()["deceasedDateTime"] == "2026-10-24T22:00:00Z"


def test_a_record_dated_by_a_day_is_found_by_that_danish_day(world: World) -> None:
    nurse = f.client_for(world.nurse)
    pid = world.person.pk
    sent = post(nurse, "/fhir/Condition", bodies.diagnosis(pid, onsetDateTime="2026-10-25"))
    assert sent.status_code == 201, sent.content
    stored = RecordResource.objects.get(pk=sent.json()["id"])
    assert stored.effective_at == DAY_START
    # What the client wrote is given back as it wrote it.
    assert sent.json()["onsetDateTime"] == "2026-10-25"

    def found(date: str) -> int:
        got = nurse.get(f"/fhir/Condition?patient={pid}&date={date}")
        assert got.status_code == 200, got.content
        return sum(
            e["resource"].get("onsetDateTime") == "2026-10-25" for e in got.json().get("entry", [])
        )

    assert found("2026-10-25") == 1
    assert found("2026-10-24") == 0
    # The day's first minute in Danish summer time, not 02:00.
    assert found("2026-10-25T00:00%2B02:00") == 1
    assert found("2026-10-25T00:00Z") == 0
