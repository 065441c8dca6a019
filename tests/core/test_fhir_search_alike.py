"""Every search on ``/fhir/`` answers the same kind of question the same way.

- A type served here that is not searched (``Task``, ``ServiceRequest``)
  answers a search 405 with an OperationOutcome, as FHIR's http.html has an
  interaction not served answered; ``Task`` answered 404 ``fhir.not_supported``
  as if the type were unknown, where ``ServiceRequest`` answered 405.
- A token parameter bound to a code set takes its codes only: ``gender=x``
  was answered with an empty Bundle, as if no citizen had been found.
- A parameter given with no value is refused on every parameter:
  ``_count=`` was read as the default page while ``code=`` was refused.
"""

from __future__ import annotations

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from consent.audit.models import AuditEntry
from core.fhir.resources import RESULT_PARAMS, registered
from tests import factories as f
from tests.consent.conftest import World, issue_code, world  # noqa: F401

pytestmark = pytest.mark.django_db

GENDER = "http://hl7.org/fhir/administrative-gender"


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _unsearched_types() -> list[str]:
    searched = {r.type for r in registered() if r.searchable}
    return sorted({r.type for r in registered()} - searched)


def test_task_and_service_request_are_not_searched_in_the_statement() -> None:
    assert {"Task", "ServiceRequest"} <= set(_unsearched_types())


@pytest.mark.parametrize("resource_type", _unsearched_types())
def test_a_search_of_a_type_not_searched_is_405_on_every_type(
    world: World,  # noqa: F811
    resource_type: str,
) -> None:
    client = f.client_for(world.nurse)
    statement = client.get("/fhir/metadata").json()
    [entry] = [r for r in statement["rest"][0]["resource"] if r["type"] == resource_type]
    assert "search-type" not in {i["code"] for i in entry.get("interaction", [])}
    for method, path in (
        ("get", f"/fhir/{resource_type}?_id=1"),
        ("get", f"/fhir/{resource_type}/_search"),
        ("post", f"/fhir/{resource_type}/_search"),
    ):
        before = _last_id()
        response = getattr(client, method)(path)
        assert response.status_code == 405, (method, path, response.content[:300])
        OperationOutcome.model_validate(response.json())
        assert issue_code(response) == "request.method_not_allowed"
        assert "GET" not in response.get("Allow", "")
        # R9: the attempt is recorded as every other refusal of the form.
        [refused] = AuditEntry.objects.filter(id__gt=before)
        assert (refused.outcome, refused.reason_code) == ("denied", "request.method_not_allowed")


def test_a_search_of_a_type_not_searched_is_405_to_a_caller_nobody_names_too() -> None:
    anonymous = f.client_for(None)
    refused = f.client_for(None)
    refused.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    before = _last_id()
    for client in (anonymous, refused):
        for resource_type in ("Task", "ServiceRequest"):
            response = client.get(f"/fhir/{resource_type}")
            assert response.status_code == 405, (resource_type, response.content[:300])
    assert _last_id() == before


@pytest.mark.parametrize(
    "gender",
    ["x", "Female", "f", "http://example.org/sex|female", "female,x"],
)
def test_a_gender_outside_its_code_set_is_refused_not_an_empty_bundle(
    world: World,  # noqa: F811
    gender: str,
) -> None:
    response = f.client_for(world.nurse).get("/fhir/Patient", {"name": "x", "gender": gender})
    assert response.status_code == 400, response.content[:300]
    OperationOutcome.model_validate(response.json())
    assert issue_code(response) == "search.param_invalid"
    assert response.json()["issue"][0]["expression"] == ["gender"]
    text = response.json()["issue"][0]["details"]["text"]
    assert text == "gender skal være en af female, male, other, unknown."


@pytest.mark.parametrize("gender", ["female", "male", "unknown", f"{GENDER}|female", f"{GENDER}|"])
def test_a_gender_of_the_code_set_is_searched(world: World, gender: str) -> None:  # noqa: F811
    response = f.client_for(world.nurse).get("/fhir/Patient", {"name": "x", "gender": gender})
    assert response.status_code == 200, response.content[:300]
    assert response.json()["resourceType"] == "Bundle"


@pytest.mark.parametrize("name", [p for p in RESULT_PARAMS if p != "_format"])
def test_a_result_parameter_with_no_value_is_refused_as_code_is(
    world: World,  # noqa: F811
    name: str,
) -> None:
    client = f.client_for(world.nurse)
    for path in (f"/fhir/Condition?patient={world.person.pk}", "/fhir/Patient?name=x"):
        response = client.get(f"{path}&{name}=")
        assert response.status_code == 400, (path, name, response.content[:300])
        assert issue_code(response) == "search.param_invalid", (path, name)
        assert response.json()["issue"][0]["expression"] == [name]
