"""A result or procedure refused on the visit — taken before she is at the
door, under a code the catalogue does not know (another casing of an NPU code
too), or a computed eGFR typed by hand — is a precise 4xx, writes nothing and
is a denied attempt on the citizen's record (R9), like a refusal for want of a
delegation (R7)."""

from __future__ import annotations

import pytest

from acute.clinical.models import LabResult, ProcedureRecord
from consent.audit.models import AuditEntry
from tests import factories as f
from tests.acute.clinical.conftest import visit_scene

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
