"""R8 as FHIR: an order the physician withdrew after a dose was given against
it is a MedicationRequest ``stopped`` (FHIR R4: what it ordered was begun,
then stopped), on a read and in a search alike; one withdrawn before any
dose is ``cancelled``. Before, both were ``cancelled``, which tells a
reader that nothing it ordered was done — though the citizen had the dose."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.medicine_cabinet.conftest import ordering_physician, visit_for
from tests.medicine_cabinet.test_order_limit import _give, _in_bag, _phone_order

pytestmark = pytest.mark.django_db


def _withdrawn(physician, order_id: int) -> None:
    stopped = f.client_for(physician).post(
        f"/api/clinical/orders/{order_id}/cancel", {"reason": "Allergisk reaktion"}, format="json"
    )
    assert stopped.status_code == 200, stopped.json()


def test_r8_fhir_an_order_withdrawn_after_a_dose_is_stopped_one_without_is_cancelled(
    officer, nurse, cabinet, bag, furosemide
):
    _in_bag(officer, nurse, cabinet, bag, furosemide, "5")
    physician = ordering_physician()
    visit = visit_for(nurse, f.citizen())
    dosed = _phone_order(nurse, visit, furosemide, frequency="3 times daily", duration="3 days")
    assert _give(nurse, visit, dosed["id"], furosemide, "1").status_code == 201
    undosed = _phone_order(nurse, visit, furosemide, frequency="3 times daily", duration="3 days")
    _withdrawn(physician, dosed["id"])
    _withdrawn(physician, undosed["id"])
    client = f.client_for(nurse)

    read = client.get(f"/fhir/MedicationRequest/{dosed['id']}")
    found = client.get("/fhir/MedicationRequest", {"patient": visit.citizen_id})

    assert read.status_code == 200, read.json()
    assert read.json()["status"] == "stopped"
    assert read.json()["statusReason"] == {"text": "Allergisk reaktion"}
    assert client.get(f"/fhir/MedicationRequest/{undosed['id']}").json()["status"] == "cancelled"
    statuses = {e["resource"]["id"]: e["resource"]["status"] for e in found.json()["entry"]}
    assert statuses == {str(dosed["id"]): "stopped", str(undosed["id"]): "cancelled"}
    # The ordering physician reads her own order the same way.
    mine = f.client_for(physician).get(f"/fhir/MedicationRequest/{dosed['id']}")
    assert mine.json()["status"] == "stopped"
