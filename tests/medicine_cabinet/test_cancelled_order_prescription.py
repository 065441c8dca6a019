"""R8: a dose from the cabinet is followed by a prescription in the citizen's
CPR number. When the physician withdraws her order after a dose was given
against it, no further dose is given — but the prescription for the dose
given is still owed: the watch still flags it overdue, the overdue lists and
her page still show it, and she can still mark it sent. An order withdrawn
before any dose owes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from acute.clinical.models import MedicationOrder, PhysicianAlert
from acute.clinical.services import (
    OrderDetails,
    medication_order_correct,
    medication_orders_watch,
)
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.errors import Conflict
from tests import factories as f
from tests.acute.test_pages import _login
from tests.medicine_cabinet.conftest import ordering_physician, visit_for
from tests.medicine_cabinet.test_order_limit import _give, _in_bag, _phone_order

pytestmark = pytest.mark.django_db


def test_r8_a_withdrawn_order_with_a_dose_given_still_owes_its_prescription(
    officer, nurse, cabinet, bag, furosemide
):
    _in_bag(officer, nurse, cabinet, bag, furosemide, "5")
    physician = ordering_physician()
    visit = visit_for(nurse, f.citizen())
    order = _phone_order(nurse, visit, furosemide, frequency="3 times daily", duration="2 days")
    assert _give(nurse, visit, order["id"], furosemide, "1").status_code == 201
    client = f.client_for(physician)

    cancelled = client.post(
        f"/api/clinical/orders/{order['id']}/cancel", {"reason": "Seponeres"}, format="json"
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    # No further dose.
    again = _give(nurse, visit, order["id"], furosemide, "1")
    assert again.status_code == 412 and again.json()["error"]["code"] == "order.cancelled"

    # The watch flags the prescription still not sent, to her.
    figures = medication_orders_watch(now=timezone.now() + dt.timedelta(days=2))
    assert figures.prescriptions_overdue == 1
    alert = PhysicianAlert.objects.get(
        medication_order_id=order["id"], kind=PhysicianAlert.Kind.PRESCRIPTION_OVERDUE
    )
    MedicationOrder.objects.filter(pk=order["id"]).update(
        prescription_due_by=timezone.now() - dt.timedelta(minutes=1)
    )
    overdue = client.get("/api/clinical/orders/overdue").json()["orders"]
    assert [o["id"] for o in overdue] == [order["id"]]

    # Her page offers it among the prescriptions to send.
    page = _login(physician).get("/physician/orders/").content.decode()
    card = page[page.index(f'id="order-{order["id"]}"') :]
    card = card[: card.index("</article>")]
    assert f"/physician/orders/{order['id']}/prescription-sent/" in card
    assert "Trukket tilbage" in card and "Seponeres" in card

    sent = client.post(f"/api/clinical/orders/{order['id']}/prescription-sent")
    assert sent.status_code == 200 and sent.json()["prescription_status"] == "sent"
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None
    assert client.get("/api/clinical/orders/overdue").json()["orders"] == []


def test_r8_an_order_withdrawn_before_any_dose_owes_no_prescription(
    officer, nurse, cabinet, bag, furosemide
):
    physician = ordering_physician()
    visit = visit_for(nurse, f.citizen())
    order = _phone_order(nurse, visit, furosemide)
    client = f.client_for(physician)
    assert (
        client.post(
            f"/api/clinical/orders/{order['id']}/cancel", {"reason": "Fejl"}, format="json"
        ).status_code
        == 200
    )

    refused = client.post(f"/api/clinical/orders/{order['id']}/prescription-sent")

    assert refused.status_code == 409 and refused.json()["error"]["code"] == "order.cancelled"
    assert (
        medication_orders_watch(now=timezone.now() + dt.timedelta(days=2)).prescriptions_overdue
        == 0
    )
    assert MedicationOrder.objects.get(pk=order["id"]).prescription_status == "pending"


def test_r8_a_phone_order_with_a_dose_given_is_not_corrected(
    officer, nurse, cabinet, bag, furosemide
):
    """A correction would allow the whole order again beside the dose given:
    refused with a precise code, audited, and nothing changed."""
    _in_bag(officer, nurse, cabinet, bag, furosemide, "5")
    physician = ordering_physician()
    visit = visit_for(nurse, f.citizen())
    order = _phone_order(nurse, visit, furosemide, frequency="3 times daily", duration="2 days")
    assert _give(nurse, visit, order["id"], furosemide, "1").status_code == 201
    details = OrderDetails(
        medicine_atc="C03CA01",
        medicine_name="Furosemid",
        dose="2",
        dose_unit="ampoule",
        route="intravenous",
        frequency="3 times daily",
        duration="2 days",
        indication="Lungeødem",
    )

    with pytest.raises(Conflict) as refused, translation.override("da"):
        medication_order_correct(
            actor=Actor.for_membership(physician),
            order=MedicationOrder.objects.get(pk=order["id"]),
            visit=visit,
            details=details,
            reason="Dosis hørt forkert",
        )

    assert refused.value.code == "order.doses_given" and refused.value.rule == "R8"
    assert "Der er givet doser efter denne telefonordination" in str(refused.value.message)
    stored = MedicationOrder.objects.get(pk=order["id"])
    assert stored.status == MedicationOrder.Status.AWAITING_CONFIRMATION
    assert MedicationOrder.objects.filter(citizen_id=stored.citizen_id).count() == 1
    assert AuditEntry.objects.filter(
        citizen_id=stored.citizen_id, outcome="denied", reason_code="order.doses_given"
    ).exists()
