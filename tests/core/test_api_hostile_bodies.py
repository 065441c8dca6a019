"""Every ``/api/`` write, walked from its OpenAPI description, held to hostile
bodies: malformed JSON, JSON that is no object, each declared field given
null, the wrong type, text over its longest, a number past any column, an
object or a list where none is taken, a field it does not take, a key given
twice, a body over the limit and one that is no JSON.

Each is refused with the platform's error envelope (a 4xx naming a
machine-readable code), never a 500 and never a 2xx, and nothing of the
citizen's record, the acute function's work or the cabinet's stock is
written. The operation and the variant are in each failure's words, so a new
endpoint is held to the same without being named here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.urls import get_resolver
from rest_framework import exceptions as drf

from core.body_gate import body_refusal
from core.models import Membership, Role
from core.query_gate import component, operation_body
from tests import factories as f
from tests.core.test_api_body_gate import FORM_ENCODED, WRITES
from tests.core.test_api_query_gate import CONVERTER, GROUP, _walk
from tests.medicine_cabinet.conftest import on_shift, visit_for

pytestmark = pytest.mark.django_db

NOWHERE = "999999999"
# What a refused request may leave behind: its own record (R9), the caller's
# token as used, counters of throttles and sessions. Anything else is a write.
UNWRITTEN_APPS = ("acute", "clinical", "consent", "medicine_cabinet", "integrations")
RECORDS_OF_REFUSALS = {"auditentry", "auditreview", "loginattempt"}


def _operations() -> list[tuple[str, str, Any]]:
    """Every JSON write of ``/api/`` that declares a body: route, method, schema."""
    found = []
    for route, callback in _walk(get_resolver().url_patterns):
        if not route.startswith("api/") or route == "api/^.*$" or route in FORM_ENCODED:
            continue
        for method in WRITES:
            if not hasattr(getattr(callback, "cls", None), method):
                continue
            declared, schema = operation_body(callback, method)
            if declared and schema is not None:
                found.append((route, method, schema))
    return found


OPERATIONS = _operations()


def _resolved(schema: Any) -> Mapping[str, Any]:
    while isinstance(schema, Mapping) and "$ref" in schema:
        schema = component(schema["$ref"].rsplit("/", 1)[-1])
    return schema if isinstance(schema, Mapping) else {}


def _kinds(schema: Any) -> set[str]:
    """The JSON types a field's schema takes (empty: any)."""
    schema = _resolved(schema)
    parts = schema.get("oneOf") or schema.get("anyOf") or schema.get("allOf")
    if parts:
        return {k for p in parts for k in _kinds(p)}
    kind = schema.get("type")
    if kind is None and "enum" in schema:
        return {type_name(v) for v in schema["enum"] if v is not None}
    return {str(kind)} if kind else set()


def type_name(value: Any) -> str:
    return {str: "string", bool: "boolean", int: "integer", float: "number"}.get(
        type(value), "object"
    )


def _fields(schema: Any) -> dict[str, Mapping[str, Any]]:
    schema = _resolved(schema)
    return {
        name: _resolved(field) | {k: v for k, v in field.items() if k != "$ref"}
        for name, field in schema.get("properties", {}).items()
        if not field.get("readOnly")
    }


HUGE_NUMBER = b"1" + b"0" * 400
# Text a client may have meant as anything but the number a lax reader makes of it.
NUMBER_TEXTS: tuple[str, ...] = (" 5 ", "+5", "5.", ".5", "0x10", "1_000", "\u0665", "\uff15")
NUMBER_TEXTS += ("NaN", "Infinity", "-0", "5 ", "\t5", "1e400", "")


