"""A date searched in the shared record is a Copenhagen calendar day, not a
UTC one: what a nurse wrote at 01:30 on 1 April (23:30 UTC on 31 March) is
found under 1 April, and a day the clocks change has 23 or 25 hours."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post


def _found(world: World, query: str) -> set[str]:
    response = f.client_for(world.nurse).get(
        f"/fhir/Condition?patient={world.person.pk}&code={bodies.ICD10}|E11&{query}"
    )
    assert response.status_code == 200, response.content
    return {e["resource"]["onsetDateTime"] for e in response.json().get("entry", [])}


@pytest.mark.parametrize(
    ("onset", "day", "not_day"),
    [
        # 01:30 summer time on 1 April.
        ("2026-03-31T23:30:00+00:00", "2026-04-01", "2026-03-31"),
        # 00:30 winter time on New Year's Day.
        ("2026-12-31T23:30:00+00:00", "2027-01-01", "2026-12-31"),
        # 23:30 on the 25-hour day summer time ends (22:30 UTC).
        ("2026-10-25T22:30:00+00:00", "2026-10-25", "2026-10-26"),
        # A date alone is that day.
        ("2026-04-01", "2026-04-01", "2026-03-31"),
    ],
)
def test_a_date_searched_is_the_day_in_copenhagen(
    world: World, onset: str, day: str, not_day: str
) -> None:
    created = post(
        f.client_for(world.nurse),
        "/fhir/Condition",
        bodies.diagnosis(world.person.pk, code="E11", onsetDateTime=onset),
    )
    assert created.status_code == 201, created.content
    assert len(_found(world, f"date={day}")) == 1
    assert _found(world, f"date={not_day}") == set()
    month = day[:7]
    assert len(_found(world, f"date={month}")) == 1
    assert len(_found(world, f"date=ge{day}")) == 1
    assert _found(world, f"date=lt{day}") == set()


def test_the_first_day_of_the_calendar_is_refused_not_a_failure(world: World) -> None:
    response = f.client_for(world.nurse).get("/fhir/Condition?date=0001-01-01")
    assert response.status_code == 400, response.content
    assert issue_code(response) == "search.date_invalid"


@pytest.mark.parametrize(
    ("date", "code"),
    [
        # A wall-clock time without its offset: 02:30 did not exist that night.
        ("2026-03-29T02:30:00", "time.naive"),
        # And the hour that came twice in October, said without which.
        ("2026-10-25T02:30", "time.naive"),
        ("0001-01-01", "search.date_invalid"),
    ],
)
def test_a_date_no_clock_reads_is_refused_for_every_reader_alike(
    world: World, date: str, code: str
) -> None:
    """Refused before the gate decides: a reader the gate shows nothing (no
    visit, or across every citizen) once got an empty page, where a reader
    with a visit got the refusal; the answer told the two apart, and an empty
    page read as "nothing on that day". The refusal is recorded (R9) on the
    log of the citizen the search names."""
    from consent.audit.models import AuditEntry

    asked = {
        "the nurse with a visit": (world.nurse, f"patient={world.person.pk}&"),
        "a nurse without one": (world.other_nurse, f"patient={world.person.pk}&"),
        "across every citizen": (world.other_nurse, ""),
    }
    for who, (membership, patient) in asked.items():
        before = AuditEntry.objects.filter(
            actor_user_id=membership.user_id, outcome="denied"
        ).count()
        response = f.client_for(membership).get(f"/fhir/Condition?{patient}date={date}")
        assert response.status_code == 400, (who, response.content)
        assert issue_code(response) == code, who
        refused = AuditEntry.objects.filter(actor_user_id=membership.user_id, outcome="denied")
        assert refused.count() == before + 1, who
        if patient:
            assert refused.latest("id").citizen_id == world.person.pk, who
