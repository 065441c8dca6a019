"""A query parameter given with no value is refused on ``/api/``, never read
as "not given" (``core/query_gate.py``), and the description says what an id
in a query takes (``core/openapi.py``).

``/api/cabinet/stock?location=`` answered every location's stock, and
``monthly-use?year=`` this year's use: the caller asked for something, and
the answer held more than, or other than, was asked. The pages' own forms
are another door: a filter field the user cleared submits ``?citizen=`` and
means "no filter" there, as before.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from consent.audit.models import AuditEntry
from core.models import Membership, Role
from core.openapi_views import DocsView
from core.query_gate import operation_takes
from tests import factories as f
from tests.core.test_api_query_gate import _url, api_get_routes

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> dict[str, Membership]:
    org = f.acute_function()
    return {role: f.staff(role, org) for role in Role.values}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return dict(json.loads(json.dumps(generated, default=str)))


@pytest.mark.parametrize(
    ("role", "url", "field"),
    [
        ("medicine_officer", "/api/cabinet/stock?location=", "location"),
        ("acute_nurse", "/api/cabinet/stock?location=%20%20", "location"),
        ("medicine_officer", "/api/cabinet/reports/monthly-use?year=", "year"),
        ("acute_nurse", "/api/cabinet/administrations/suggested-lot?medicine=", "medicine"),
        ("medicine_officer", "/api/cabinet/counts?status=", "status"),
        ("coordinator", "/api/acute/referrals?status=", "status"),
        ("coordinator", "/api/acute/referrals?status=accepted&format=", "format"),
        ("physician", "/api/clinical/orders/mine?status=", "status"),
        ("coordinator", "/api/integrations/outbox?status=", "status"),
    ],
)
def test_a_parameter_given_without_a_value_is_refused(
    staff: dict[str, Membership], role: str, url: str, field: str
) -> None:
    response = f.client_for(staff[role]).get(url, HTTP_ACCEPT_LANGUAGE="da")
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("search.param_invalid", field)
    assert error["message"] == f"{field} skal være angivet med en værdi."


def test_the_same_parameter_with_a_value_is_still_taken(staff: dict[str, Membership]) -> None:
    officer = f.client_for(staff["medicine_officer"])
    assert officer.get("/api/cabinet/stock").status_code == 200
    assert officer.get("/api/cabinet/reports/monthly-use?year=2026").json()["year"] == 2026
    assert officer.get("/api/cabinet/counts?status=open").status_code == 200


def test_an_auditors_search_with_an_empty_filter_is_refused_and_recorded(
    staff: dict[str, Membership],
) -> None:
    """R9: read as no filter, ``citizen=`` searched every citizen's entries;
    refused, the attempt is recorded as the gate's other refusals are."""
    auditor = staff["auditor"]
    for url in ("/api/audit/entries?citizen=", "/api/audit/export?as=csv&user="):
        before = AuditEntry.objects.count()
        response = f.client_for(auditor).get(url)
        assert response.status_code == 400, url
        assert response.json()["error"]["code"] == "search.param_invalid"
        added = AuditEntry.objects.filter(actor_user_id=auditor.user_id).order_by("-pk")
        assert AuditEntry.objects.count() == before + 1, url
        assert (added[0].outcome, added[0].citizen_id, added[0].reason_code) == (
            "denied",
            None,
            "search.param_invalid",
        )


def test_every_get_route_refuses_each_parameter_it_takes_given_empty(
    staff: dict[str, Membership],
) -> None:
    clients = [f.client_for(None), *(f.client_for(m) for m in staff.values())]
    accept = "application/json, */*;q=0.1"
    unrefused = []
    for route, view in api_get_routes():
        flags = set(getattr(view, "query_flags", ()))
        for name in sorted(operation_takes(view, "GET").names - flags):
            url = f"{_url(route)}?{name}="
            answers = [client.get(url, HTTP_ACCEPT=accept) for client in clients]
            refused = [a for a in answers if a.status_code == 400]
            if any(a.status_code < 400 for a in answers) or not refused:
                unrefused.append(url)
            elif view is not DocsView:
                error = refused[0].json()["error"]
                assert (error["code"], error["field"]) == ("search.param_invalid", name), url
    assert unrefused == [], "\n".join(unrefused)


def test_the_documentation_pages_start_up_script_is_still_served() -> None:
    """``?script=`` is the one parameter taken with no value: the page's
    second request, for its start-up script (``query_flags``)."""
    response = f.client_for(None).get("/api/docs/?script=")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")


