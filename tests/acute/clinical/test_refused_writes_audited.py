"""A result or procedure refused on the visit — taken before she is at the
door, under a code the catalogue does not know (another casing of an NPU code
too), or a computed eGFR typed by hand — is a precise 4xx, writes nothing and
is a denied attempt on the citizen's record (R9), like a refusal for want of a
delegation (R7)."""

from __future__ import annotations

import pytest

from acute.clinical.models import LabResult, MedicationOrder, ProcedureRecord
from consent.audit.models import AuditEntry
from tests import factories as f
from tests.acute.clinical.conftest import PHONE_ORDER, physician_of, visit_scene

pytestmark = pytest.mark.django_db


def _denied(citizen_id: int, reason: str, resource_type: str) -> int:
    return AuditEntry.objects.filter(
        citizen_id=citizen_id,
        outcome="denied",
        reason_code=reason,
        resource_type=resource_type,
        action="create",
    ).count()


@pytest.mark.parametrize(
    ("on_site", "entry", "status", "code"),
    [
        (False, {"code": "NPU03230", "value": "4.1", "unit": "mmol/L"}, 412, "visit.wrong_status"),
        (True, {"code": "npu03230", "value": "4.1", "unit": "mmol/L"}, 400, "catalogue.unknown"),
        (
            True,
            {"code": "DNK35302", "value": "80", "unit": "mL/min/{1.73_m2}"},
            400,
            "lab.derived_result",
        ),
    ],
)
def test_r9_a_refused_result_is_audited_as_denied_and_nothing_is_written(
    on_site, entry, status, code
):
    scene = visit_scene(on_site=on_site)
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results", {"results": [entry]}, format="json"
    )
    assert response.status_code == status, response.json()
    assert response.json()["error"]["code"] == code
    assert not LabResult.objects.filter(citizen=scene.citizen).exists()
    assert _denied(scene.citizen.pk, code, "Observation") == 1


@pytest.mark.parametrize(
    ("on_site", "procedure", "status", "code"),
    [
        (False, "urinary-catheter", 412, "visit.wrong_status"),
        (True, "Urinary-Catheter", 400, "catalogue.unknown"),
    ],
)
def test_r9_a_refused_procedure_is_audited_as_denied_and_nothing_is_written(
    on_site, procedure, status, code
):
    scene = visit_scene(on_site=on_site)
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/procedures", {"code": procedure}, format="json"
    )
    assert response.status_code == status, response.json()
    assert response.json()["error"]["code"] == code
    assert not ProcedureRecord.objects.filter(citizen=scene.citizen).exists()
    assert _denied(scene.citizen.pk, code, "Procedure") == 1


def _last_denied(user_id: int) -> AuditEntry:
    return AuditEntry.objects.filter(actor_user_id=user_id, outcome="denied").latest("id")


def test_r9_a_write_on_another_nurses_visit_is_recorded_as_the_write_it_was():
    scene = visit_scene()
    other, _shift = f.acute_nurse_on_shift()
    response = f.client_for(other).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": "NPU03230", "value": "4.1", "unit": "mmol/L"}]},
        format="json",
    )
    assert response.status_code == 404
    assert not LabResult.objects.filter(citizen=scene.citizen).exists()
    entry = _last_denied(other.user_id)
    assert (entry.action, entry.reason_code, entry.resource_type, entry.citizen_id) == (
        "create",
        "not_visit_nurse",
        "Encounter",
        scene.citizen.pk,
    )


@pytest.mark.parametrize("step", ["confirm", "prescription-sent", "cancel"])
def test_r9_a_step_on_another_physicians_order_is_recorded_as_an_update(step):
    scene = visit_scene()
    f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders", PHONE_ORDER, format="json"
    )
    order = MedicationOrder.objects.get(citizen=scene.citizen)
    other = physician_of(scene.gp, first="Anden", last="Læge", authorisation_id="7Q")
    client = f.client_for(other)
    # Only a cancel takes a reason; a confirm or a prescription sent takes no body.
    body = {"reason": "Forkert dosis"} if step == "cancel" else {}
    response = client.post(f"/api/clinical/orders/{order.pk}/{step}", body, format="json")
    assert response.status_code == 404
    entry = _last_denied(other.user_id)
    assert (entry.action, entry.reason_code, entry.resource_id, entry.citizen_id) == (
        "update",
        "not_ordering_physician",
        str(order.pk),
        scene.citizen.pk,
    )
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION
    # An order that does not exist: the same refusal, the same kind of attempt.
    assert client.post(
        f"/api/clinical/orders/99999999/{step}", body, format="json"
    ).status_code == (404)
    unknown = _last_denied(other.user_id)
    assert (unknown.action, unknown.reason_code, unknown.citizen_id) == (
        "update",
        "unknown_order",
        None,
    )
