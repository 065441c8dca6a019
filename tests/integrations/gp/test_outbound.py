"""Messages to the GP practice that the platform builds as its adapter declares."""

from __future__ import annotations

import pytest

from acute.clinical.models import MedicationOrder
from core.actors import Actor
from integrations.gp.outbound import PRODUCER_SYSTEM
from integrations.medcom.validation import validate_message
from integrations.messages import Event
from integrations.models import OutboundMessage, Partner
from integrations.receivers import order_confirmation_request_send
from tests import factories as f
from tests.acute.clinical.conftest import PHONE_ORDER, visit_scene

pytestmark = pytest.mark.django_db


def _resource(message: OutboundMessage, resource_type: str) -> dict:
    return next(
        e["resource"]
        for e in message.bundle["entry"]
        if e["resource"]["resourceType"] == resource_type
    )


def test_r8_a_phone_order_asks_the_ordering_practice_to_confirm_it_electronically() -> None:
    """The nurse records the GP's phone order; the practice is asked to confirm
    it with a MedicationRequest on hold, in the citizen's name."""
    scene = visit_scene()
    partner = f.integration_partner(
        Partner.Kind.GP, scene.gp, endpoint_url="http://127.0.0.1:8679/inbox"
    )
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders", PHONE_ORDER, format="json"
    )
    assert response.status_code == 201, response.json()

    [message] = OutboundMessage.objects.filter(event=Event.ORDER_CONFIRMATION_REQUEST)
    assert message.partner == partner
    assert message.citizen == scene.citizen
    assert message.status == OutboundMessage.Status.PENDING
    request = _resource(message, "MedicationRequest")
    assert request["status"] == "on-hold"
    assert request["medicationCodeableConcept"]["coding"][0]["code"] == "J01CA08"
    assert request["dosageInstruction"][0]["text"] == "400 mg oral, 3 times daily, 3 days"
    assert _resource(message, "Patient")["identifier"][0]["value"] == scene.citizen.cpr

    # Once confirmed there is nothing left to ask.
    order = MedicationOrder.objects.get()
    order.status = MedicationOrder.Status.CONFIRMED
    nurse = Actor.for_membership(scene.nurse)
    assert order_confirmation_request_send(order=order, by=nurse) is None
    assert OutboundMessage.objects.filter(event=Event.ORDER_CONFIRMATION_REQUEST).count() == 1


def test_results_reach_the_gp_who_asked_as_medcoms_homecareobservation() -> None:
    """The nurse's measurements go to the practice that asked for the visit as
    a HomeCareReport with the NPU Observations, the producer KAF and the nurse
    as performers, the requesting physician's initials on the receiver; the
    message keeps MedCom's rules."""
    scene = visit_scene()
    partner = f.integration_partner(
        Partner.Kind.GP, scene.gp, endpoint_url="http://127.0.0.1:8679/inbox"
    )
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {
            "results": [
                {"code": "NPU03230", "value": "3.1", "unit": "mmol/L"},
                {"code": "NPU18016", "value": "95", "unit": "umol/L"},
            ]
        },
        format="json",
    )
    assert response.status_code == 201, response.json()

    [message] = OutboundMessage.objects.filter(event=Event.HOME_CARE_OBSERVATION)
    assert message.partner == partner
    assert message.status == OutboundMessage.Status.PENDING, message.last_error
    assert validate_message(message.bundle) == []
    header = message.bundle["entry"][0]["resource"]
    assert header["eventCoding"]["code"] == "homecareobservation-message"
    report = _resource(message, "DiagnosticReport")
    assert report["code"]["coding"][0]["code"] == "HomeCareReport"
    assert report["status"] == "final" and "div" in report["text"]
    observations = [
        e["resource"]
        for e in message.bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
    ]
    # The two measured, and what was derived from them (eGFR).
    assert {"NPU03230", "NPU18016"} <= {o["code"]["coding"][0]["code"] for o in observations}
    assert {o["interpretation"][0]["coding"][0]["code"] for o in observations} == {"NI"}
    by_url = {e["fullUrl"]: e["resource"] for e in message.bundle["entry"]}
    sender = by_url[header["sender"]["reference"]]
    assert {"system": PRODUCER_SYSTEM, "value": "KAF"} in sender["identifier"]
    performers = [by_url[p["reference"]]["resourceType"] for p in report["performer"]]
    assert performers == ["Organization", "PractitionerRole"]
    receiver = by_url[header["destination"][0]["receiver"]["reference"]]
    assert receiver["contact"][0]["name"]["given"] == ["HH"]
    assert any(i["value"] == scene.gp.provider_number for i in receiver["identifier"])


def test_the_nurse_who_measured_reaches_the_gp_in_medcoms_role_code_and_her_name() -> None:
    """The GP system reads who measured by MedCom's practitioner role code
    (``sygeplejerske``, as MedCom's HomeCareObservation examples code the
    acute nurse), not a code of the platform's own it cannot know, and her
    name in parts as MedCom core names a practitioner."""
    scene = visit_scene()
    f.integration_partner(Partner.Kind.GP, scene.gp, endpoint_url="http://127.0.0.1:8679/inbox")
    nurse = scene.nurse.user
    nurse.first_name, nurse.last_name = "Sofie Marie", "Bech"
    nurse.save(update_fields=["first_name", "last_name"])
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": "NPU19748", "value": "25", "unit": "mg/L"}]},
        format="json",
    )
    assert response.status_code == 201, response.json()

    [message] = OutboundMessage.objects.filter(event=Event.HOME_CARE_OBSERVATION)
    assert validate_message(message.bundle) == []
    by_url = {e["fullUrl"]: e["resource"] for e in message.bundle["entry"]}
    report = _resource(message, "DiagnosticReport")
    role = by_url[report["performer"][1]["reference"]]
    assert role["code"][0]["coding"] == [
        {
            "system": "http://medcomfhir.dk/ig/terminology/CodeSystem/"
            "medcom-core-PractitionerRolesSKSadministrativ",
            "code": "sygeplejerske",
            "display": "Sygeplejerske",
        }
    ]
    [name] = by_url[role["practitioner"]["reference"]]["name"]
    assert (name["given"], name["family"]) == (["Sofie", "Marie"], "Bech")
