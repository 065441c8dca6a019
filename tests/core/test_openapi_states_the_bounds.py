"""The OpenAPI description states the bounds the doors hold, each read from
the check itself, and a request at the bound is answered as it says: the
transparency log's tree sizes, a medicine order's dose given as a JSON number
or as text (with the Danish decimal comma the order takes), and a decimal
given as text (a vital sign, a stock quantity)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from acute.clinical.models import MedicationOrder
from consent.audit.log import checkpoint_latest, sequence_batch
from consent.audit.services import Action, Purpose, audit_record
from core.actors import Actor
from tests import factories
from tests.acute.clinical.conftest import PHONE_ORDER, visit_scene

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return dict(json.loads(json.dumps(generated, default=str)))


def _component(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(schema["components"]["schemas"][name])


def _forms(node: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON number and the text a field's ``oneOf`` names."""
    by_type = {form["type"]: form for form in node["oneOf"]}
    number = by_type.get("number") or by_type["integer"]
    return number, by_type["string"]


def test_the_tree_sizes_of_a_consistency_proof_start_at_one(schema: dict[str, Any]) -> None:
    parameters = {
        p["name"]: p["schema"]
        for p in schema["paths"]["/api/audit/log/consistency"]["get"]["parameters"]
    }
    assert parameters["from"]["minimum"] == 1
    assert parameters["to"]["minimum"] == 1

    audit_record(
        actor=Actor.system("tests.api"), action=Action.READ, purpose=Purpose.AUDIT, citizen_id=None
    )
    sequence_batch()
    latest = checkpoint_latest()
    assert latest is not None
    client = factories.client_for(None)
    url = "/api/audit/log/consistency?log={log}&from={old}&to={new}"
    below = client.get(url.format(log=latest.log, old=0, new=latest.size))
    assert below.status_code == 400
    assert below.json()["error"]["code"] == "audit.sizes_invalid"
    smallest = client.get(url.format(log=latest.log, old=1, new=latest.size))
    assert smallest.status_code == 200


def _phone_order(scene: Any, dose: object) -> Any:
    client = factories.client_for(scene.nurse)
    return client.post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders",
        {**PHONE_ORDER, "dose": dose},
        format="json",
    )


def test_a_dose_as_a_json_number_is_bounded_as_the_order_keeps_it(
    schema: dict[str, Any],
) -> None:
    number, text = _forms(_component(schema, "PhoneOrderInRequest")["properties"]["dose"])
    assert number["maximum"] == 10**7 and number["exclusiveMaximum"] is True
    pattern = re.compile(text["pattern"])
    assert pattern.fullmatch("2,5") and pattern.fullmatch("400.125")
    assert not pattern.fullmatch("1e3") and not pattern.fullmatch("400.1234")
    assert not pattern.fullmatch("12345678")

    scene = visit_scene()
    at_the_bound = _phone_order(scene, number["maximum"])
    assert at_the_bound.status_code == 400
    assert at_the_bound.json()["error"]["code"] == "order.dose_too_large"
    written_with_exponent = _phone_order(scene, "1e3")
    assert written_with_exponent.status_code == 400
    assert MedicationOrder.objects.count() == 0

    with_a_comma = _phone_order(scene, "2,5")
    assert with_a_comma.status_code == 201, with_a_comma.json()
    assert MedicationOrder.objects.get().dose == Decimal("2.5")


def test_a_vital_sign_written_as_text_states_the_decimal_comma_it_takes(
    schema: dict[str, Any],
) -> None:
    number, text = _forms(_component(schema, "MeasurementInRequest")["properties"]["value"])
    pattern = re.compile(text["pattern"])
    assert pattern.fullmatch("37,5") and pattern.fullmatch("37.5")
    assert not pattern.fullmatch("37,55") and not pattern.fullmatch("037")
    assert number["maximum"] == 10**5

    scene = visit_scene()
    client = factories.client_for(scene.nurse)
    url = f"/api/acute/visits/{scene.visit.pk}/vital-signs"
    taken = client.post(url, {"measurements": [{"code": "8310-5", "value": "37,5"}]}, format="json")
    assert taken.status_code == 201, taken.json()
    refused = client.post(
        url, {"measurements": [{"code": "8310-5", "value": "37,55"}]}, format="json"
    )
    assert refused.status_code == 400


def test_a_stock_quantity_as_text_states_its_digits(schema: dict[str, Any]) -> None:
    minimum_stock = _component(schema, "MedicineInputRequest")["properties"]["minimum_stock"]
    number, text = _forms(minimum_stock)
    assert number["type"] == "integer" and number["minimum"] == 0
    pattern = re.compile(text["pattern"])
    assert pattern.fullmatch("40") and pattern.fullmatch("0.5")
    assert not pattern.fullmatch("0,5") and not pattern.fullmatch("-1")
    assert not pattern.fullmatch("0.0001")

    officer = factories.staff("medicine_officer", factories.acute_function())
    body = factories.medicine_body()
    client = factories.client_for(officer)
    refused = client.post(
        "/api/cabinet/medicines", {**body, "minimum_stock": "0.0001"}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "quantity.too_many_decimals"
    taken = client.post("/api/cabinet/medicines", {**body, "minimum_stock": "0.5"}, format="json")
    assert taken.status_code == 201, taken.json()