def test_a_cleared_filter_on_the_auditors_page_still_means_no_filter() -> None:
    """The page's form submits every field, a cleared one as ``citizen=``."""
    auditor = f.staff(Role.AUDITOR, f.acute_function())
    client = Client()
    assert f.log_in(client, auditor).status_code == 302
    page = client.get("/audit/?citizen=&user=&from=&to=&purpose=&outcome=")
    assert page.status_code == 200


# --- the description -------------------------------------------------------------


def _query_parameters(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (path, parameter)
        for path, operations in schema["paths"].items()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    ]


def test_every_id_in_a_query_is_described_as_one_or_more(schema: dict[str, Any]) -> None:
    ids = [
        (path, p)
        for path, p in _query_parameters(schema)
        if p["schema"].get("type") == "integer" and re.search(r"\bid\b", p.get("description", ""))
    ]
    names = {p["name"] for _path, p in ids}
    assert {"location", "medicine", "citizen", "user", "organisation", "as_of"} <= names
    assert [(path, p["name"]) for path, p in ids if p["schema"].get("minimum") != 1] == []


@pytest.mark.parametrize("value", ["-7", "0"])
def test_an_id_below_one_is_refused_as_the_description_says(
    schema: dict[str, Any], staff: dict[str, Membership], value: str
) -> None:
    (location,) = [p for path, p in _query_parameters(schema) if path == "/api/cabinet/stock"]
    assert location["schema"]["minimum"] == 1
    response = f.client_for(staff["medicine_officer"]).get(f"/api/cabinet/stock?location={value}")
    # A negative is no id (400); 0 names no location (404): neither is an answer.
    assert response.status_code in (400, 404), response.content[:300]


def test_the_audit_searchs_limit_is_bounded_in_the_description(
    schema: dict[str, Any], staff: dict[str, Membership]
) -> None:
    parameters = {
        p["name"]: p["schema"]
        for path, p in _query_parameters(schema)
        if path == "/api/audit/entries"
    }
    assert (parameters["limit"]["minimum"], parameters["limit"]["maximum"]) == (1, 200)
    assert parameters["offset"]["minimum"] == 0
    client = f.client_for(staff["auditor"])
    assert client.get("/api/audit/entries?limit=0").status_code == 400
    assert client.get("/api/audit/entries?limit=201").status_code == 400
    assert client.get("/api/audit/entries?limit=200&offset=0").status_code == 200


# --- /fhir/ ----------------------------------------------------------------------


def _citizen_params(client: Any) -> list[tuple[str, str]]:
    meta = client.get("/fhir/metadata", HTTP_ACCEPT="application/fhir+json").json()
    return [
        (resource["type"], param["name"])
        for rest in meta["rest"]
        for resource in rest["resource"]
        for param in resource.get("searchParam", [])
        if param["name"] in ("patient", "subject")
    ]


def test_fhir_refuses_an_empty_citizen_parameter_on_every_type_alike(
    staff: dict[str, Membership],
) -> None:
    """FHIR R4 lets a server ignore an empty parameter; read so,
    ``Observation?patient=`` would search every citizen the reader may see.
    The platform refuses it on every type, in a GET and a POST ``_search``,
    with the one code (types that require a patient said "search by
    patient" instead, as if none had been given)."""
    clients = [f.client_for(m) for m in staff.values()]
    found = _citizen_params(clients[0])
    assert {("Observation", "patient"), ("Consent", "patient"), ("Condition", "subject")} <= set(
        found
    )
    wrong = []
    for resource_type, name in found:
        for method, url, data in [
            ("get", f"/fhir/{resource_type}?{name}=", None),
            ("post", f"/fhir/{resource_type}/_search", f"{name}=%20"),
        ]:
            codes = set()
            for client in clients:
                if method == "get":
                    response = client.get(url, HTTP_ACCEPT="application/fhir+json")
                else:
                    response = client.post(
                        url,
                        data,
                        content_type="application/x-www-form-urlencoded",
                        HTTP_ACCEPT="application/fhir+json",
                    )
                if response.status_code in (401, 403, 405):
                    continue
                body = response.json()
                coding = (
                    body["issue"][0]["details"]["coding"] if response.status_code == 400 else []
                )
                codes.add((response.status_code, ",".join(c["code"] for c in coding)))
            if codes != {(400, "search.param_invalid")}:
                wrong.append((method, url, data, sorted(codes)))
    assert wrong == []


def test_fhir_refuses_an_empty_narrowing_parameter_beside_a_patient(
    staff: dict[str, Membership],
) -> None:
    response = f.client_for(staff["acute_nurse"]).get(
        "/fhir/Observation?patient=Patient/1&encounter=", HTTP_ACCEPT="application/fhir+json"
    )
    assert response.status_code == 400
    codes = [c["code"] for c in response.json()["issue"][0]["details"]["coding"]]
    assert codes == ["search.param_invalid"]
