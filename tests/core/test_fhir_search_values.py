"""What a partner's search says is what is searched: an empty value of a
type's own parameter is refused on every type (never read as "no filter",
which turned ``Condition?patient=`` into a search of every citizen the
reader may see), and the links of an answer that is not paged
(``$everything``) lead back to the same answer.
"""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from consent.services import record_resource_create
from core.actors import Actor
from core.fhir.resources import FHIRResource, registered
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, world  # noqa: F401

pytestmark = pytest.mark.django_db


def _searchable() -> list[FHIRResource]:
    seen: dict[str, FHIRResource] = {}
    for resource in registered():
        if resource.searchable:
            seen.setdefault(resource.type, resource)
    return list(seen.values())


def _second_citizen_with_a_diagnosis(scene: World) -> Any:
    other = f.citizen(gp=scene.gp)
    f.open_visit(scene.nurse, other)
    record_resource_create(
        actor=Actor.for_membership(scene.nurse),
        data=bodies.diagnosis(other.pk),
        purpose="treatment",
    )
    return other


@pytest.mark.parametrize(
    "query",
    [
        "patient=",
        "subject=",
        "patient={pid}&patient=",
        "patient=&patient={pid}",
        "patient={pid}&code=",
    ],
)
def test_an_empty_patient_is_refused_not_read_as_every_citizen(
    world: World,  # noqa: F811
    query: str,
) -> None:
    """The nurse sees two citizens; ``patient=`` (a client's template with
    its id left out) answered with both citizens' diagnoses, and
    ``patient=1&patient=`` with the other citizen's too."""
    _second_citizen_with_a_diagnosis(world)
    client = f.client_for(world.nurse)
    response = client.get(f"/fhir/Condition?{query.format(pid=world.person.pk)}")
    assert response.status_code == 400, response.content[:300]
    OperationOutcome.model_validate(response.json())
    assert issue_code(response) == "search.param_invalid"
    name = query.rpartition("&")[2].partition("=")[0]
    assert response.json()["issue"][0]["expression"] == [name]


def test_an_empty_value_is_refused_in_a_post_search_too(world: World) -> None:  # noqa: F811
    _second_citizen_with_a_diagnosis(world)
    response = f.client_for(world.nurse).post(
        "/fhir/Condition/_search",
        data="patient=",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert issue_code(response) == "search.param_invalid"


def test_an_empty_value_is_refused_in_danish_and_english(world: World) -> None:  # noqa: F811
    client = f.client_for(world.nurse)
    query = f"/fhir/Condition?patient={world.person.pk}&code="
    danish = client.get(query).json()["issue"][0]["details"]["text"]
    assert danish == "code skal være angivet med en værdi."
    english = client.get(query, HTTP_ACCEPT_LANGUAGE="en").json()["issue"][0]["details"]["text"]
    assert english == "code must be given a value."


@pytest.mark.parametrize("resource", _searchable(), ids=lambda r: r.type)
def test_an_empty_value_of_an_own_parameter_is_refused_on_every_type(
    world: World,  # noqa: F811
    resource: FHIRResource,
) -> None:
    reader = world.auditor if resource.type == "AuditEvent" else world.nurse
    client = f.client_for(reader)
    citizen = "name=x" if resource.type == "Patient" else f"patient={world.person.pk}"
    for param in resource.search_params:
        # A CPR number is searched by POST alone (ADR 0002): refused before.
        if param.names_citizen or param.name in resource.cpr_params:
            continue
        response = client.get(f"/fhir/{resource.type}?{citizen}&{param.name}=")
        assert response.status_code == 400, (resource.type, param.name, response.content[:300])
        OperationOutcome.model_validate(response.json())
        assert issue_code(response) == "search.param_invalid", (resource.type, param.name)


def test_the_links_of_everything_give_the_same_answer(world: World) -> None:  # noqa: F811
    """``$everything`` takes no ``_count`` or ``_offset``, yet its ``self``
    and ``first`` links carried them: a client that followed them was refused."""
    client = f.client_for(world.nurse)
    first = client.get(f"/fhir/Patient/{world.person.pk}/$everything")
    assert first.status_code == 200
    links = {link["relation"]: link["url"] for link in first.json()["link"]}
    assert set(links) == {"self"}
    assert links["self"] == f"http://testserver/fhir/Patient/{world.person.pk}/$everything"
    again = client.get(links["self"].removeprefix("http://testserver"))
    assert again.status_code == 200, again.content[:300]
    assert again.json()["entry"] == first.json()["entry"]
