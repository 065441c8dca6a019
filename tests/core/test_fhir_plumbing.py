"""FHIR over HTTP: metadata, OperationOutcome for every error, searchset paging, Patient."""

import datetime as dt

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from rest_framework.test import APIRequestFactory

from core.cpr import CPR_SYSTEM
from core.fhir.capability import registered_resources
from core.fhir.patient import patient_resource
from core.fhir.views import searchset
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_metadata_is_a_valid_capability_statement_listing_what_is_registered(client) -> None:
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    statement = CapabilityStatement.model_validate(response.json())
    assert statement.fhirVersion == "4.0.1"
    assert statement.rest is not None
    listed = {r.type for r in (statement.rest[0].resource or [])}
    assert listed == set(registered_resources())


def test_unknown_resource_type_answers_with_operation_outcome(client) -> None:
    response = client.get("/fhir/Spaceship/1")
    assert response.status_code == 404
    outcome = OperationOutcome.model_validate(response.json())
    assert outcome.issue[0].code == "not-found"


def test_malformed_json_on_fhir_is_an_operation_outcome_not_a_500(client) -> None:
    response = client.post("/fhir/metadata", data="{not json", content_type="application/fhir+json")
    assert response.status_code in (400, 405)
    OperationOutcome.model_validate(response.json())


def test_unknown_api_path_answers_with_the_json_envelope(client) -> None:
    response = client.get("/api/nothing/here")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such resource."}}


def test_searchset_has_paging_links_and_a_valid_shape() -> None:
    request = APIRequestFactory().get(
        "/fhir/Patient", {"_count": "2", "_offset": "2", "family": "x"}
    )
    from rest_framework.request import Request

    resources = [{"resourceType": "Patient", "id": str(i)} for i in (3, 4)]
    bundle = searchset(
        Request(request), resource_path="Patient", resources=resources, total=5, count=2, offset=2
    )
    Bundle.model_validate(bundle)
    links = {link["relation"]: link["url"] for link in bundle["link"]}
    assert "_offset=4" in links["next"] and "_offset=0" in links["previous"]
    assert "family=x" in links["next"] and "_count=2" in links["next"]
    last_page = searchset(
        Request(request), resource_path="Patient", resources=resources, total=4, count=2, offset=2
    )
    assert "next" not in {link["relation"] for link in last_page["link"]}


def test_patient_mapping_uses_the_dk_core_cpr_identifier() -> None:
    gp = f.gp_practice()
    person = f.citizen(gp=gp, female=False, born=dt.date(1938, 5, 17))
    resource = patient_resource(person)
    assert resource["identifier"] == [{"system": CPR_SYSTEM, "value": person.cpr}]
    assert resource["gender"] == "male"
    assert resource["birthDate"] == "1938-05-17"
    assert resource["generalPractitioner"][0]["reference"] == f"Organization/{gp.pk}"
    assert "identifier" not in patient_resource(person, show_cpr=False)
