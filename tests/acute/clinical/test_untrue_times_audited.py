"""A time on a visit's write that cannot be true — ahead of the server's
clock, before the nurse was sent, a delegation from before the citizen was
referred — is refused, writes nothing and is a denied attempt on the
citizen's record (R9), through the API as through the tablet's offline queue,
as a value no living person has or a time after her death already was."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from acute.clinical.models import Delegation, LabResult, MedicationOrder, ProcedureRecord
from acute.models import VitalSign
from consent.audit.models import AuditEntry
from tests import factories
from tests.acute.clinical.conftest import PHONE_ORDER, Scene, visit_scene
from tests.acute.test_pages import _login

pytestmark = pytest.mark.django_db

REPLAY = {"HTTP_X_OFFLINE_SEND": "1", "HTTP_X_OFFLINE_REPLAY": "1"}


def _denied(citizen_id: int, reason: str, resource_type: str) -> int:
    return AuditEntry.objects.filter(
        citizen_id=citizen_id,
        outcome="denied",
        reason_code=reason,
        resource_type=resource_type,
        action="create",
    ).count()


def _nothing_written() -> None:
    assert not LabResult.objects.exists()
    assert not ProcedureRecord.objects.exists()
    assert not VitalSign.objects.exists()
    assert not MedicationOrder.objects.exists()
    assert not Delegation.objects.exists()


DELEGATION = {
    "code": "NPU02319",
    "physician_name": "Hanne Hansen",
    "physician_authorisation_id": "0A1B2",
    "physician_organisation_name": "Lægehuset",
}

# Each write on the visit that states when it happened: its path, its body
# with the time as "{t}", and the resource its refusal is recorded as.
WRITES = {
    "result": (
        "clinical/visits/{visit}/results",
        {"results": [{"code": "NPU19748", "value": "12", "unit": "mg/L", "effective_at": "{t}"}]},
        "Observation",
        "time",
    ),
    "procedure": (
        "clinical/visits/{visit}/procedures",
        {"code": "feeding-tube", "performed_at": "{t}"},
        "Procedure",
        "time",
    ),
    "vital signs": (
        "acute/visits/{visit}/vital-signs",
        {"measurements": [{"code": "8310-5", "value": "37.5"}], "measured_at": "{t}"},
        "Observation",
        "vital_signs",
    ),
    "phone order": (
        "clinical/visits/{visit}/phone-orders",
        {**PHONE_ORDER, "ordered_at": "{t}"},
        "MedicationRequest",
        "time",
    ),
    "delegation": (
        "clinical/visits/{visit}/delegations",
        {**DELEGATION, "delegated_at": "{t}"},
        "Delegation",
        "time",
    ),
}


def _post(scene: Scene, write: str, when: str):
    path, body, _resource_type, _prefix = WRITES[write]
    raw = json.dumps(body).replace("{t}", when)
    return factories.client_for(scene.nurse).post(
        "/api/" + path.format(visit=scene.visit.pk), raw, content_type="application/json"
    )


@pytest.mark.parametrize("write", list(WRITES))
def test_r9_a_time_ahead_of_the_clock_is_a_denied_attempt_on_the_citizen(write):
    scene = visit_scene()
    ahead = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    response = _post(scene, write, ahead)
    assert response.status_code == 400, response.content
    _path, _body, resource_type, prefix = WRITES[write]
    # The tablet's time, judged by the one rule of every door (its queue
    # too); a delegation's time is the physician's, judged on its own.
    code = f"{prefix}.in_future" if write == "delegation" else "offline.time_in_future"
    assert response.json()["error"]["code"] == code
    _nothing_written()
    assert _denied(scene.citizen.pk, code, resource_type) == 1


@pytest.mark.parametrize("write", list(WRITES))
def test_r9_a_time_before_the_visit_is_a_denied_attempt_on_the_citizen(write):
    scene = visit_scene()
    response = _post(scene, write, "1900-01-01T10:00:00+01:00")
    assert response.status_code == 400, response.content
    _path, _body, resource_type, prefix = WRITES[write]
    code = f"{prefix}.before_referral" if write == "delegation" else f"{prefix}.before_visit"
    assert response.json()["error"]["code"] == code
    _nothing_written()
    assert _denied(scene.citizen.pk, code, resource_type) == 1


@pytest.mark.parametrize(
    ("form", "fields", "code", "resource_type"),
    [
        ("vitals", {"vital_8867-4": "80"}, "vital_signs.before_visit", "Observation"),
        (
            "lab",
            {"code": "NPU19748", "value": "12", "unit": "mg/L"},
            "time.before_visit",
            "Observation",
        ),
        ("procedure", {"code": "feeding-tube"}, "time.before_visit", "Procedure"),
    ],
)
def test_r9_an_entry_queued_offline_from_before_the_visit_is_refused_and_recorded(
    form, fields, code, resource_type
):
    """The tablet's clock set a day wrong: the queued entry is refused with
    its code in Danish, writes nothing and is on the citizen's record."""
    scene = visit_scene()
    client = _login(scene.nurse)
    before_sent = (scene.visit.assigned_at - dt.timedelta(hours=2)).isoformat()
    response = client.post(
        f"/nurse/visits/{scene.visit.pk}/{form}/",
        {**fields, "client_ref": f"{form}-queued-1", "given_offline_at": before_sent},
        **REPLAY,
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert "tildelt" in error["message"]
    _nothing_written()
    assert _denied(scene.citizen.pk, code, resource_type) == 1


@pytest.mark.parametrize(
    ("on_site", "code", "status", "reason"),
    [
        (True, "NPU99999", 400, "catalogue.unknown"),
        (True, "NPU19748", 400, "delegation.not_required"),
        (False, "NPU02319", 412, "visit.wrong_status"),
    ],
)
def test_r9_a_refused_delegation_is_a_denied_attempt_on_the_citizen(on_site, code, status, reason):
    """A delegation refused for what it names or when it is recorded is
    on the citizen's record, as a refused procedure or result is."""
    scene = visit_scene(on_site=on_site)
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/delegations",
        {**DELEGATION, "code": code},
        format="json",
    )
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == reason
    assert not Delegation.objects.exists()
    assert _denied(scene.citizen.pk, reason, "Delegation") == 1


def test_r9_a_procedure_queued_with_an_unknown_status_is_a_denied_attempt_on_the_citizen():
    scene = visit_scene()
    response = _login(scene.nurse).post(
        f"/nurse/visits/{scene.visit.pk}/procedure/",
        {"code": "feeding-tube", "status": "imagined", "client_ref": "procedure-queued-2"},
        **REPLAY,
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "procedure.status_invalid"
    assert not ProcedureRecord.objects.exists()
    assert _denied(scene.citizen.pk, "procedure.status_invalid", "Procedure") == 1
