"""``Accept`` with a weight of 0 says "not this one" (RFC 9110 section 12.4.2).

``Accept: application/json;q=0`` was answered 200 in JSON on ``/api/``, and
``application/fhir+json;q=0, application/json;q=0`` with FHIR JSON on
``/fhir/``: REST framework matched the range and ignored its weight. Both
doors negotiate through ``core.renderers.ContentNegotiation``; a client that
refuses every format an address answers in is answered 406 in the door's own
error form, and a range weighed 0 no longer picks the answer's format.
"""

from __future__ import annotations

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from core.models import Role
from tests import factories as f
from tests.consent.conftest import World, issue_code, world  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "accept",
    [
        "application/json;q=0",
        "application/json; q=0.0",
        "application/json;q=0.000",
        "*/*;q=0",
        "application/*;q=0",
        "application/json;q=0, text/html",
        "*/*;q=0.5, application/json;q=0",
        "text/html, application/*;q=0",
    ],
)
def test_the_api_refuses_an_accept_that_refuses_json(accept: str) -> None:
    client = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    response = client.get("/api/acute/referrals", HTTP_ACCEPT=accept)
    assert response.status_code == 406, (accept, response.content[:200])
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "request.not_acceptable"


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "application/json;q=0.001",
        "application/json;q=1",
        "*/*",
        "text/html;q=0, */*",
        "application/*;q=0, application/json",
        "application/json;q=0.5, text/html;q=0",
    ],
)
def test_the_api_serves_an_accept_that_takes_json(accept: str) -> None:
    client = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    response = client.get("/api/acute/referrals", HTTP_ACCEPT=accept)
    assert response.status_code == 200, (accept, response.content[:200])


def test_a_refusal_by_accept_is_in_danish() -> None:
    client = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    response = client.get(
        "/api/auth/whoami", HTTP_ACCEPT="application/json;q=0", HTTP_ACCEPT_LANGUAGE="da"
    )
    assert response.status_code == 406
    assert "Accept" in response.json()["error"]["message"]
    assert response.json()["error"]["message"] == (
        "Accept afviser (q=0) alle de formater, denne adresse svarer i."
    )


@pytest.mark.parametrize(
    "accept",
    [
        "application/fhir+json;q=0, application/json;q=0",
        "application/fhir+json;q=0, application/json;q=0, */*",
        "*/*;q=0",
        "application/*;q=0",
        "application/fhir+json;fhirVersion=4.0;q=0, application/json;q=0",
    ],
)
def test_fhir_refuses_an_accept_that_refuses_fhir_json(
    world: World,  # noqa: F811
    accept: str,
) -> None:
    response = f.client_for(world.nurse).get(
        f"/fhir/Condition?patient={world.person.pk}", HTTP_ACCEPT=accept
    )
    assert response.status_code == 406, (accept, response.content[:300])
    assert response["Content-Type"].startswith("application/fhir+json")
    assert OperationOutcome.model_validate_json(response.content)
    assert issue_code(response) == "request.not_acceptable"


@pytest.mark.parametrize(
    "accept",
    [
        "application/fhir+json;q=0, application/json",
        "application/json;q=0, */*",
        "application/fhir+json",
        "application/fhir+json;q=0.5",
    ],
)
def test_fhir_answers_an_accept_that_takes_one_of_its_formats(
    world: World,  # noqa: F811
    accept: str,
) -> None:
    response = f.client_for(world.nurse).get(
        f"/fhir/Condition?patient={world.person.pk}", HTTP_ACCEPT=accept
    )
    assert response.status_code == 200, (accept, response.content[:300])
    assert response.json()["resourceType"] == "Bundle"


@pytest.mark.parametrize(
    "accept",
    [
        "application/fhir+json;q=0, application/json",
        "application/fhir+json;q=0.0, application/json;q=0.5",
        "application/json, application/fhir+json;q=0",
    ],
)
def test_fhir_never_names_a_format_weighed_0_as_its_answers(
    world: World,  # noqa: F811
    accept: str,
) -> None:
    """The answer is the format the negotiation chose, application/json,
    with the same body FHIR JSON carries."""
    client = f.client_for(world.nurse)
    url = f"/fhir/Condition?patient={world.person.pk}"
    as_fhir = client.get(url, HTTP_ACCEPT="application/fhir+json")

    response = client.get(url, HTTP_ACCEPT=accept)

    assert response.status_code == 200, (accept, response.content[:300])
    assert response["Content-Type"].split(";")[0] == "application/json"
    assert as_fhir["Content-Type"].split(";")[0] == "application/fhir+json"
    body, fhir_body = response.json(), as_fhir.json()
    for bundle in (body, fhir_body):
        bundle.pop("id", None)
        bundle.get("meta", {}).pop("lastUpdated", None)
        bundle.pop("timestamp", None)
    assert body == fhir_body


@pytest.mark.parametrize("accept", ["", "*/*", "application/*", "application/json;q=0, */*"])
def test_fhir_answers_fhir_json_where_accept_leaves_the_choice(
    world: World,  # noqa: F811
    accept: str,
) -> None:
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = f.client_for(world.nurse).get(
        f"/fhir/Condition?patient={world.person.pk}", **headers
    )
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == "application/fhir+json"


def test_a_fhir_refusal_is_in_the_format_negotiated_too(
    world: World,  # noqa: F811
) -> None:
    response = f.client_for(world.nurse).get(
        f"/fhir/Condition?patient={world.person.pk}&nonsense=1",
        HTTP_ACCEPT="application/fhir+json;q=0, application/json",
    )
    assert response.status_code == 400
    assert response["Content-Type"].split(";")[0] == "application/json"
    assert OperationOutcome.model_validate_json(response.content)


def test_the_api_names_json_when_accept_weighs_another_format_0() -> None:
    client = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    response = client.get(
        "/api/acute/referrals", HTTP_ACCEPT="application/fhir+json;q=0, application/json"
    )
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == "application/json"
