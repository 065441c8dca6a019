"""R2 at the type's own door: a write of a FHIR resource type the shared record
does not hold — a medication statement, an allergy, a document, a questionnaire
response — is refused naming the rule (400 ``record.type_not_permitted``,
OperationOutcome), as the same resource is in a transaction; nothing is
written. A path that names no FHIR resource type stays unknown (404)."""

from __future__ import annotations

import json

import pytest

from consent.models import RecordResource
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, post, put

NOT_HELD = [
    "MedicationStatement",
    "AllergyIntolerance",
    "DocumentReference",
    "QuestionnaireResponse",
]


def _body(kind: str, citizen_id: int) -> dict:
    return {
        "resourceType": kind,
        "meta": bodies.tag("somatic-diagnosis"),
        "subject": {"reference": f"Patient/{citizen_id}"},
        "note": [{"text": "F32.1"}],
    }


def _refused_naming_r2(response, kind: str) -> None:
    assert response.status_code == 400, response.content
    issue = response.json()["issue"][0]
    codes = [c["code"] for c in issue["details"]["coding"]]
    assert codes == ["record.type_not_permitted", "R2"], issue
    assert issue["diagnostics"].startswith("R2 (kun tilladte data): "), issue
    assert kind in issue["diagnostics"]


@pytest.mark.parametrize("kind", NOT_HELD)
def test_r2_a_type_the_record_does_not_hold_is_refused_naming_the_rule(
    world: World, kind: str
) -> None:
    client = f.client_for(world.nurse)
    before = RecordResource.objects.count()
    _refused_naming_r2(post(client, f"/fhir/{kind}", _body(kind, world.person.pk)), kind)
    _refused_naming_r2(put(client, f"/fhir/{kind}/1", _body(kind, world.person.pk)), kind)
    patched = client.patch(
        f"/fhir/{kind}/1", data=json.dumps([]), content_type="application/json-patch+json"
    )
    _refused_naming_r2(patched, kind)
    assert RecordResource.objects.count() == before


def test_r2_a_path_naming_no_resource_type_stays_unknown(world: World) -> None:
    client = f.client_for(world.nurse)
    for path in ("/fhir/Medicin", "/fhir/Coding", "/fhir/DomainResource"):
        response = post(client, path, {"resourceType": "Basic"})
        assert response.status_code == 404, (path, response.content)
        assert response.json()["issue"][0]["details"]["coding"][0]["code"] == "fhir.not_supported"
