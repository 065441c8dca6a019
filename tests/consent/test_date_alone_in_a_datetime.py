"""A FHIR dateTime given as a date alone (a death on ``2026-10-25``, a
diagnosis with its onset on a day) is that Danish day, as a search reads a
date: its first moment in Copenhagen (core.times.day_start), never midnight
UTC, which a page or a partner in Copenhagen reads as 01:00 or 02:00 — a
time nobody gave, and on the night summer time ends the hour that comes
twice."""

from __future__ import annotations

import datetime as dt

from consent.models import PatientVersion, RecordResource
from core.models import Citizen
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, post, put

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
    # Compared as the day's first moment; kept, and written back, as the day.
    assert citizen.deceased_at == DAY_START
    assert citizen.deceased_on == dt.date(2026, 10, 25)
    assert created.json()["deceasedDateTime"] == "2026-10-25"


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


# A day of death before today (2026-12-08 on the test clock or later), after
# the test citizens' births.
DIED_ON = "2026-11-30"
# Its first moment in Copenhagen (winter time, +01:00).
DIED_ON_START = dt.datetime(2026, 11, 29, 23, 0, tzinfo=dt.UTC)


def _death_read(client, citizen_id: int) -> dict[str, str | None]:
    """The death as each FHIR read gives it: read, search, $everything."""
    read = client.get(f"/fhir/Patient/{citizen_id}")
    assert read.status_code == 200, read.content
    citizen = Citizen.objects.get(pk=citizen_id)
    searched = client.post("/fhir/Patient/_search", {"identifier": citizen.cpr})
    assert searched.status_code == 200, searched.content
    everything = client.get(f"/fhir/Patient/{citizen_id}/$everything")
    assert everything.status_code == 200, everything.content

    def patient_of(bundle: dict) -> dict:
        return next(
            e["resource"]
            for e in bundle.get("entry", [])
            if e["resource"]["resourceType"] == "Patient"
        )

    return {
        "read": read.json().get("deceasedDateTime"),
        "search": patient_of(searched.json()).get("deceasedDateTime"),
        "everything": patient_of(everything.json()).get("deceasedDateTime"),
    }


def test_a_death_given_as_a_day_comes_back_as_that_day_on_every_read(world: World) -> None:
    """Sent "2026-11-30", given back "2026-11-30" by the update's answer,
    the read, the search, $everything and the version kept: never
    2026-11-29T23:00:00Z, a time of day nobody stated."""
    nurse = f.client_for(world.nurse)
    url = f"/fhir/Patient/{world.person.pk}"
    body = bodies.patient(world.person.cpr, deceasedDateTime=DIED_ON)
    sent = put(nurse, url, body, HTTP_IF_MATCH='W/"1"')
    assert sent.status_code == 200, sent.content
    assert sent.json()["deceasedDateTime"] == DIED_ON
    world.person.refresh_from_db()
    assert (world.person.deceased_at, world.person.deceased_on) == (
        DIED_ON_START,
        dt.date(2026, 11, 30),
    )
    assert _death_read(nurse, world.person.pk) == dict.fromkeys(
        ("read", "search", "everything"), DIED_ON
    )
    kept = PatientVersion.objects.get(citizen=world.person, version_id=2)
    assert kept.body["deceasedDateTime"] == DIED_ON


def test_a_day_of_death_resent_stays_a_day_and_a_time_of_day_replaces_it(world: World) -> None:
    """The same day sent again is the same death (still a day, nothing
    followed anew); deceasedBoolean true keeps it as it stands; a time of
    day given for it is kept as that instant, and the death left out
    withdraws it, day and all."""
    nurse = f.client_for(world.nurse)
    url = f"/fhir/Patient/{world.person.pk}"
    day = bodies.patient(world.person.cpr, deceasedDateTime=DIED_ON)
    assert put(nurse, url, day, HTTP_IF_MATCH='W/"1"').status_code == 200
    again = put(nurse, url, day, HTTP_IF_MATCH='W/"2"')
    assert again.status_code == 200, again.content
    assert again.json()["deceasedDateTime"] == DIED_ON
    flag = put(
        nurse, url, bodies.patient(world.person.cpr, deceasedBoolean=True), HTTP_IF_MATCH='W/"3"'
    )
    assert flag.status_code == 200, flag.content
    assert flag.json()["deceasedDateTime"] == DIED_ON

    timed = bodies.patient(world.person.cpr, deceasedDateTime="2026-11-30T00:00:00+01:00")
    restated = put(nurse, url, timed, HTTP_IF_MATCH='W/"4"')
    assert restated.status_code == 200, restated.content
    # The same instant, now stated with its time: written as an instant.
    assert restated.json()["deceasedDateTime"] == "2026-11-29T23:00:00Z"
    world.person.refresh_from_db()
    assert (world.person.deceased_at, world.person.deceased_on) == (DIED_ON_START, None)

    assert put(nurse, url, day, HTTP_IF_MATCH='W/"5"').status_code == 200
    alive = put(nurse, url, bodies.patient(world.person.cpr), HTTP_IF_MATCH='W/"6"')
    assert alive.status_code == 200, alive.content
    assert "deceasedDateTime" not in alive.json()
    world.person.refresh_from_db()
    assert (world.person.deceased_at, world.person.deceased_on) == (None, None)
    assert PatientVersion.objects.filter(citizen=world.person).count() == 7


def test_the_board_is_given_the_day_of_a_death_given_as_a_day(world: World) -> None:
    """The referral closed on the death warns the coordinator; /api/ gives
    the day beside the instant it is compared as."""
    f.acute_referral(person=world.person, accepted=False, by=world.coordinator)
    body = bodies.patient(world.person.cpr, deceasedDateTime=DIED_ON)
    sent = put(
        f.client_for(world.nurse), f"/fhir/Patient/{world.person.pk}", body, HTTP_IF_MATCH='W/"1"'
    )
    assert sent.status_code == 200, sent.content
    got = f.client_for(world.coordinator).get("/api/acute/warnings")
    assert got.status_code == 200, got.content
    deaths = [w["detail"] for w in got.json()["results"] if w["kind"] == "deceased"]
    assert deaths
    assert all(d["deceased_on"] == DIED_ON for d in deaths)
