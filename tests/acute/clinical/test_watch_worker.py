"""The watch job run by a real worker through Redis (R8 reminders)."""

from __future__ import annotations

import datetime as dt

import pytest

from acute.clinical.models import MedicationOrder, PhysicianAlert
from acute.clinical.tasks import medication_orders_watch_task
from tests import factories
from tests.acute.clinical.conftest import PHONE_ORDER, visit_scene
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_worker_reminds_the_physician_of_an_unconfirmed_phone_order(celery_worker) -> None:
    scene = visit_scene()
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders", PHONE_ORDER, format="json"
    )
    assert response.status_code == 201
    order = MedicationOrder.objects.get()
    # Recorded five hours ago: past the reminder time (4 h), not yet overdue (8 h).
    shifted = order.recorded_at - dt.timedelta(hours=5)
    MedicationOrder.objects.filter(pk=order.pk).update(
        recorded_at=shifted, confirm_by=shifted + dt.timedelta(hours=8)
    )

    medication_orders_watch_task.delay()

    alert = wait_for(
        lambda: PhysicianAlert.objects.filter(
            kind=PhysicianAlert.Kind.CONFIRMATION_REMINDER, medication_order=order
        ).first()
    )
    assert alert is not None
    assert alert.recipient_id == scene.physician.user.pk
    assert not PhysicianAlert.objects.filter(
        kind=PhysicianAlert.Kind.CONFIRMATION_ESCALATION
    ).exists()
