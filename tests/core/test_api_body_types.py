"""A number field of an ``/api/`` or ``/fhir/`` write takes no ``true`` or
``false`` (``core/body_gate.py``, ``core/fhir/validation.py``).

REST framework's float field read ``true`` as 1.0 and ``false`` as 0.0: a
nurse's position sent as ``{"latitude": true, "longitude": false}`` was
stored as 1.0, 0.0 and dispatch ranked her by it. On ``/fhir/`` the models
read ``true`` for an integer as 1, and ``"2"`` as 2 (a care plan's timing
frequency nobody gave as a number). Each is refused (400, naming the field),
nothing is written, and an attempt about a citizen's object is on her trail
(R9); text of digits for an ``/api/`` number, and JSON numbers for a FHIR
integer or decimal, are still taken.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import get_resolver
from rest_framework import exceptions as drf

from acute.clinical.models import MedicationOrder
from acute.models import NurseShift
from consent.audit.models import AuditEntry
from consent.models import RecordResource
from core.body_gate import body_refusal
from core.models import Role
from core.query_gate import component, operation_body
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, world  # noqa: F401
from tests.core.test_api_body_booleans import _phone_order
from tests.core.test_api_body_gate import FORM_ENCODED, WRITES
from tests.core.test_api_query_gate import _walk
from tests.medicine_cabinet.conftest import on_shift, visit_for

pytestmark = pytest.mark.django_db


def _error(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert response["Content-Language"] == "da"
    return dict(response.json()["error"])


@pytest.mark.parametrize(
    ("sent", "field"), [({"latitude": True}, "latitude"), ({"longitude": False}, "longitude")]
)
def test_a_position_of_true_or_false_is_refused_and_not_stored(
    sent: dict[str, Any], field: str
) -> None:
    nurse, shift = f.acute_nurse_on_shift()
    body = {"latitude": 55.76, "longitude": 12.51, **sent}
    error = _error(
        f.client_for(nurse).post(f"/api/acute/shifts/{shift.pk}/position", body, format="json")
    )
    assert error["code"] == "request.invalid"
    assert error["fields"] == {field: "Et gyldigt tal er påkrævet."}
    shift.refresh_from_db()
    assert (shift.latitude, shift.longitude) == (55.74, 12.53)


def test_a_position_as_numbers_or_text_of_digits_is_still_taken() -> None:
    nurse, shift = f.acute_nurse_on_shift()
    client = f.client_for(nurse)
    url = f"/api/acute/shifts/{shift.pk}/position"
    answer = client.post(url, {"latitude": 55.76, "longitude": "12.51"}, format="json")
    assert answer.status_code == 200, answer.content
    shift.refresh_from_db()
    assert (shift.latitude, shift.longitude) == (55.76, 12.51)


def test_a_shift_based_at_true_is_not_planned() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    nurse = f.staff(Role.ACUTE_NURSE, coordinator.organisation)
    body = {
        "nurse": nurse.user_id,
        "kind": "day",
        "starts_at": "2030-01-07T07:00:00+01:00",
        "ends_at": "2030-01-07T15:00:00+01:00",
        "base_name": "Base",
        "base_latitude": True,
        "base_longitude": 12.54,
    }
    error = _error(f.client_for(coordinator).post("/api/acute/shifts", body, format="json"))
    assert error["code"] == "request.invalid"
    assert list(error["fields"]) == ["base_latitude"]
    assert not NurseShift.objects.exists()


@pytest.mark.parametrize(("field", "value"), [("doses_per_day", True), ("duration_days", False)])
def test_a_phone_order_with_true_for_a_count_is_not_made_and_the_attempt_is_recorded(
    field: str, value: Any
) -> None:
    """R8, R9: no order is written, and the attempt is on the citizen's trail."""
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function())
    on_shift(nurse)
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    error = _error(
        f.client_for(nurse).post(
            f"/api/clinical/visits/{visit.pk}/phone-orders",
            _phone_order(**{field: value}),
            format="json",
        )
    )
    assert (error["code"], list(error["fields"])) == ("request.invalid", [field])
    assert not MedicationOrder.objects.exists()
    refused = AuditEntry.objects.filter(id__gt=before, outcome="denied")
    assert [(e.reason_code, e.citizen_id) for e in refused] == [("request.invalid", citizen.pk)]


