"""Values in a FHIR body that the models take and FHIR does not, refused on
every ``/fhir/`` write by the same rule as on ``/api/``.

- A dateTime or instant with a time of day and no offset from UTC: FHIR R4
  says it SHALL carry one, and the platform does not guess a zone
  (``core.times``). ``/api/`` refused it with ``time.naive``; ``/fhir/``
  answered the models' ``fhir.invalid`` ("does not match spec regex"), and a
  search's ``date`` ``search.date_invalid``: one rule, three answers.
- A string longer than FHIR lets one be (1024*1024 characters,
  datatypes.html#string): the models do not count, and a 2 MB note was
  stored under the body's 10 MB limit.
"""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from tests import factories as f
from tests.acute.test_api import service_request
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, put, world, write_counts  # noqa: F401

pytestmark = pytest.mark.django_db

NAIVE = "2025-01-01T10:00:00"


def _naive_writes(world: World) -> list[tuple[Any, str, str, dict[str, Any], str]]:  # noqa: F811
    pid = world.person.pk
    nurse = f.client_for(world.nurse)
    diagnosis = bodies.diagnosis(pid, onsetDateTime=NAIVE)
    return [
        (nurse, "POST", "/fhir/Condition", diagnosis, "onsetDateTime"),
        (
            nurse,
            "PUT",
            f"/fhir/Condition/{world.diagnosis.pk}",
            {**diagnosis, "id": str(world.diagnosis.pk)},
            "onsetDateTime",
        ),
        (
            nurse,
            "POST",
            "/fhir/Encounter",
            bodies.hospital_contact(pid, world.department.pk, start=f"{NAIVE}.250"),
            "period.start",
        ),
        (
            nurse,
            "POST",
            "/fhir/Consent",
            {**bodies.refusal(pid, organisations=[world.home.pk]), "dateTime": NAIVE},
            "dateTime",
        ),
        (
            f.client_for(world.physician),
            "POST",
            "/fhir/ServiceRequest",
            {**service_request(world.person.cpr), "authoredOn": NAIVE},
            "authoredOn",
        ),
        (
            nurse,
            "POST",
            "/fhir/",
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {
                        "resource": bodies.care_plan(pid),
                        "request": {"method": "POST", "url": "CarePlan"},
                    },
                    {"resource": diagnosis, "request": {"method": "POST", "url": "Condition"}},
                ],
            },
            "Bundle.entry[1].resource.onsetDateTime",
        ),
    ]


def test_a_time_without_its_offset_is_time_naive_on_every_fhir_write(
    world: World,  # noqa: F811
) -> None:
    version = world.diagnosis.version_id
    before = write_counts()
    for client, method, path, body, element in _naive_writes(world):
        send = put if method == "PUT" else post
        response = send(client, path, body)
        assert response.status_code == 400, (path, response.content[:300])
        OperationOutcome.model_validate(response.json())
        issue = response.json()["issue"][0]
        assert issue_code(response) == "time.naive", (path, issue)
        assert issue["expression"] == [element], path
        assert "Angiv tidspunktet med forskydningen fra UTC" in issue["details"]["text"], path
    assert write_counts() == before
    world.diagnosis.refresh_from_db()
    assert world.diagnosis.version_id == version
    # Only a time that its offset alone would make valid is told to add one;
    # with its offset, or as a date alone, it is taken.
    nurse = f.client_for(world.nurse)
    for onset, status, code in [
        ("2025-13-01T10:00:00", 400, "fhir.invalid"),
        ("2025-01-01T10:00", 400, "fhir.invalid"),
        (f"{NAIVE}+15:00", 400, "fhir.invalid"),
        (f"{NAIVE}+01:00", 201, ""),
        (f"{NAIVE}Z", 201, ""),
        ("2025-01-01", 201, ""),
    ]:
        response = post(
            nurse, "/fhir/Condition", bodies.diagnosis(world.person.pk, onsetDateTime=onset)
        )
        assert response.status_code == status, (onset, response.content[:300])
        assert not code or issue_code(response) == code, onset


def test_the_naive_time_refusal_speaks_english_when_asked(world: World) -> None:  # noqa: F811
    response = post(
        f.client_for(world.nurse),
        "/fhir/Condition",
        bodies.diagnosis(world.person.pk, onsetDateTime=NAIVE),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert issue_code(response) == "time.naive"
    assert response.json()["issue"][0]["details"]["text"] == (
        "Give the time with its offset from UTC, e.g. +01:00 or Z."
    )


@pytest.mark.parametrize("resource_type", ["Condition", "AuditEvent"])
def test_a_search_date_without_its_offset_is_time_naive(
    world: World,  # noqa: F811
    resource_type: str,
) -> None:
    reader = world.auditor if resource_type == "AuditEvent" else world.nurse
    response = f.client_for(reader).get(
        f"/fhir/{resource_type}?patient={world.person.pk}&date=ge{NAIVE}"
    )
    assert response.status_code == 400, response.content[:300]
    OperationOutcome.model_validate(response.json())
    assert issue_code(response) == "time.naive"
    assert response.json()["issue"][0]["expression"] == ["date"]


def test_a_string_longer_than_fhir_allows_is_refused_and_nothing_is_written(
    world: World,  # noqa: F811
) -> None:
    client = f.client_for(world.nurse)
    before = write_counts()
    too_long = "x" * (1024 * 1024 + 1)
    response = post(
        client,
        "/fhir/Condition",
        bodies.diagnosis(world.person.pk, note=[{"text": "kort"}, {"text": too_long}]),
    )
    assert response.status_code == 400, response.content[:300]
    assert issue_code(response) == "fhir.invalid"
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["note.1.text"]
    assert "at most 1048576 characters" in issue["diagnostics"]
    assert write_counts() == before
    longest = "x" * (1024 * 1024)
    taken = post(
        client, "/fhir/Condition", bodies.diagnosis(world.person.pk, note=[{"text": longest}])
    )
    assert taken.status_code == 201, taken.content[:300]
