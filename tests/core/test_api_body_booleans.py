"""A boolean field of an ``/api/`` write takes JSON's ``true`` or ``false``
only (``core/body_gate.py``).

REST framework's boolean field read ``"yes"``, ``"on"``, ``"1"`` and ``1`` as
true and ``"no"``, ``"0"`` as false: a phone order was recorded as read back
to the physician (R8) on a client's ``"yes"``, and a typo was a yes or a no
nobody gave. The published schema says boolean; any other value is refused
(400 ``write.not_boolean`` naming the field), nothing is written, and the
attempt is on the trail of the citizen the write concerns (R9).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from django.utils.translation import override

from acute.clinical.models import MedicationOrder
from consent.audit.models import AuditEntry
from core.body_gate import body_refusal
from core.errors import InvalidInput
from core.messages import user_message
from core.models import Membership, Role
from tests import factories as f
from tests.medicine_cabinet.conftest import on_shift, visit_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def nurse() -> Membership:
    """An acute nurse on her shift."""
    membership = f.staff(Role.ACUTE_NURSE, f.acute_function())
    on_shift(membership)
    return membership


def _phone_order(**changes: Any) -> dict[str, Any]:
    return {
        "medicine_atc": "N02BE01",
        "medicine_name": "Paracetamol",
        "dose": "1",
        "dose_unit": "g",
        "route": "oral",
        "frequency": "once",
        "duration": "single dose",
        "indication": "Smerter",
        "ordered_at": timezone.now().isoformat(),
        "ordered_by_name": "Hanne Hansen",
        "ordered_by_role": "Læge",
        "ordered_by_organisation": "Lægevagten",
        "ordered_by_authorisation_id": "0A1B2",
        "read_back": True,
        "read_back_confirmed": True,
        **changes,
    }


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.mark.parametrize("given", ["yes", "true", "1", "on", 1, "no", "0", "ja", [], {}])
def test_a_phone_order_read_back_as_text_is_refused_and_not_recorded(
    nurse: Membership, given: Any
) -> None:
    """R8: a phone order is recorded as read back only on ``true``."""
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    before = _last_id()
    response = f.client_for(nurse).post(
        f"/api/clinical/visits/{visit.pk}/phone-orders",
        _phone_order(read_back=given),
        format="json",
    )
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("write.not_boolean", "read_back")
    assert not MedicationOrder.objects.exists()
    # R9: the attempt is on the citizen's trail.
    refused = AuditEntry.objects.filter(id__gt=before, outcome="denied")
    assert [(e.reason_code, e.citizen_id) for e in refused] == [("write.not_boolean", citizen.pk)]


def test_the_refusal_names_the_field_in_danish(nurse: Membership) -> None:
    visit = visit_for(nurse, f.citizen())
    response = f.client_for(nurse).post(
        f"/api/clinical/visits/{visit.pk}/phone-orders",
        _phone_order(read_back_confirmed="true"),
        format="json",
    )
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message == "read_back_confirmed tager kun true eller false, skrevet uden anførselstegn."


def test_json_booleans_are_still_taken(nurse: Membership) -> None:
    visit = visit_for(nurse, f.citizen())
    response = f.client_for(nurse).post(
        f"/api/clinical/visits/{visit.pk}/phone-orders", _phone_order(), format="json"
    )
    assert response.status_code == 201, response.content[:300]
    refused = f.client_for(nurse).post(
        f"/api/clinical/visits/{visit.pk}/phone-orders",
        _phone_order(read_back=False),
        format="json",
    )
    # false is a boolean: the order's own rule refuses it (R8), not the gate.
    assert refused.json()["error"]["code"] == "order.read_back_required"


SCHEMA = {
    "type": "object",
    "properties": {
        "flag": {"type": "boolean"},
        "maybe": {"type": "boolean", "nullable": True},
        "doses": {
            "type": "array",
            "items": {"type": "object", "properties": {"confirm": {"type": "boolean"}}},
        },
        "note": {"type": "string"},
    },
}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"flag": "false"}, "flag"),
        ({"flag": 0}, "flag"),
        ({"doses": [{"confirm": True}, {"confirm": "on"}]}, "doses.1.confirm"),
    ],
)
def test_every_boolean_the_schema_declares_is_held_to_true_or_false(
    body: dict[str, Any], field: str
) -> None:
    refused = body_refusal(body, SCHEMA)
    assert isinstance(refused, InvalidInput)
    assert (refused.code, refused.field) == ("write.not_boolean", field)
    with override("da"):
        assert user_message(refused).startswith(f"{field} tager kun true eller false")


@pytest.mark.parametrize(
    "body",
    [
        {"flag": True, "maybe": None, "doses": [{"confirm": False}]},
        {"note": "true"},
    ],
)
def test_booleans_and_text_fields_are_taken(body: dict[str, Any]) -> None:
    assert body_refusal(body, SCHEMA) is None
