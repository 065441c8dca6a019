"""FHIR JSON lets ``null`` stand in a list only for a value given as an
extension in the ``_element`` list beside it. A null with no such partner
(``"given": [null]``) is refused at the door with an OperationOutcome naming
its place: a coordinator's Patient with one crashed the name's reading (a
500), and every door reading FHIR passes the same check."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.models import Citizen, Role
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import issue_code

pytestmark = [pytest.mark.django_db]


def _create(body: dict[str, Any]) -> Any:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    return f.client_for(coordinator).post(
        "/fhir/Patient", data=json.dumps(body), content_type=bodies.FHIR
    )


@pytest.mark.parametrize(
    ("element", "place"),
    [
        (("name", 0, "given"), "name.0.given.2"),
        (("address", 0, "line"), "address.0.line.1"),
        (("identifier",), "identifier"),
    ],
)
def test_a_null_without_its_extension_is_refused(element: tuple[Any, ...], place: str) -> None:
    body = bodies.patient(f.cpr_number())
    holder = body
    for step in element[:-1]:
        holder = holder[step]
    holder[element[-1]] = [*holder[element[-1]], None]
    response = _create(body)
    assert response.status_code == 400, response.content[:300]
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert issue_code(response) == "fhir.invalid"
    assert place in outcome["issue"][0]["diagnostics"]
    assert not Citizen.objects.exists()


def test_a_null_beside_its_extension_is_never_a_500() -> None:
    body = bodies.patient(f.cpr_number())
    body["name"][0]["given"] = [None, "Marie"]
    body["name"][0]["_given"] = [
        {"extension": [{"url": "http://example.org/kaldenavn", "valueString": "Karen"}]},
        None,
    ]
    response = _create(body)
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert response.json()["resourceType"] == "OperationOutcome"


def test_a_name_without_nulls_still_passes() -> None:
    response = _create(bodies.patient(f.cpr_number()))
    assert response.status_code == 201, response.content[:300]
