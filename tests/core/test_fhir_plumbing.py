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
from core.models import Role
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
    assert response.json() == {"error": {"code": "not_found", "message": "Ressourcen findes ikke."}}


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


COMBINATION = (
    "http://hl7.org/fhir/StructureDefinition/capabilitystatement-search-parameter-combination"
)


def _required_combinations(resource: dict) -> list[set[str]]:
    return [
        {e["valueString"] for e in ext["extension"] if e["url"] == "required"}
        for ext in resource.get("extension", [])
        if ext["url"] == COMBINATION
    ]


def test_every_required_search_parameter_is_declared_in_the_capability_statement() -> None:
    """A search refused for a missing parameter says so, and the statement says
    so too (FHIR's search-parameter-combination); what the statement requires
    is exactly what the search refuses without, on every searchable type."""
    acute = f.acute_function()
    personas = [f.staff(Role.ACUTE_NURSE, acute), f.staff(Role.AUDITOR, acute)]
    statement = f.client_for(None).get("/fhir/metadata").json()
    searchable = [
        r
        for r in statement["rest"][0]["resource"]
        if {"code": "search-type"} in r.get("interaction", [])
    ]
    assert {"Observation", "Procedure", "MedicationRequest", "Consent"} <= {
        r["type"] for r in searchable
    }
    for resource in searchable:
        responses = [f.client_for(p).get(f"/fhir/{resource['type']}") for p in personas]
        answered = next(r for r in responses if r.status_code not in (401, 403))
        code = (
            answered.json()["issue"][0]["details"]["coding"][0]["code"]
            if (answered.status_code == 400)
            else ""
        )
        required = _required_combinations(resource)
        declared = {p["name"] for p in resource.get("searchParam", [])}
        if code.startswith("search.") and code.endswith("_required"):
            assert required, f"{resource['type']} requires a parameter it does not declare"
            diagnostics = answered.json()["issue"][0]["diagnostics"]
            assert any(name in diagnostics for c in required for name in c)
        else:
            assert not required, f"{resource['type']} declares a requirement it does not have"
        for combination in required:
            assert combination <= declared
            assert all(
                "Required" in p.get("documentation", "")
                for p in resource["searchParam"]
                if p["name"] in combination
            )
            query = "&".join(f"{name}=Patient/999999" for name in sorted(combination))
            again = f.client_for(personas[0]).get(f"/fhir/{resource['type']}?{query}")
            if again.status_code == 400:
                again_code = again.json()["issue"][0]["details"]["coding"][0]["code"]
                assert not again_code.endswith("_required"), (resource["type"], again_code)


def test_a_required_search_parameter_must_be_declared() -> None:
    from core.fhir.capability import ResourceCapability, SearchParam

    with pytest.raises(ValueError, match="patient"):
        ResourceCapability(
            type="Observation",
            interactions=["search-type"],
            search_params=[SearchParam("code", "token")],
            required_search=[("patient",)],
        )


@pytest.mark.parametrize(
    "path",
    ["/fhir/Condition", "/fhir/Condition/1", "/fhir/Patient/1/$everything", "/fhir/metadata"],
)
def test_options_is_no_fhir_interaction_and_describes_no_view(path: str) -> None:
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function())
    response = f.client_for(nurse).options(path)
    assert response.status_code == 405
    outcome = OperationOutcome.model_validate(response.json())
    assert outcome.issue[0].code == "not-supported"
    assert "renders" not in response.content.decode()


@pytest.mark.parametrize(
    "path",
    ["/fhir/Condition?patient=1", "/fhir/Condition/1", "/fhir/Patient?name=x", "/fhir/metadata"],
)
def test_a_format_other_than_json_is_refused_on_every_type(path: str) -> None:
    """_format=xml is answered as an Accept header asking for XML is (406),
    on every type alike; json in any of its spellings is served."""
    client = f.client_for(f.staff(Role.ACUTE_NURSE, f.acute_function()))
    joiner = "&" if "?" in path else "?"
    for wanted in ("xml", "application/fhir+xml", "text/turtle"):
        response = client.get(f"{path}{joiner}_format={wanted}")
        assert response.status_code == 406, (path, wanted)
        coding = response.json()["issue"][0]["details"]["coding"][0]
        assert coding["code"] == "request.not_acceptable"
    for wanted in ("json", "application/fhir+json", "application/json"):
        assert client.get(f"{path}{joiner}_format={wanted}").status_code in (200, 404)


@pytest.mark.parametrize("method", ["head", "get", "put", "delete", "options", "patch"])
def test_a_method_an_endpoint_does_not_serve_is_a_405_before_anything_else(method: str) -> None:
    """$process-message takes a POST: any other method is refused as a
    method, not as an unsigned request or an unsupported media type; and
    likewise a read-only type, whoever asks."""
    call = getattr(f.client_for(None), method)
    for path in ("/fhir/$process-message", "/fhir/metadata"):
        if (method, path) in {("get", "/fhir/metadata"), ("head", "/fhir/metadata")}:
            continue
        response = call(path)
        assert response.status_code == 405, (method, path, response.content[:200])
        if method != "head":
            assert response.json()["resourceType"] == "OperationOutcome"
            assert response.json()["issue"][0]["code"] == "not-supported"