def _top_fields(schema: Any) -> dict[str, set[str]]:
    """A request schema's own fields, each with the JSON types it takes."""
    if isinstance(schema, dict) and "$ref" in schema:
        schema = component(schema["$ref"].rsplit("/", 1)[-1])
    fields: dict[str, set[str]] = {}
    for name, field in (schema or {}).get("properties", {}).items():
        if field.get("readOnly"):
            continue
        parts = field.get("oneOf") or field.get("anyOf") or [field]
        fields[name] = {str(p.get("type")) for p in parts}
    return fields


def test_every_number_field_of_every_write_refuses_true() -> None:
    """Every number field of every ``/api/`` write refuses true and false before
    its view reads the body."""
    operations = [
        (route, method, operation_body(callback, method)[1])
        for route, callback in _walk(get_resolver().url_patterns)
        if route.startswith("api/") and route not in FORM_ENCODED
        for method in WRITES
        if hasattr(getattr(callback, "cls", None), method)
    ]
    checked = 0
    for route, method, schema in operations:
        for name, kinds in _top_fields(schema).items():
            if not kinds or not kinds <= {"integer", "number"}:
                continue
            checked += 1
            for sent in (True, False):
                refused = body_refusal({name: sent}, schema)
                assert isinstance(refused, drf.ValidationError), (method, route, name)
                assert name in refused.detail, (method, route, name)
    assert checked >= 25, checked


def _activity(frequency: Any) -> list[dict[str, Any]]:
    repeat = {"frequency": frequency, "period": 1, "periodUnit": "d"}
    return [{"detail": {"status": "scheduled", "scheduledTiming": {"repeat": repeat}}}]


@pytest.mark.parametrize("frequency", [True, "2", 2.0])
def test_a_fhir_integer_that_is_no_json_integer_is_refused(
    world: World,  # noqa: F811
    frequency: Any,
) -> None:
    before = RecordResource.objects.count()
    body = {**bodies.care_plan(world.person.pk), "activity": _activity(frequency)}
    response = post(f.client_for(world.nurse), "/fhir/CarePlan", body)
    assert response.status_code == 400, response.content
    assert issue_code(response) == "fhir.invalid"
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["activity.0.detail.scheduledTiming.repeat.frequency"]
    assert issue["details"]["text"] == "Ikke en gyldig FHIR-ressource."
    assert RecordResource.objects.count() == before


def test_a_fhir_integer_and_decimal_as_json_numbers_are_taken(world: World) -> None:  # noqa: F811
    body = {**bodies.care_plan(world.person.pk), "activity": _activity(2)}
    client = f.client_for(world.nurse)
    assert post(client, "/fhir/CarePlan", body).status_code == 201
    age = {"value": 81.5, "unit": "år", "system": "http://unitsofmeasure.org", "code": "a"}
    response = post(client, "/fhir/Condition", bodies.diagnosis(world.person.pk, onsetAge=age))
    assert response.status_code == 201, response.content


def test_a_fhir_decimal_as_text_is_refused(world: World) -> None:  # noqa: F811
    before = RecordResource.objects.count()
    age = {"value": "81.5", "unit": "år", "system": "http://unitsofmeasure.org", "code": "a"}
    body = bodies.diagnosis(world.person.pk, onsetAge=age)
    response = post(f.client_for(world.nurse), "/fhir/Condition", body)
    assert response.status_code == 400, response.content
    assert issue_code(response) == "fhir.invalid"
    assert response.json()["issue"][0]["expression"] == ["onsetAge.value"]
    assert RecordResource.objects.count() == before
