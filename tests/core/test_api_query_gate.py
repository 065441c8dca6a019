"""An ``/api/`` operation takes the query parameters its OpenAPI declaration
names and no other, each once unless declared repeatable (``core/query_gate.py``).

A parameter it does not take was read as "not given" — a misspelt or foreign
filter returned the whole list — and one given twice as its last value. Both
are refused (400) before the view reads anything, on every operation: a
sample of each app's endpoints through HTTP, and a walk over every GET route
of the URL conf, so that a new endpoint cannot go without the check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework.views import APIView

from consent.analyses import ANALYSES
from core.models import Membership, Role
from core.openapi_views import DocsView
from core.query_gate import operation_takes
from tests import factories as f

pytestmark = pytest.mark.django_db

UNKNOWN = ("read.param_unknown", "search.param_unknown")


@pytest.fixture
def staff() -> dict[str, Membership]:
    org = f.acute_function()
    return {role: f.staff(role, org) for role in Role.values}


def _error(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    return dict(response.json()["error"])


@pytest.mark.parametrize(
    ("role", "url", "code", "field"),
    [
        # acute: a coordinator's board filtered by a citizen it does not take
        ("coordinator", "/api/acute/referrals?citizen=7", "search.param_unknown", "citizen"),
        (
            "coordinator",
            "/api/acute/referrals?status=accepted&status=received",
            "search.param_repeated",
            "status",
        ),
        ("acute_nurse", "/api/acute/visits?status=planned", "read.param_unknown", "status"),
        ("coordinator", "/api/acute/shifts?nurse=3", "read.param_unknown", "nurse"),
        ("coordinator", "/api/acute/warnings?kind=overdue", "read.param_unknown", "kind"),
        # clinical
        ("physician", "/api/clinical/orders/mine?statsu=open", "search.param_unknown", "statsu"),
        (
            "physician",
            "/api/clinical/orders/mine?status=open&status=open",
            "search.param_repeated",
            "status",
        ),
        # the medicine cabinet
        ("medicine_officer", "/api/cabinet/stock?locaton=5", "search.param_unknown", "locaton"),
        (
            "medicine_officer",
            "/api/cabinet/stock?location=5&location=6",
            "search.param_repeated",
            "location",
        ),
        ("medicine_officer", "/api/cabinet/counts?state=open", "search.param_unknown", "state"),
        # integrations
        ("coordinator", "/api/integrations/outbox?statsu=failed", "search.param_unknown", "statsu"),
        (
            "coordinator",
            "/api/integrations/outbox?status=failed&status=withheld",
            "search.param_repeated",
            "status",
        ),
        ("coordinator", "/api/integrations/inbox/refused?since=1", "read.param_unknown", "since"),
        # consent
        ("analyst", "/api/consent/analyses?name=x", "read.param_unknown", "name"),
        ("auditor", "/api/audit/verify?form=2026-01-01", "search.param_unknown", "form"),
        # core
        ("acute_nurse", "/api/auth/whoami?organisation=2", "read.param_unknown", "organisation"),
        (
            "acute_nurse",
            "/api/auth/whoami?format=json&format=json",
            "search.param_repeated",
            "format",
        ),
    ],
)
def test_an_unknown_or_repeated_parameter_is_refused(
    staff: dict[str, Membership], role: str, url: str, code: str, field: str
) -> None:
    error = _error(f.client_for(staff[role]).get(url))
    assert (error["code"], error["field"]) == (code, field)


def test_what_an_operation_declares_is_still_taken(staff: dict[str, Membership]) -> None:
    coordinator = f.client_for(staff["coordinator"])
    assert coordinator.get("/api/acute/referrals?status=accepted").status_code == 200
    # REST framework's own format (JSON is the one there is) changes no answer.
    assert coordinator.get("/api/acute/shifts?format=json").status_code == 200
    assert f.client_for(None).get("/api/schema/?format=json&lang=da").status_code == 200


def test_the_refusal_names_what_the_operation_takes_in_danish(
    staff: dict[str, Membership],
) -> None:
    response = f.client_for(staff["coordinator"]).get(
        "/api/acute/referrals?citizen=7", HTTP_ACCEPT_LANGUAGE="da"
    )
    assert _error(response)["message"] == (
        "Søgeparameter understøttes ikke: citizen. Understøttet: status."
    )


def test_a_write_takes_no_query_parameter(staff: dict[str, Membership]) -> None:
    client = f.client_for(staff["acute_nurse"])
    error = _error(client.post("/api/auth/logout?token=x"))
    assert (error["code"], error["field"]) == ("write.param_unknown", "token")
    # Refused before it was done: the token still works.
    assert client.get("/api/auth/whoami").status_code == 200


@pytest.mark.parametrize(
    ("url", "code", "field"),
    [
        ("/api/docs/?x=1", "search.param_unknown", "x"),
        ("/api/docs/?lang=da&lang=en", "search.param_repeated", "lang"),
        ("/api/schema/?x=1", "search.param_unknown", "x"),
    ],
)
def test_the_schema_and_its_page_refuse_in_the_apis_json_envelope(
    url: str, code: str, field: str
) -> None:
    """The page answered a bare "400 Bad Request" (its template renderer has
    no words for a refusal) and the schema its YAML under a JSON media type."""
    response = f.client_for(None).get(url)
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    error = _error(response)
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"].startswith(("Søgeparameter", f"{field} må kun"))


def test_a_format_the_answer_is_not_given_in_is_406_not_a_404(
    staff: dict[str, Membership],
) -> None:
    """``?format=xml`` was "no such resource" (REST framework's 404) where the
    resource exists; ``/fhir/`` answers ``_format=xml`` with 406, as an Accept
    header asking for XML is."""
    for client, url in [
        (f.client_for(staff["coordinator"]), "/api/acute/referrals?format=xml"),
        (f.client_for(None), "/api/schema/?format=xml"),
        (f.client_for(None), "/api/docs/?format=json"),
    ]:
        response = client.get(url)
        assert response.status_code == 406, (url, response.content[:300])
        assert response["Content-Type"].startswith("application/json"), url
        error = response.json()["error"]
        assert error["code"] == "request.not_acceptable", url
        assert error["message"].startswith("Der svares ikke i det format"), url
    assert f.client_for(None).get("/api/schema/?format=yaml").status_code == 200


def test_an_unknown_route_is_still_not_found() -> None:
    assert f.client_for(None).get("/api/acute/nowhere?x=1").status_code == 404


def test_the_board_declares_the_statuses_it_serves() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    board = schema["paths"]["/api/acute/referrals"]["get"]
    (status,) = [p for p in board["parameters"] if p["name"] == "status"]
    assert sorted(status["schema"]["enum"]) == ["accepted", "received"]


# --- every GET route under /api/ ----------------------------------------------------

CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def api_get_routes() -> list[tuple[str, type[APIView]]]:
    routes: list[tuple[str, type[APIView]]] = []
    for route, callback in _walk(get_resolver().url_patterns):
        view = getattr(callback, "cls", None)
        if not (isinstance(view, type) and issubclass(view, APIView) and hasattr(view, "get")):
            continue
        # The 404 of /api/ (``^.*$``) is no operation.
        if route.startswith("api/") and route != "api/^.*$":
            routes.append((route, view))
    return routes


def _url(route: str) -> str:
    # Objects that do not exist: the refusal must come before any is looked up.
    # An analysis is named by one there is, so that its own check is reached.
    path = GROUP.sub(lambda m: next(iter(ANALYSES)) if m[1] == "name" else "999999999", route)
    path = CONVERTER.sub("999999999", path)
    return "/" + path.replace("^", "").replace("$", "")


def test_the_walk_finds_the_routes() -> None:
    views = {view.__name__ for _route, view in api_get_routes()}
    assert {"ReferralListView", "StockView", "WhoAmIView", "AnalysisAnswerView"} <= views
    assert len(views) >= 40


def test_every_get_route_refuses_a_parameter_it_does_not_take(
    staff: dict[str, Membership],
) -> None:
    clients = [f.client_for(None), *(f.client_for(m) for m in staff.values())]
    unreached = []
    for route, view in api_get_routes():
        takes = operation_takes(view, "GET")
        queries = ["zz_not_taken=1"]
        if takes.names:
            name = sorted(takes.names - takes.repeats)[0]
            queries.append(f"{name}=1&{name}=1")
        for query in queries:
            url = f"{_url(route)}?{query}"
            # JSON first: the schema's own view answers YAML unless asked.
            accept = "application/json, */*;q=0.1"
            answers = [client.get(url, HTTP_ACCEPT=accept) for client in clients]
            assert all(a.status_code >= 400 for a in answers), (url, answers)
            refused = [a for a in answers if a.status_code == 400]
            if not refused:
                unreached.append(url)
                continue
            # The documentation page is HTML: its refusal is no envelope.
            if view is not DocsView:
                code = refused[0].json()["error"]["code"]
                assert code.endswith(("param_unknown", "param_repeated")), (url, code)
    assert unreached == [], "\n".join(unreached)
