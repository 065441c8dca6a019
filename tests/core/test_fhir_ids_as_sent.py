"""A citizen's id in a search is read as it was sent, alike on every type.

``patient=%2012%20`` (the id with spaces around it) was read as citizen 12
by the shared reader of references, which trimmed it: ``Consent`` and
``EpisodeOfCare`` answered for that citizen, ``MedicationAdministration``
answered "not found", while ``Condition`` and ``AuditEvent`` refused it, each
with its own code. Every other reader of an id on the platform takes the
digits 0-9 as sent and nothing else (``core.validation.is_digits``); so
does this one, for every type and both of its forms (``<id>`` and
``Patient/<id>``).

Nor does an id with a leading zero name a row: ``/fhir/Patient/07`` was
answered with Patient 7 (``"id": "7"``, another id than the one read), and
``Condition?patient=07``, ``Patient?_id=07``, ``$everything`` and a body's
``Patient/07`` read it as 7, where ``/api/`` refuses ``"07"`` for an id in a
body. A FHIR id is its text: ``07`` is an id no resource has here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from consent.models import RecordResource
from core.fhir.resources import FHIRResource, registered
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, world  # noqa: F401

pytestmark = pytest.mark.django_db


def _citizen_searches() -> list[tuple[FHIRResource, str]]:
    seen: dict[tuple[str, str], FHIRResource] = {}
    for resource in registered():
        for param in resource.search_params:
            if param.names_citizen:
                seen.setdefault((resource.type, param.name), resource)
    return [(resource, name) for (_, name), resource in seen.items()]


every_citizen_search = pytest.mark.parametrize(
    ("resource", "name"),
    _citizen_searches(),
    ids=lambda value: value.type if isinstance(value, FHIRResource) else value,
)


def _searched(world: World, resource: FHIRResource, name: str, written: str) -> Any:  # noqa: F811
    """The search for ``written`` (``{pid}`` is her id), by one who may read the type."""
    reader = world.auditor if resource.type == "AuditEvent" else world.nurse
    value = quote(written.format(pid=world.person.pk))
    return f.client_for(reader).get(f"/fhir/{resource.type}?{name}={value}")


@every_citizen_search
@pytest.mark.parametrize(
    "written",
    [" {pid} ", "{pid} ", "Patient/ {pid}", "Patient/{pid}\t", "0{pid}", "Patient/00{pid}"],
)
def test_an_id_with_spaces_or_a_leading_zero_is_refused_on_every_type(
    world: World,  # noqa: F811
    resource: FHIRResource,
    name: str,
    written: str,
) -> None:
    response = _searched(world, resource, name, written)
    assert response.status_code == 400, (resource.type, name, response.content[:300])
    OperationOutcome.model_validate(response.json())
    assert issue_code(response) == "search.param_invalid", (resource.type, name)
    assert response.json()["issue"][0]["expression"] == [name]


@every_citizen_search
@pytest.mark.parametrize("written", ["{pid}", "Patient/{pid}"])
def test_the_id_as_sent_is_still_searched(
    world: World,  # noqa: F811
    resource: FHIRResource,
    name: str,
    written: str,
) -> None:
    response = _searched(world, resource, name, written)
    assert response.status_code == 200, (resource.type, name, response.content[:300])
    assert response.json()["resourceType"] == "Bundle"


def test_an_id_with_a_leading_zero_reads_nothing(world: World) -> None:  # noqa: F811
    client = f.client_for(world.nurse)
    pid, did = world.person.pk, world.diagnosis.pk
    assert client.get(f"/fhir/Patient/{pid}").json()["id"] == str(pid)
    for path in (
        f"/fhir/Patient/0{pid}",
        f"/fhir/Condition/0{did}",
        f"/fhir/Condition/0{did}/_history/1",
        f"/fhir/Patient/0{pid}/$everything",
    ):
        response = client.get(path)
        assert response.status_code == 404, (path, response.content[:300])
        OperationOutcome.model_validate(response.json())
    response = client.get(f"/fhir/Patient?_id=0{pid}")
    assert response.status_code == 400
    assert issue_code(response) == "search.param_invalid"
    auditor = f.client_for(world.auditor)
    response = auditor.get(f"/fhir/AuditEvent?patient=Patient/0{pid}")
    assert response.status_code == 400
    assert issue_code(response) == "search.param_invalid"


def test_a_body_naming_a_patient_with_a_leading_zero_writes_nothing(
    world: World,  # noqa: F811
) -> None:
    client = f.client_for(world.nurse)
    before = RecordResource.objects.count()
    body = bodies.diagnosis(world.person.pk, code="J18")
    body["subject"] = {"reference": f"Patient/0{world.person.pk}"}
    response = post(client, "/fhir/Condition", body)
    assert response.status_code == 400, response.content[:300]
    assert issue_code(response) == "record.reference_invalid"
    assert RecordResource.objects.count() == before
    body["subject"] = {"reference": f"Patient/{world.person.pk}"}
    assert post(client, "/fhir/Condition", body).status_code == 201
