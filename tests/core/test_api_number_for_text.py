"""A text field of an ``/api/`` write takes no JSON number
(``core/body_gate.py``).

REST framework's text field wrote the number it was given as Python prints
it: ``"reason": 1e2`` was kept as "100.0" and ``1.10`` as "1.1", words
nobody sent, on the citizen's record. The published schema says string; a
number is refused (400 ``write.not_text`` naming the field), nothing is
written, and the attempt is on the trail of the citizen the write concerns
(R9). The fields that take a number written out (an order's dose, a lab
result's value) say so in the schema and take either.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from acute.clinical.models import LabResult, MedicationOrder
from consent.audit.models import AuditEntry
from core.models import Membership, Role
from core.query_gate import component
from tests import factories as f
from tests.core.test_api_body_booleans import _phone_order
from tests.medicine_cabinet.conftest import on_shift, visit_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def nurse() -> Membership:
    """An acute nurse on her shift."""
    membership = f.staff(Role.ACUTE_NURSE, f.acute_function())
    on_shift(membership)
    return membership


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _denied_since(before: int) -> list[tuple[str, int | None]]:
    return [
        (e.reason_code, e.citizen_id)
        for e in AuditEntry.objects.filter(id__gt=before, outcome="denied")
    ]


@pytest.mark.parametrize(("field", "sent"), [("indication", b"1.10"), ("ordered_by_name", b"1e2")])
def test_r8_a_number_for_a_phone_orders_text_is_refused_and_recorded(
    nurse: Membership, field: str, sent: bytes
) -> None:
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    before = _last_id()
    body = _phone_order()
    del body[field]
    raw = f'{{"{field}": '.encode() + sent + b", " + json.dumps(body).encode()[1:]
    response = f.client_for(nurse).post(
        f"/api/clinical/visits/{visit.pk}/phone-orders", raw, content_type="application/json"
    )
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("write.not_text", field)
    assert error["message"] == f"{field} skal være tekst i anførselstegn, ikke et tal."
    assert not MedicationOrder.objects.exists()
    assert _denied_since(before) == [("write.not_text", citizen.pk)]


def test_r9_a_number_for_a_lab_results_code_is_refused_naming_its_place(
    nurse: Membership,
) -> None:
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    before = _last_id()
    response = f.client_for(nurse).post(
        f"/api/clinical/visits/{visit.pk}/results",
        b'{"results": [{"code": "NPU19748", "value": "5", "unit": "mg/L"},'
        b' {"code": 19748, "value": 5, "unit": "mg/L"}]}',
        content_type="application/json",
    )
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["field"] == "results.1.code"
    assert not LabResult.objects.exists()
    assert _denied_since(before) == [("write.not_text", citizen.pk)]


def test_a_dose_and_a_lab_value_still_take_a_number(nurse: Membership) -> None:
    visit = visit_for(nurse, f.citizen())
    client = f.client_for(nurse)
    order = client.post(
        f"/api/clinical/visits/{visit.pk}/phone-orders",
        _phone_order(dose=1, total_quantity=2),
        format="json",
    )
    assert order.status_code == 201, order.content[:300]
    result = client.post(
        f"/api/clinical/visits/{visit.pk}/results",
        {"results": [{"code": "NPU19748", "value": 12.5, "unit": "mg/L"}]},
        format="json",
    )
    assert result.status_code == 201, result.content[:300]


@pytest.mark.parametrize(
    ("schema", "field"),
    [
        ("PhoneOrderInRequest", "dose"),
        ("PhoneOrderInRequest", "total_quantity"),
        ("ResultItemRequest", "value"),
        ("ResultCorrectInRequest", "value"),
    ],
)
def test_the_published_schema_says_a_number_written_out_takes_either(
    schema: str, field: str
) -> None:
    declared: Any = component(schema)["properties"][field]
    assert {branch["type"] for branch in declared["oneOf"]} == {"number", "string"}
