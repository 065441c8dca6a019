"""Messages to the GP practice that the platform builds as its adapter declares."""

from __future__ import annotations

import pytest

from acute.clinical.models import MedicationOrder
from core.actors import Actor
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
