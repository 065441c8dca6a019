"""A clinical write names its fields as the client sent them: a field the
API reads into a service argument of another name (a delegation's ``code``
is the service's ``test_code``, a phone order's ``ordered_by_organisation``
its ``ordered_by_organisation_name``) is refused under the name it was sent
by, and what was sent is what is recorded."""

from __future__ import annotations

import pytest

from acute.clinical.models import Delegation, MedicationOrder
from tests import factories
from tests.acute.clinical.conftest import PHONE_ORDER, Scene

pytestmark = pytest.mark.django_db

DELEGATION = {
    "code": "NPU02319",
    "physician_name": "Hanne Hansen",
    "physician_authorisation_id": "0A1B2",
    "physician_organisation_name": "Lægehuset",
}


def _post(scene: Scene, what: str, body: dict[str, object]):
    client = factories.client_for(scene.nurse)
    return client.post(f"/api/clinical/visits/{scene.visit.pk}/{what}", body, format="json")


def test_a_delegation_is_refused_and_recorded_by_the_code_sent(scene: Scene):
    refused = _post(scene, "delegations", {**DELEGATION, "code": "N" * 33})
    assert refused.status_code == 400
    assert list(refused.json()["error"]["fields"]) == ["code"]

    recorded = _post(scene, "delegations", DELEGATION)
    assert recorded.status_code == 201
    assert recorded.json()["code"] == "NPU02319"
    assert Delegation.objects.get().test.code == "NPU02319"


def test_a_phone_order_is_refused_and_recorded_by_the_organisation_sent(scene: Scene):
    refused = _post(scene, "phone-orders", {**PHONE_ORDER, "ordered_by_organisation": "L" * 201})
    assert refused.status_code == 400
    assert list(refused.json()["error"]["fields"]) == ["ordered_by_organisation"]

    # A physician the platform does not hold: her organisation is kept as sent
    # (one it holds is named as registered, test_order_atc_and_physician_named).
    recorded = _post(scene, "phone-orders", {**PHONE_ORDER, "ordered_by_authorisation_id": "9Z9Z9"})
    assert recorded.status_code == 201
    assert recorded.json()["ordered_by"]["organisation"] == "Lægehuset"
    assert MedicationOrder.objects.get().ordered_by_organisation_name == "Lægehuset"
