"""The OpenAPI description states the bounds the doors hold, each read from
the check itself, and a request at the bound is answered as it says: the
transparency log's tree sizes, a medicine order's dose and total given as a
JSON number or as text (above zero, with the Danish decimal comma the order
takes and its decimals), the order's schedule in numbers, a lab result's
value, an analysis's days, and a decimal given as text (a vital sign, a
stock quantity)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from acute.clinical import services as clinical_services
from acute.clinical.catalogue import LAB_VALUE, LAB_VALUE_DECIMAL_COMMA
from acute.clinical.models import LabResult, MedicationOrder
from consent.analyses import CONTACT_DAYS_LEAST, CONTACT_DAYS_MOST
from consent.audit.log import checkpoint_latest, sequence_batch
from consent.audit.services import Action, Purpose, audit_record
from core.actors import Actor
from core.models import Role
from core.validation import DecimalBounds, decimal_text_pattern
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


def _states(number: dict[str, Any], text: dict[str, Any], bounds: DecimalBounds) -> None:
    """The number and the text forms say what ``bounds`` hold, as the check reads them."""
    whole = bounds.max_digits - bounds.decimal_places
    assert (number["maximum"], number["exclusiveMaximum"]) == (10**whole, True)
    if bounds.positive:
        assert (number["minimum"], number["exclusiveMinimum"]) == (0, True)
        assert "Above zero." in number["description"]
    assert f"At most {bounds.decimal_places} decimals." in number["description"]
    assert f"and {bounds.decimal_places} after it" in text["description"]


@pytest.mark.parametrize(
    ("field", "bounds"),
    [("dose", clinical_services.DOSE), ("total_quantity", clinical_services.TOTAL_QUANTITY)],
)
def test_a_dose_and_a_total_are_stated_above_zero_with_their_decimals(
    schema: dict[str, Any], field: str, bounds: DecimalBounds
) -> None:
    assert bounds.positive
    number, text = _forms(_component(schema, "PhoneOrderInRequest")["properties"][field])
    _states(number, text, bounds)
    assert text["pattern"] == decimal_text_pattern(
        bounds, decimal_comma=clinical_services.ORDER_DECIMAL_COMMA
    )
    assert not re.fullmatch(text["pattern"], "-1")


@pytest.mark.parametrize(
    ("dose", "code"),
    [
        (0, "order.dose_invalid"),
        ("0", "order.dose_invalid"),
        (-0.001, "order.dose_invalid"),
        ("-0,001", "order.dose_invalid"),
        (0.0001, "order.dose_too_many_decimals"),
        ("0,0001", "order.dose_too_many_decimals"),
    ],
)
def test_a_dose_just_outside_the_stated_bounds_is_refused_with_its_code(
    dose: object, code: str
) -> None:
    scene = visit_scene()
    refused = _phone_order(scene, dose)
    assert refused.status_code == 400, refused.json()
    assert refused.json()["error"]["code"] == code
    assert MedicationOrder.objects.count() == 0
    smallest = _phone_order(scene, "0,001")
    assert smallest.status_code == 201, smallest.json()


def test_a_total_at_zero_is_refused_as_less_than_a_dose() -> None:
    scene = visit_scene()
    client = factories.client_for(scene.nurse)
    refused = client.post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders",
        {**PHONE_ORDER, "total_quantity": 0},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "order.total_below_dose"


@pytest.mark.parametrize(
    ("field", "most"),
    [
        ("doses_per_day", clinical_services.MAX_DOSES_PER_DAY),
        ("duration_days", clinical_services.MAX_ORDER_DAYS),
    ],
)
def test_an_orders_schedule_in_numbers_is_stated_as_the_service_bounds_it(
    schema: dict[str, Any], field: str, most: int
) -> None:
    stated = _component(schema, "PhoneOrderInRequest")["properties"][field]
    assert (stated["minimum"], stated["maximum"]) == (1, most)
    assert "`order.schedule_invalid`" in stated["description"]

    scene = visit_scene()
    client = factories.client_for(scene.nurse)
    url = f"/api/clinical/visits/{scene.visit.pk}/phone-orders"
    for outside in (stated["minimum"] - 1, stated["maximum"] + 1):
        refused = client.post(url, {**PHONE_ORDER, field: outside}, format="json")
        assert refused.status_code == 400, (outside, refused.json())
        assert refused.json()["error"]["code"] == "order.schedule_invalid"
    assert MedicationOrder.objects.count() == 0


@pytest.mark.parametrize("component", ["ResultItemRequest", "ResultCorrectInRequest"])
def test_a_lab_results_value_is_stated_bounded_by_its_column(
    schema: dict[str, Any], component: str
) -> None:
    value = _component(schema, component)["properties"]["value"]
    number, text = _forms(value)
    _states(number, text, LAB_VALUE)
    assert number["minimum"] == -number["maximum"]
    assert text["pattern"] == decimal_text_pattern(LAB_VALUE, decimal_comma=LAB_VALUE_DECIMAL_COMMA)
    assert "`lab.value_implausible`" in value["description"]


def test_a_lab_value_just_outside_its_column_is_refused_with_the_stated_code(
    schema: dict[str, Any],
) -> None:
    number, _text = _forms(_component(schema, "ResultItemRequest")["properties"]["value"])
    scene = visit_scene()
    client = factories.client_for(scene.nurse)
    url = f"/api/clinical/visits/{scene.visit.pk}/results"

    def result(value: object) -> Any:
        body = {"results": [{"code": "NPU22089", "value": value, "unit": "mmol/L"}]}
        return client.post(url, body, format="json")

    for value, code in (
        (number["maximum"], "lab.value_too_large"),
        (-number["maximum"], "lab.value_too_large"),
        ("5,0001", "lab.value_too_many_decimals"),
        (5.0001, "lab.value_too_many_decimals"),
    ):
        refused = result(value)
        assert refused.status_code == 400, (value, refused.json())
        assert refused.json()["error"]["code"] == code, value
    assert not LabResult.objects.exists()
    assert result("5,001").status_code == 201


def test_the_days_of_an_analysis_are_stated_as_it_bounds_them(schema: dict[str, Any]) -> None:
    stated = _component(schema, "AnalysisQuestionInRequest")["properties"]["days"]
    assert (stated["minimum"], stated["maximum"]) == (CONTACT_DAYS_LEAST, CONTACT_DAYS_MOST)

    client = factories.client_for(factories.staff(Role.ANALYST, factories.municipality("157")))
    for outside in (CONTACT_DAYS_LEAST - 1, CONTACT_DAYS_MOST + 1):
        refused = client.post(
            "/api/consent/analyses/contacts-around-acute-episode",
            {"days": str(outside)},
            format="json",
        )
        assert refused.status_code == 400, refused.json()
        assert refused.json()["error"]["code"] == "analysis.days_invalid"
