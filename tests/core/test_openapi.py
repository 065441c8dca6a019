"""The OpenAPI description of /api/ (core/openapi.py): every endpoint is in it,
each operation is typed, names who may call it and how errors look; the schema
and its documentation page are served to anyone, and need nothing from outside."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework.views import APIView

from core.models import Role

pytestmark = pytest.mark.django_db

# Routes under /api/ that are not operations: the schema and its page, and the
# catch-all that answers 404 in the error envelope.
NOT_OPERATIONS = {"api-schema", "api-docs", "api-unknown"}
OAUTH_ERROR = "#/components/schemas/OAuthErrorOut"
ERROR_ENVELOPE = "#/components/schemas/ErrorEnvelope"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    # As a client reads it: plain JSON.
    return json.loads(json.dumps(generated, default=str))


def _django_route_to_openapi(route: str) -> str:
    route = route.replace("^", "").replace("$", "")
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
    # The schema calls a primary key "id" (SCHEMA_COERCE_PATH_PK).
    return "/" + route.replace("{pk}", "{id}")


def _api_routes() -> list[tuple[str, str, type[APIView]]]:
    """(path, method, view class) of every route under /api/, walking the resolver."""
    found: list[tuple[str, str, type[APIView]]] = []

    def walk(resolver: URLResolver, prefix: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                walk(entry, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                if not route.startswith("api/") or entry.name in NOT_OPERATIONS:
                    continue
                view = getattr(entry.callback, "cls", None)
                assert view is not None, f"{route} is not a REST framework view"
                for method in ("get", "post", "put", "patch", "delete"):
                    if hasattr(view, method):
                        found.append((_django_route_to_openapi(route), method, view))

    walk(get_resolver(), "")
    return found


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def test_every_endpoint_under_api_is_in_the_schema(schema: dict[str, Any]) -> None:
    routes = _api_routes()
    assert len(routes) > 70
    missing = [
        f"{method.upper()} {path} ({view.__name__})"
        for path, method, view in routes
        if method not in schema["paths"].get(path, {})
    ]
    assert missing == []
    # And nothing in the schema that the platform does not serve.
    served = {(path, method) for path, method, _ in routes}
    assert {(p, m) for p, m, _ in _operations(schema)} <= served


def test_the_walk_would_notice_a_missing_endpoint(schema: dict[str, Any]) -> None:
    without = {**schema["paths"]}
    without.pop("/api/acute/referrals")
    missing = [
        (path, method) for path, method, _ in _api_routes() if method not in without.get(path, {})
    ]
    assert missing == [("/api/acute/referrals", "get"), ("/api/acute/referrals", "post")]


# A system's token asked for (RFC 6749) and revoked (RFC 7009).
OAUTH_OPERATIONS = {"auth_oauth_token", "auth_oauth_revoke"}


def test_every_operation_has_an_id_a_typed_answer_and_the_error_envelope(
    schema: dict[str, Any],
) -> None:
    ids = [operation["operationId"] for _, _, operation in _operations(schema)]
    assert len(ids) == len(set(ids))
    for path, method, operation in _operations(schema):
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        successes = [code for code in responses if code.startswith("2")]
        assert successes, where
        for code in successes:
            if code == "204":
                continue
            for media_type, content in responses[code]["content"].items():
                body = content["schema"]
                if media_type.startswith(("text/csv", "text/plain")):
                    assert body == {"type": "string"}, where
                    continue
                # A named component or a typed object, never a free-form body.
                assert "$ref" in body or body.get("type") == "object", where
        # The OAuth endpoints answer every refusal in RFC 6749's error shape
        # (§5.2), as OAuth clients expect, also one made before the view;
        # everything else in the platform's envelope.
        oauth = operation["operationId"] in OAUTH_OPERATIONS
        for code in ("400", "401", "403", "404", "414"):
            expected = OAUTH_ERROR if oauth else ERROR_ENVELOPE
            assert responses[code]["content"]["application/json"]["schema"] == {"$ref": expected}, (
                f"{where} {code}"
            )
        if method == "post":
            assert "409" in responses and "412" in responses, where


def test_every_body_a_view_reads_is_described(schema: dict[str, Any]) -> None:
    bodiless = {
        "auth_token_revoke",
        "acute_referrals_accept",
        "acute_warnings_acknowledge",
        "cabinet_counts_submit",
        "cabinet_notifications_acknowledge",
        "clinical_orders_confirm",
        "clinical_orders_prescription_sent",
        "clinical_alerts_acknowledge",
        "integrations_outbox_resend",
        "integrations_outbox_handled",
        "integrations_inbox_refused_noted",
        "integrations_care_threads_handled",
    }
    for path, method, operation in _operations(schema):
        if method != "post":
            continue
        if operation["operationId"] in bodiless:
            assert "requestBody" not in operation, path
        elif operation["operationId"] in OAUTH_OPERATIONS:
            # RFC 6749 §4.4, RFC 7009 §2.1: the requests are forms, not JSON.
            form = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]
            assert "$ref" in form["schema"], path
        else:
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert "$ref" in body, path


def test_the_error_envelope_is_the_one_the_handler_writes(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    envelope = components["ErrorEnvelope"]
    assert envelope["required"] == ["error"]
    body = components["ErrorBody"]
    assert set(body["properties"]) == {"code", "message", "field", "rule", "fields", "errors"}
    assert body["required"] == ["code", "message"]
    # Every key the errors themselves write is described ("kind" chooses the
    # status and stays inside); "errors" lists several refusals at once.
    from core.errors import ENVELOPE_KEYS, InvalidInput

    assert ENVELOPE_KEYS - {"kind"} <= set(body["properties"])
    several = InvalidInput.all_of(
        [InvalidInput("a.bad", "A is bad.", field="a"), InvalidInput("b.bad", "B is bad.")]
    ).as_dict()
    item = components[body["properties"]["errors"]["items"]["$ref"].rsplit("/", 1)[1]]
    for written in several["errors"]:  # type: ignore[attr-defined]
        assert set(written) <= set(item["properties"])
        assert set(item["required"]) <= set(written)


PUBLIC_LOG_OPERATIONS = {
    "audit_log_checkpoint",
    "audit_log_consistency",
    "audit_log_cosignature_deliver",
}


def test_every_operation_but_login_needs_a_bearer_token_and_names_its_roles(
    schema: dict[str, Any],
) -> None:
    scheme = schema["components"]["securitySchemes"]["bearerToken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    # The pages' session cookie is not part of the API's contract.
    assert set(schema["components"]["securitySchemes"]) == {"bearerToken"}
    for path, _, operation in _operations(schema):
        if operation["operationId"] == "auth_token_issue":
            assert operation.get("security", []) in ([], [{}]), path
            assert "x-roles" not in operation
            assert "429" in operation["responses"]
            continue
        if operation["operationId"] in PUBLIC_LOG_OPERATIONS:
            # The transparency log's checkpoint and consistency proofs, and a
            # witness's delivery (kept only when its signature verifies).
            assert operation.get("security", []) in ([], [{}]), path
            assert "x-roles" not in operation
            continue
        if operation["operationId"] in OAUTH_OPERATIONS:
            # A system authenticates with its client id and secret, not a token.
            assert operation.get("security", []) in ([], [{}]), path
            assert "x-roles" not in operation
            continue
        assert operation["security"] == [{"bearerToken": []}], path
        assert operation["x-roles"], path
        assert set(operation["x-roles"]) <= set(Role.values), path


def test_roles_in_the_schema_are_the_roles_the_views_admit(schema: dict[str, Any]) -> None:
    by_id = {operation["operationId"]: operation for _, _, operation in _operations(schema)}
    assert by_id["acute_referrals_board"]["x-roles"] == [Role.COORDINATOR]
    assert by_id["acute_referrals_create"]["x-roles"] == sorted(
        [Role.COORDINATOR, Role.PHYSICIAN, Role.HOME_NURSE]
    )
    assert by_id["audit_entries_search"]["x-roles"] == [Role.AUDITOR]
    assert by_id["cabinet_medicines_upsert"]["x-roles"] == [Role.MEDICINE_OFFICER]


def test_the_schema_is_served_to_anyone_without_a_token(client: Any) -> None:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    served = json.loads(response.content)
    assert served["openapi"].startswith("3.")
    assert "/api/acute/referrals" in served["paths"]
    assert not any(path.startswith("/fhir/") for path in served["paths"])


def test_the_documentation_page_loads_its_script_from_the_platform(client: Any) -> None:
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all(" src=" in tag for tag in scripts)
    assert "<style" not in html
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert url.startswith("/"), url
    script = client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()
