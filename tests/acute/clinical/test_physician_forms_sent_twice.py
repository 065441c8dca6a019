"""R8 on the physician's page: confirming her order, marking its
prescription sent, rejecting or stopping it, correcting it in writing and
marking an alert seen are each done once however often the form is sent (a
double tap on her phone, a reload); the second send is told, in Danish,
that nothing was done twice — never refused as if she had erred
(``core.form_once``)."""

from __future__ import annotations

import pytest

from acute.clinical.models import MedicationOrder, PhysicianAlert
from consent.audit.models import AuditEntry
from tests import factories
from tests.acute.clinical.conftest import Scene
from tests.acute.clinical.test_pages_written_orders import MORPHINE, _login, _phone_order
from tests.sent_twice import ref_for, sent_twice

pytestmark = pytest.mark.django_db

PAGE = "/physician/orders/"


def _denied(scene: Scene) -> int:
    return AuditEntry.objects.filter(
        actor_user_id=scene.physician.user_id, outcome="denied"
    ).count()


def test_r8_a_confirmation_and_the_prescription_sent_twice_are_each_done_once(scene: Scene):
    order = _phone_order(scene)
    client = _login(scene.physician)
    confirm = f"/physician/orders/{order.pk}/confirm/"

    sent_twice(client, confirm, {"form_ref": ref_for(client, PAGE, confirm)})
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.CONFIRMED

    sent = f"/physician/orders/{order.pk}/prescription-sent/"
    sent_twice(client, sent, {"form_ref": ref_for(client, PAGE, sent)})
    order.refresh_from_db()
    assert order.prescription_status == MedicationOrder.PrescriptionStatus.SENT
    assert _denied(scene) == 0


def test_r8_a_rejection_sent_twice_is_one_rejection(scene: Scene):
    order = _phone_order(scene)
    client = _login(scene.physician)
    reject = f"/physician/orders/{order.pk}/reject/"
    form = {"reason": "Forkert dosis", "form_ref": ref_for(client, PAGE, reject)}

    sent_twice(client, reject, form)

    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.CANCELLED
    assert _denied(scene) == 0


def test_r8_a_correction_sent_twice_is_one_corrected_order(scene: Scene):
    order = _phone_order(scene)
    client = _login(scene.physician)
    correct = f"/physician/orders/{order.pk}/correct/"
    form = {
        **MORPHINE,
        "medicine_atc": "J01CA08",
        "medicine_name": "Pivmecillinam 200 mg tablet",
        "dose": "200",
        "route": "oral",
        "frequency": "3 gange dagligt",
        "duration": "3 dage",
        "reason": "Dosis hørt forkert",
        "form_ref": ref_for(client, correct, correct),
    }

    sent_twice(client, correct, form)

    assert MedicationOrder.objects.exclude(pk=order.pk).count() == 1
    assert _denied(scene) == 0


def test_r8_an_alert_marked_seen_twice_is_seen_once(scene: Scene):
    nurse = factories.client_for(scene.nurse)
    response = nurse.post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": "NPU03230", "value": "7.2", "unit": "mmol/L"}]},
        format="json",
    )
    assert response.status_code == 201
    alert = PhysicianAlert.objects.get(kind=PhysicianAlert.Kind.CRITICAL_RESULT)
    client = _login(scene.physician)
    seen = f"/physician/alerts/{alert.pk}/acknowledge/"

    sent_twice(client, seen, {"form_ref": ref_for(client, PAGE, seen)})

    alert.refresh_from_db()
    assert alert.acknowledged_by_id == scene.physician.user_id
    assert _denied(scene) == 0
