"""R8: a written correction says which phone order it takes the place of, and
the phone order which order corrected it — on the API (read-only), in its
OpenAPI description and as FHIR (``priorPrescription``; the corrected phone
order ``entered-in-error`` with the physician's reason, as a corrected result
is)."""

from __future__ import annotations

import pytest

from acute.clinical.models import MedicationOrder
from acute.clinical.services import OrderDetails, medication_order_correct
from core.actors import Actor
from tests import factories
from tests.acute.clinical.conftest import PHONE_ORDER, Scene

pytestmark = pytest.mark.django_db


def _corrected(scene: Scene) -> tuple[int, int]:
    nurse = factories.client_for(scene.nurse)
    phone = nurse.post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders", PHONE_ORDER, format="json"
    )
    assert phone.status_code == 201, phone.json()
    correction = medication_order_correct(
        actor=Actor.for_membership(scene.physician),
        order=MedicationOrder.objects.get(pk=phone.json()["id"]),
        visit=scene.visit,
        details=OrderDetails(
            medicine_atc="J01CA08",
            medicine_name="Pivmecillinam 400 mg tablet",
            dose="400",
            dose_unit="mg",
            route="oral",
            frequency="2 times daily",
            duration="3 days",
            indication="Cystitis",
        ),
        reason="Hyppighed hørt forkert",
    )
    return phone.json()["id"], correction.pk


def test_r8_the_api_names_the_correction_and_the_order_it_corrects(scene: Scene):
    phone_id, correction_id = _corrected(scene)

    orders = {
        o["id"]: o
        for o in factories.client_for(scene.nurse)
        .get(f"/api/clinical/visits/{scene.visit.pk}")
        .json()["orders"]
    }

    assert orders[correction_id]["corrects"] == phone_id
    assert orders[correction_id]["corrected_by"] is None
    assert orders[phone_id]["corrected_by"] == correction_id
    assert orders[phone_id]["corrects"] is None
    mine = factories.client_for(scene.physician).get("/api/clinical/orders/mine").json()["orders"]
    assert {o["id"]: o["corrects"] for o in mine} == {phone_id: None, correction_id: phone_id}


def test_r8_the_openapi_description_has_the_correction_read_only():
    schema = factories.client_for(None).get("/api/schema/", {"format": "json"}).json()
    order = schema["components"]["schemas"]["OrderOut"]["properties"]
    for name in ("corrects", "corrected_by"):
        assert order[name]["readOnly"] is True
        assert order[name]["nullable"] is True
        assert order[name]["type"] == "integer"


def test_r8_fhir_the_correction_s_prior_prescription_is_the_corrected_order(scene: Scene):
    phone_id, correction_id = _corrected(scene)
    client = factories.client_for(scene.nurse)

    correction = client.get(f"/fhir/MedicationRequest/{correction_id}").json()
    phone = client.get(f"/fhir/MedicationRequest/{phone_id}").json()

    assert correction["priorPrescription"] == {"reference": f"MedicationRequest/{phone_id}"}
    assert correction["status"] == "active"
    assert phone["status"] == "entered-in-error"
    assert phone["statusReason"] == {"text": "Hyppighed hørt forkert"}
    assert "priorPrescription" not in phone
    found = client.get("/fhir/MedicationRequest", {"patient": scene.citizen.pk}).json()
    by_id = {e["resource"]["id"]: e["resource"] for e in found["entry"]}
    assert by_id[str(phone_id)]["status"] == "entered-in-error"
    assert by_id[str(correction_id)]["priorPrescription"]["reference"].endswith(f"/{phone_id}")


def test_r8_fhir_an_order_cancelled_without_correction_stays_cancelled(scene: Scene):
    client = factories.client_for(scene.nurse)
    phone = client.post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders", PHONE_ORDER, format="json"
    ).json()
    stopped = factories.client_for(scene.physician).post(
        f"/api/clinical/orders/{phone['id']}/cancel", {"reason": "Plan ændret"}, format="json"
    )
    assert stopped.status_code == 200, stopped.json()

    body = client.get(f"/fhir/MedicationRequest/{phone['id']}").json()

    assert body["status"] == "cancelled"
    assert body["statusReason"] == {"text": "Plan ændret"}