def _field_variants(name: str, field: Mapping[str, Any]) -> Iterator[tuple[str, bytes]]:
    """(what it is, the body) of each wrong value of one field, alone in its body."""
    kinds = _kinds(field)

    def body(value: Any) -> bytes:
        return json.dumps({name: value}).encode()

    if kinds and "string" not in kinds:
        yield "text", body("zz-not-this")
    if kinds and not kinds & {"string", "integer", "number"}:
        yield "number", body(12345)
    if kinds and "boolean" not in kinds and kinds != {"string"}:
        yield "true", body(True)
    if kinds and "object" not in kinds:
        yield "object", body({"zz": 1})
    if kinds and "array" not in kinds:
        yield "array", body([1, 2])
    most = field.get("maxLength")
    if most:
        yield "text over its longest", body("x" * (int(most) + 1))
    yield "10**400", b'{"' + name.encode() + b'": ' + HUGE_NUMBER + b"}"
    if kinds and kinds <= {"integer", "number"}:
        for text in NUMBER_TEXTS:
            yield f"number as {text!r}", body(text)
        yield "2**63", body(2**63)
        if kinds == {"integer"}:
            yield "a fraction", body(1.5)


def _whole_variants() -> Iterator[tuple[str, bytes, str]]:
    """(what it is, the body, its content type) of each wrong body."""
    yield "malformed JSON", b'{"a": ', "application/json"
    yield "an array", b"[]", "application/json"
    yield "a string", b'"x"', "application/json"
    yield "null", b"null", "application/json"
    yield "a number", b"5", "application/json"
    yield "a field not taken", b'{"zz_not_taken": 1}', "application/json"
    yield "a key twice", b'{"zz": 1, "zz": 2}', "application/json"
    yield "no JSON", b"zz=1", "text/plain"
    yield "a form", b"zz=1", "application/x-www-form-urlencoded"
    over = int(settings.REQUEST_MAX_API_BYTES) + 10
    yield "over the limit", b'{"zz": "' + b"x" * over + b'"}', "application/json"


@pytest.fixture
def world() -> dict[str, Any]:
    """Staff of every role at the acute function, a nurse on shift with a
    visit to a citizen (a phone order on it), a referral and a shift: the
    objects the walked addresses name, so a body reaches its view."""
    org = f.acute_function()
    members = {role: f.staff(role, org) for role in Role.values}
    nurse = members[Role.ACUTE_NURSE]
    shift = on_shift(nurse)
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    order = f.phone_order(nurse, visit)
    referral = f.acute_referral(person=citizen, by=members[Role.COORDINATOR])
    ids = {
        "api/acute/referrals/": referral.pk,
        "api/acute/shifts/": shift.pk,
        "api/clinical/visits/": visit.pk,
        "api/clinical/orders/": order.pk,
    }
    return {"members": members, "ids": ids}


def _url(route: str, ids: Mapping[str, int]) -> str:
    known = next((str(pk) for head, pk in ids.items() if route.startswith(head)), NOWHERE)

    def named(match: Any) -> str:
        return "contacts" if match[1] == "name" else known

    path = GROUP.sub(named, route)
    path = CONVERTER.sub(known, path)
    return "/" + path.replace("^", "").replace("$", "")


def _snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the apps that hold a citizen's record and the function's work."""
    rows = {}
    for model in apps.get_models():
        label = model._meta.app_label
        if label not in UNWRITTEN_APPS or model._meta.model_name in RECORDS_OF_REFUSALS:
            continue
        rows[model._meta.label] = sorted(
            tuple(map(repr, r))
            for r in model.objects.values_list()  # type: ignore[attr-defined]
        )
    return rows


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    return [label for label in before if before[label] != after.get(label)]


def _refused(answer: Any, what: str) -> str | None:
    """Why ``answer`` is not a refusal in the platform's envelope, or None."""
    status = answer.status_code
    if not 400 <= status < 500:
        return f"{what}: {status} {answer.content[:200]!r}"
    try:
        error = answer.json()["error"]
    except (ValueError, KeyError, TypeError):
        return f"{what}: {status} without the error envelope {answer.content[:200]!r}"
    if not (isinstance(error, dict) and isinstance(error.get("code"), str) and error["code"]):
        return f"{what}: {status} without a code {answer.content[:200]!r}"
    return None