@pytest.mark.parametrize("path", ["Observation/abc", "ServiceRequest/7", "Task/x-1", "Procedure/7"])
def test_r9_an_id_a_read_type_never_takes_is_an_audited_unknown_id(path: str) -> None:
    from consent.audit.models import AuditEntry

    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function())
    assert f.client_for(None).get(f"/fhir/{path}").status_code == 401
    response = f.client_for(nurse).get(f"/fhir/{path}")
    assert response.status_code == 404
    coding = response.json()["issue"][0]["details"]["coding"][0]
    assert coding["code"] == "not_found"
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.outcome) == ("read", "denied")
    assert entry.reason_code == "unknown_resource"
    assert (entry.resource_type, entry.resource_id) == tuple(path.split("/"))
    assert entry.actor_user_id == nurse.user_id


def test_a_refused_format_and_a_search_without_its_patient_read_in_the_readers_language() -> None:
    """The sentences a FHIR client shows its user: Danish by default, English
    when asked, the alternatives joined by the language's own "or"."""
    client = f.client_for(f.staff(Role.ACUTE_NURSE, f.acute_function()))

    def text(path: str, **headers: str) -> str:
        return str(client.get(path, **headers).json()["issue"][0]["details"]["text"])

    assert text("/fhir/Patient?name=x&_format=xml") == (
        "Platformen svarer i FHIR JSON: _format er json eller application/fhir+json."
    )
    assert text("/fhir/Patient?name=x&_format=xml", HTTP_ACCEPT_LANGUAGE="en") == (
        "The platform answers in FHIR JSON: _format is json or application/fhir+json."
    )
    danish = text("/fhir/Observation?code=8867-4")
    assert "patient=… eller subject=…" in danish and " or " not in danish
    assert "patient=… or subject=…" in text(
        "/fhir/Observation?code=8867-4", HTTP_ACCEPT_LANGUAGE="en"
    )


def test_a_path_with_a_newline_is_an_operation_outcome_and_an_audited_unknown_id() -> None:
    """``/fhir/Task/1%0A`` matched no route (the catch-all's ``.`` stops at a
    newline) and was answered with the HTML "page not found"."""
    from consent.audit.models import AuditEntry

    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function())
    for path in ("Task/1%0A", "Observation/1%0A", "Spaceship/%0A"):
        response = f.client_for(nurse).get(f"/fhir/{path}")
        assert response.status_code == 404, path
        assert response["Content-Type"].startswith("application/fhir+json"), path
        OperationOutcome.model_validate(response.json())
    entry = AuditEntry.objects.filter(resource_type="Observation").latest("id")
    assert (entry.outcome, entry.reason_code, entry.resource_id) == (
        "denied",
        "unknown_resource",
        "",
    )


def _search_of_every_type() -> list[tuple[str, str]]:
    from core.fhir.resources import registered

    found = []
    for resource in registered():
        if not resource.searchable:
            continue
        required = resource.required[0] if resource.required else ()
        query = "&".join(f"{name}=1" for name in required)
        if resource.type == "Patient":
            query = "name=x"
        found.append((resource.type, query))
    return found


@pytest.mark.parametrize(("resource_type", "query"), _search_of_every_type())
def test_a_parameter_a_type_does_not_know_is_refused_on_every_searchable_type(
    resource_type: str, query: str
) -> None:
    """A modifier, a chain, _sort or _include that the type does not serve was
    ignored on some types (``patient:not=1`` answered as if unsaid) and
    refused on others; it is refused on all, whatever ``Prefer`` asks, and
    what clients add about the answer's form is served everywhere."""
    reader = Role.AUDITOR if resource_type == "AuditEvent" else Role.COORDINATOR
    client = f.client_for(f.staff(reader, f.acute_function()))
    base = f"/fhir/{resource_type}?{query}&" if query else f"/fhir/{resource_type}?"
    from core.fhir.resources import registered

    declared = {
        p.name: p.type for r in registered() if r.type == resource_type for p in r.search_params
    }
    # A declared parameter's modifier or chain is refused for what it is.
    expected = {
        "patient:not=1": "search.modifier_unsupported"
        if "patient" in declared
        else "search.param_unknown",
        "subject.name=x": "search.chain_unsupported"
        if declared.get("subject") == "reference"
        else "search.param_unknown",
    }
    for extra in ("patient:not=1", "subject.name=x", "_sort=date", "_include=*", "colour=blue"):
        for prefer in ("handling=lenient", "handling=strict"):
            response = client.get(base + extra, HTTP_PREFER=prefer)
            assert response.status_code == 400, (resource_type, extra, response.status_code)
            coding = response.json()["issue"][0]["details"]["coding"][0]
            wanted = expected.get(extra, "search.param_unknown")
            assert coding["code"] == wanted, (resource_type, extra)
    for extra in ("_total=accurate", "_pretty=true", "_format=json"):
        # Served: a search of a citizen the reader may not see is empty or
        # "not found" by type, never a refused parameter.
        response = client.get(base + extra)
        assert response.status_code in (200, 404), (resource_type, extra, response.content[:300])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/fhir/Condition"),
        ("post", "/fhir/Patient"),
        ("post", "/fhir/Consent"),
        ("post", "/fhir/ServiceRequest"),
        ("post", "/fhir/"),
        ("put", "/fhir/Condition/1"),
        ("put", "/fhir/Patient/1"),
    ],
)
def test_an_empty_body_on_a_fhir_write_is_malformed_on_every_door(method: str, path: str) -> None:
    """An empty body reached no parser and the view judged an empty resource:
    "category missing" on one door, "not a transaction" or "may not create a
    Patient" on others. It is one refusal everywhere."""
    client = f.client_for(f.staff(Role.PHYSICIAN, f.gp_practice()))
    response = getattr(client, method)(path, data=b"", content_type="application/fhir+json")
    assert response.status_code == 400, response.content[:300]
    issue = response.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "request.malformed"
    assert issue["details"]["text"] == "Indholdet er tomt; der ventedes en FHIR-ressource i JSON."
