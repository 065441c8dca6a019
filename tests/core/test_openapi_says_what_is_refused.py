"""The OpenAPI description says what the platform refuses, so that a request
the description allows is one the platform takes (``core/openapi.py``).

A partner's client is generated from ``/api/schema/``, and a test tool that
fills in every request the schema allows was refused: a field the schema left
open (the body gate refuses it, decision 0033), an empty list of results or
measurements (the serializer refuses it), and a ten-digit id in the URL (the
door takes it for a CPR number, decision 0002). The description now says each.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from core.openapi import TEN_DIGIT_NUMBERS, TEXT_PATTERN
from tests import factories
from tests.acute.clinical.conftest import visit_scene
from tests.acute.test_api import REFERRAL

pytestmark = pytest.mark.django_db

TEN_DIGITS = "1234567890"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return dict(json.loads(json.dumps(generated, default=str)))


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    return dict(schema["components"]["schemas"][ref.rsplit("/", 1)[1]])


def _request_body(schema: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    body = schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return _resolve(schema, body)


def test_every_request_object_that_names_its_fields_takes_no_other(
    schema: dict[str, Any],
) -> None:
    """Decision 0033 in the description: an object of a write's body that names
    its fields is closed (``additionalProperties: false``), as the gate holds it."""
    open_objects = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("properties") and node.get("additionalProperties") is not False:
                open_objects.append(where)
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}.{index}")

    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request"):
            walk(component, name)
    assert open_objects == []


def test_a_referral_with_a_field_the_description_does_not_name_is_refused(
    schema: dict[str, Any], client: Any
) -> None:
    body = _request_body(schema, "/api/acute/referrals", "post")
    assert body["additionalProperties"] is False
    assert "requested_strat" not in body["properties"]
    coordinator = factories.staff("coordinator", factories.acute_function())
    response = factories.client_for(coordinator).post(
        "/api/acute/referrals",
        {**REFERRAL, "requested_strat": "2026-12-07T10:00:00+01:00"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "write.field_unknown"


def test_an_empty_list_of_results_is_refused_as_the_description_says(
    schema: dict[str, Any],
) -> None:
    body = _request_body(schema, "/api/clinical/visits/{visit_id}/results", "post")
    assert body["properties"]["results"]["minItems"] == 1
    vitals = _request_body(schema, "/api/acute/visits/{id}/vital-signs", "post")
    assert vitals["properties"]["measurements"]["minItems"] == 1

    scene = visit_scene()
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results", {"results": []}, format="json"
    )
    assert response.status_code == 400
    assert "results" in json.dumps(response.json()["error"])


def _integer_parameters(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if (
                    parameter["in"] in ("path", "query")
                    and parameter["schema"]["type"] == "integer"
                ):
                    found.append((path, method, parameter))
    return found


def test_an_integer_in_the_url_excludes_ten_digits_where_they_are_refused(
    schema: dict[str, Any], client: Any
) -> None:
    """Decision 0002 in the description: wherever ten digits in the URL are
    refused as a CPR number, the parameter's schema excludes them; where they
    are taken (the audit log's positions and entry ids), it does not."""
    parameters = _integer_parameters(schema)
    assert len(parameters) > 60
    wrong = []
    for path, method, parameter in parameters:
        name = parameter["name"]
        url = path.replace("{" + name + "}", TEN_DIGITS)
        url = "/".join("1" if part.startswith("{") else part for part in url.split("/"))
        if parameter["in"] == "query":
            url = f"{url}?{name}={TEN_DIGITS}"
        response = getattr(client, method)(url)
        refused = (
            response.status_code == 400 and response.json()["error"]["code"] == "request.cpr_in_url"
        )
        bounded = parameter["schema"].get("not") == TEN_DIGIT_NUMBERS
        if refused != bounded:
            wrong.append((method, path, name, response.status_code, bounded))
    assert wrong == []


def test_free_text_states_the_characters_every_door_refuses(
    schema: dict[str, Any], client: Any
) -> None:
    """A control character in any text is refused (core.boundary); the
    description's pattern of free text refuses it too, and a field with a
    pattern of its own (the one-time code) keeps that one."""
    body = _request_body(schema, "/api/acute/referrals", "post")
    reason = body["properties"]["reason"]
    pattern = next(branch["pattern"] for branch in reason.get("oneOf", [reason]))
    assert pattern == TEXT_PATTERN
    assert re.fullmatch(pattern, "Feber og konfusion\nTemp 39")
    assert not re.fullmatch(pattern, "Feber\x9fog konfusion")
    token = _request_body(schema, "/api/auth/token", "post")
    assert token["properties"]["otp"]["pattern"] == "^[0-9 ]{6,8}$"

    coordinator = factories.staff("coordinator", factories.acute_function())
    response = factories.client_for(coordinator).post(
        "/api/acute/referrals", {**REFERRAL, "reason": "Feber\x9fog konfusion"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "request.control_character"


def test_a_value_written_out_as_text_states_the_same_characters(
    schema: dict[str, Any],
) -> None:
    """A lab result's value may be a number or text; as text it is refused a
    control character like any other text, and the description says so: its
    pattern (a number written out, as its column holds it) admits none."""
    body = _request_body(schema, "/api/clinical/visits/{visit_id}/results", "post")
    item = _resolve(schema, body["properties"]["results"]["items"])
    text = next(
        branch for branch in item["properties"]["value"]["oneOf"] if branch["type"] == "string"
    )
    assert re.fullmatch(text["pattern"], "7,9")
    assert not re.fullmatch(text["pattern"], "5\x1a")

    scene = visit_scene()
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": "NPU19748", "value": "5\x1a", "unit": "mg/L"}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "request.control_character"