@pytest.mark.parametrize(
    ("route", "method", "schema"),
    OPERATIONS,
    ids=[f"{method.upper()} {route}" for route, method, _schema in OPERATIONS],
)
def test_a_hostile_body_is_refused_and_nothing_written(
    world: dict[str, Any], route: str, method: str, schema: Any
) -> None:
    members: dict[str, Membership] = world["members"]
    url = _url(route, world["ids"])
    clients = {"anonymous": f.client_for(None)}
    clients.update({role: f.client_for(m) for role, m in members.items()})
    # The roles the operation admits: the body gate runs after the role's
    # check, so an admitted caller's unknown field is what refuses her.
    admitted = {}
    for role, client in clients.items():
        answer = getattr(client, method)(url, b'{"zz_probe": 1}', content_type="application/json")
        if answer.status_code == 400 and answer.json()["error"]["code"] == "write.field_unknown":
            admitted[role] = client
    assert admitted, f"no role reaches {method.upper()} {url}"
    before = _snapshot()
    faults = []
    for role, client in admitted.items():
        for what, body, content_type in _whole_variants():
            answer = getattr(client, method)(url, body, content_type=content_type)
            faults.append(_refused(answer, f"{role}, {what}"))
    role, client = next(iter(admitted.items()))
    for name, field in _fields(schema).items():
        for what, body in _field_variants(name, field):
            answer = getattr(client, method)(url, body, content_type="application/json")
            faults.append(_refused(answer, f"{role}, {name} as {what}"))
    faults = [fault for fault in faults if fault]
    assert faults == [], "\n".join(faults)
    assert _changed(before, _snapshot()) == []


# --- a number written as text ----------------------------------------------------

# Text a client may have meant as anything but the number ``int``, ``float``
# or ``Decimal`` makes of it.
NOT_WRITTEN_OUT: tuple[str, ...] = (" 5 ", "5 ", "\t5", "+5", "5.", ".5", "0x10", "1_000")
NOT_WRITTEN_OUT += ("05", "1e2", "\u0665", "\uff15", "NaN", "Infinity", "-Infinity")
NOT_WRITTEN_OUT += ("-0", "-0.0", "", "-")


def _number_fields() -> Iterator[tuple[str, str, str, Any, bool]]:
    """(method, route, field, schema, whole) of every number field of a write."""
    for route, method, schema in OPERATIONS:
        for name, field in _fields(schema).items():
            kinds = _kinds(field)
            if kinds and kinds <= {"integer", "number"}:
                yield method, route, name, schema, kinds == {"integer"}


def test_every_number_field_refuses_text_that_is_no_number_written_out() -> None:
    fields = list(_number_fields())
    assert len(fields) >= 30, len(fields)
    for method, route, name, schema, _whole in fields:
        for text in NOT_WRITTEN_OUT:
            refused = body_refusal({name: text}, schema)
            assert isinstance(refused, drf.ValidationError), (method, route, name, text)
            assert name in refused.detail, (method, route, name, text)


def test_every_number_field_takes_a_number_written_out_as_text() -> None:
    for method, route, name, schema, whole in _number_fields():
        for text in ("5", "-5", "0", "120") if whole else ("5", "0.5", "12.51", "-3.25"):
            assert body_refusal({name: text}, schema) is None, (method, route, name, text)


@pytest.mark.parametrize("text", [" 55.76 ", "+55.76", "55.", "0x37", "5_5.76", "NaN", "-0"])
def test_a_position_as_text_that_is_no_number_written_out_is_not_stored(text: str) -> None:
    nurse, shift = f.acute_nurse_on_shift()
    answer = f.client_for(nurse).post(
        f"/api/acute/shifts/{shift.pk}/position",
        {"latitude": text, "longitude": 12.51},
        format="json",
    )
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert (error["code"], list(error["fields"])) == ("request.invalid", ["latitude"])
    shift.refresh_from_db()
    assert (shift.latitude, shift.longitude) == (55.74, 12.53)
