"""FHIR: lab results as NPU/UCUM Observations, Procedure, MedicationRequest with
how it was reported; behind the gate; in the CapabilityStatement."""

from __future__ import annotations

import pytest

from acute.clinical.fhir import home_care_observations
from acute.clinical.models import LabResult, MedicationOrder, ProcedureRecord
from consent.audit.models import AuditEntry
from core.models import Role
from tests import factories
from tests.acute.clinical.conftest import PHONE_ORDER, Scene

pytestmark = pytest.mark.django_db

NPU = "urn:oid:1.2.208.176.2.1"


@pytest.fixture
def recorded(scene: Scene) -> Scene:
    nurse = factories.client_for(scene.nurse)
    visit = scene.visit.pk
    assert (
        nurse.post(
            f"/api/clinical/visits/{visit}/results",
            {
                "results": [
                    {"code": "NPU03230", "value": "3.1", "unit": "mmol/L"},
                    {"code": "NPU18016", "value": "95", "unit": "umol/L"},
                ]
            },
            format="json",
        ).status_code
        == 201
    )
    assert (
        nurse.post(
            f"/api/clinical/visits/{visit}/procedures", {"code": "feeding-tube"}, format="json"
        ).status_code
        == 201
    )
    assert (
        nurse.post(
            f"/api/clinical/visits/{visit}/phone-orders", PHONE_ORDER, format="json"
        ).status_code
        == 201
    )
    return scene


def test_observation_is_npu_coded_with_ucum_and_interpreted(recorded: Scene):
    potassium = LabResult.objects.get(test__code="NPU03230")
    response = factories.client_for(recorded.nurse).get(f"/fhir/Observation/lab-{potassium.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == f"lab-{potassium.pk}"
    assert body["code"]["coding"][0] == {
        "system": NPU,
        "code": "NPU03230",
        "display": "Potassium; plasma",
    }
    assert body["valueQuantity"] == {
        "value": 3.1,
        "unit": "mmol/L",
        "system": "http://unitsofmeasure.org",
        "code": "mmol/L",
    }
    assert body["interpretation"][0]["coding"][0]["code"] == "L"
    assert body["referenceRange"][0]["low"]["value"] == 3.5
    assert body["subject"] == {"reference": f"Patient/{recorded.citizen.pk}"}
    assert body["encounter"] == {"reference": f"Encounter/visit-{recorded.visit.pk}"}


def test_egfr_observation_points_at_its_creatinine(recorded: Scene):
    egfr = LabResult.objects.get(test__code="DNK35302")
    body = factories.client_for(recorded.nurse).get(f"/fhir/Observation/lab-{egfr.pk}").json()
    assert body["derivedFrom"] == [{"reference": f"Observation/lab-{egfr.derived_from_id}"}]
    assert body["valueQuantity"]["code"] == "mL/min/{1.73_m2}"


def test_observation_search_by_patient_and_encounter(
    recorded: Scene, django_assert_max_num_queries
):
    client = factories.client_for(recorded.nurse)
    with django_assert_max_num_queries(12):
        response = client.get(
            "/fhir/Observation",
            {
                "patient": f"Patient/{recorded.citizen.pk}",
                "encounter": f"Encounter/visit-{recorded.visit.pk}",
            },
        )
    assert response.status_code == 200
    bundle = response.json()
    assert bundle["total"] == 3
    assert [e["resource"]["code"]["coding"][0]["code"] for e in bundle["entry"]] == [
        "NPU03230",
        "NPU18016",
        "DNK35302",
    ]
    response = client.get("/fhir/Observation")
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_procedure_and_medication_request(recorded: Scene):
    client = factories.client_for(recorded.nurse)
    procedure = ProcedureRecord.objects.get()
    body = client.get(f"/fhir/Procedure/{procedure.pk}").json()
    assert body["resourceType"] == "Procedure"
    assert body["code"]["coding"][0]["code"] == "feeding-tube"
    assert body["status"] == "completed"

    order = MedicationOrder.objects.get()
    body = client.get(f"/fhir/MedicationRequest/{order.pk}").json()
    assert body["intent"] == "order"
    assert body["medicationCodeableConcept"]["coding"][0] == {
        "system": "http://www.whocc.no/atc",
        "code": "J01CA08",
        "display": "Pivmecillinam 400 mg tablet",
    }
    assert "by phone" in body["reportedReference"]["display"]
    channel = next(e for e in body["extension"] if e["url"].endswith("order-channel"))
    assert channel["valueCode"] == "phone"
    assert body["requester"]["identifier"]["value"] == "0A1B2"
    assert body["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 400


def test_the_ordering_physician_reads_her_order(recorded: Scene):
    order = MedicationOrder.objects.get()
    response = factories.client_for(recorded.physician).get(f"/fhir/MedicationRequest/{order.pk}")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "role", [Role.AUDITOR, Role.ANALYST, Role.MEDICINE_OFFICER, Role.HOME_NURSE]
)
def test_others_are_refused_and_audited(recorded: Scene, role: str):
    membership = factories.staff(role, factories.municipality("159"))
    client = factories.client_for(membership)
    result = LabResult.objects.first()
    assert result is not None
    response = client.get(f"/fhir/Observation/lab-{result.pk}")
    assert response.status_code in (403, 404)
    assert response.json()["resourceType"] == "OperationOutcome"
    if response.status_code == 404:
        assert AuditEntry.objects.filter(
            actor_user_id=membership.user.pk, outcome="denied"
        ).exists()


def test_a_nurse_without_a_visit_is_refused(recorded: Scene):
    """R1: another acute nurse's organisation-wide referral relationship aside,
    a nurse from elsewhere sees nothing."""
    outsider = factories.staff(Role.ACUTE_NURSE, factories.organisation("acute_function", "Other"))
    order = MedicationOrder.objects.get()
    response = factories.client_for(outsider).get(f"/fhir/MedicationRequest/{order.pk}")
    assert response.status_code == 404
    assert AuditEntry.objects.get(actor_user_id=outsider.user.pk).outcome == "denied"


def test_home_care_observation_shape_for_the_gp(recorded: Scene):
    results = list(
        LabResult.objects.select_related("test", "recorded_by", "recorded_by_organisation")
    )
    observations = home_care_observations(results)
    assert all(
        o["meta"]["profile"]
        == [
            "http://medcomfhir.dk/ig/homecareobservation/StructureDefinition/medcom-homecare-observation"
        ]
        for o in observations
    )
    assert {o["code"]["coding"][0]["system"] for o in observations} == {NPU}


def test_capability_statement_lists_clinical_resources(client):
    body = client.get("/fhir/metadata").json()
    types = {r["type"]: r for r in body["rest"][0]["resource"]}
    for name in ("Observation", "Procedure", "MedicationRequest"):
        assert "read" in [i["code"] for i in types[name]["interaction"]]


def test_unknown_ids_look_like_refusals_and_are_audited(scene: Scene):
    client = factories.client_for(scene.nurse)
    for url in ("/fhir/Observation/lab-999999", "/fhir/MedicationRequest/999999"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.json()["resourceType"] == "OperationOutcome"
    assert (
        AuditEntry.objects.filter(
            actor_user_id=scene.nurse.user.pk, reason_code="unknown_resource", outcome="denied"
        ).count()
        == 2
    )
