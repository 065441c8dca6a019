"""The physician named on a phone order (R8) or a delegation (R7) is known by
her authorisation ID however the nurse typed its letters: her own ID in lower
case is still her own, and the GP's in lower case is still the GP's, who
then confirms her order. A physician whose membership has run out is no
longer the one the platform asks to confirm."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from acute.clinical.models import MedicationOrder, PhysicianAlert
from acute.clinical.services import medication_orders_watch
from consent.audit.models import AuditEntry
from tests import factories
from tests.acute.clinical.conftest import PHONE_ORDER, Scene

pytestmark = pytest.mark.django_db


def test_a_phone_order_in_the_nurses_own_id_typed_in_lower_case_is_refused(scene: Scene):
    user = scene.nurse.user
    user.authorisation_id = "9ZZ99"
    user.save(update_fields=["authorisation_id"])
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders",
        {**PHONE_ORDER, "ordered_by_authorisation_id": "9zz99"},
        format="json",
    )
    assert response.status_code == 403, response.json()
    assert response.json()["error"]["code"] == "order.not_physician"
    assert not MedicationOrder.objects.exists()
    assert AuditEntry.objects.filter(
        outcome="denied", reason_code="order.not_physician", citizen_id=scene.citizen.pk
    ).exists()


def test_a_delegation_in_the_nurses_own_id_typed_in_lower_case_is_refused(scene: Scene):
    user = scene.nurse.user
    user.authorisation_id = "9ZZ99"
    user.save(update_fields=["authorisation_id"])
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/delegations",
        {
            "code": "NPU02319",
            "physician_name": "Hanne Hansen",
            "physician_authorisation_id": "9zz99",
            "physician_organisation_name": "Lægehuset",
        },
        format="json",
    )
    assert response.status_code == 403, response.json()
    assert response.json()["error"]["code"] == "delegation.not_physician"


def test_the_gps_id_in_lower_case_names_her_and_she_confirms_her_order(scene: Scene):
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders",
        {**PHONE_ORDER, "ordered_by_authorisation_id": "0a1b2"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    order = MedicationOrder.objects.get()
    assert order.ordering_physician == scene.physician.user
    assert order.ordering_organisation == scene.gp
    confirmed = factories.client_for(scene.physician).post(
        f"/api/clinical/orders/{order.pk}/confirm"
    )
    assert confirmed.status_code == 200, confirmed.json()
    assert confirmed.json()["status"] == "confirmed"


def test_a_physician_whose_membership_ran_out_is_not_sent_the_reminder(scene: Scene, settings):
    """Her membership ended: she cannot confirm, so the order names no user of
    the platform and the reminder goes to the acute function's coordinators."""
    scene.physician.valid_until = timezone.now() - dt.timedelta(days=1)
    scene.physician.save(update_fields=["valid_until"])
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders", PHONE_ORDER, format="json"
    )
    assert response.status_code == 201, response.json()
    order = MedicationOrder.objects.get()
    assert order.ordering_physician is None
    later = timezone.now() + dt.timedelta(
        minutes=settings.CLINICAL_PHONE_ORDER_REMIND_AFTER_MINUTES + 1
    )
    assert medication_orders_watch(now=later).reminded == 1
    reminder = PhysicianAlert.objects.get(kind=PhysicianAlert.Kind.CONFIRMATION_REMINDER)
    assert reminder.recipient is None
    assert reminder.recipient_organisation == scene.nurse.organisation
    board = factories.client_for(scene.coordinator).get("/api/clinical/board/alerts").json()
    assert reminder.pk in [a["id"] for a in board["alerts"]]
