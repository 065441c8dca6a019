"""A refused step on a physician's order is a denied attempt on the citizen's
record (R9): confirming an order twice or one she has stopped, and stopping
an order already stopped — on the API and on her page alike."""

from __future__ import annotations

import pytest
from django.test import Client

from acute.clinical.models import MedicationOrder
from consent.audit.models import AuditEntry
from tests import factories
from tests.acute.clinical.conftest import PHONE_ORDER, Scene

pytestmark = pytest.mark.django_db


def _phone_order(scene: Scene) -> MedicationOrder:
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders", PHONE_ORDER, format="json"
    )
    assert response.status_code == 201, response.json()
    return MedicationOrder.objects.get(pk=response.json()["id"])


def _denied(scene: Scene, code: str) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            outcome="denied",
            reason_code=code,
            citizen_id=scene.citizen.pk,
            actor_user_id=scene.physician.user_id,
            resource_type="MedicationRequest",
        )
    )


def test_confirming_twice_is_a_denied_attempt(scene: Scene):
    order = _phone_order(scene)
    api = factories.client_for(scene.physician)
    assert api.post(f"/api/clinical/orders/{order.pk}/confirm").status_code == 200
    again = api.post(f"/api/clinical/orders/{order.pk}/confirm")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "order.not_awaiting_confirmation"
    [entry] = _denied(scene, "order.not_awaiting_confirmation")
    assert (entry.action, entry.resource_id) == ("update", str(order.pk))

    page = Client()
    assert factories.log_in(page, scene.physician).status_code == 302
    refused = page.post(f"/physician/orders/{order.pk}/confirm/")
    assert refused.status_code == 409
    assert len(_denied(scene, "order.not_awaiting_confirmation")) == 2


def test_confirming_a_stopped_order_and_stopping_it_again_are_denied_attempts(scene: Scene):
    order = _phone_order(scene)
    api = factories.client_for(scene.physician)
    stopped = api.post(
        f"/api/clinical/orders/{order.pk}/cancel", {"reason": "Udslæt"}, format="json"
    )
    assert stopped.status_code == 200, stopped.json()
    confirmed = api.post(f"/api/clinical/orders/{order.pk}/confirm")
    assert confirmed.status_code == 409
    assert len(_denied(scene, "order.not_awaiting_confirmation")) == 1

    again = api.post(f"/api/clinical/orders/{order.pk}/cancel", {"reason": "Igen"}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "order.cancelled"
    [entry] = _denied(scene, "order.cancelled")
    assert (entry.action, entry.resource_id) == ("update", str(order.pk))
    order.refresh_from_db()
    assert order.cancel_reason == "Udslæt"
