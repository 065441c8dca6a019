"""R8: the physician can always stop further doses of her order — after an
adverse reaction, say — whatever its prescription's status. The prescription
tracking of the doses already given stays as it was: one already sent owes
nothing more. After the stop no dose is given against the order on any door
(the API, the nurse's visit page, the tablet's offline queue), each refusal
audited as a denied attempt. Her reason is required and never cut short."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from acute.clinical.models import MedicationOrder, PhysicianAlert
from acute.clinical.services import (
    OrderDetails,
    medication_order_cancel,
    medication_order_confirm,
    medication_order_correct,
    medication_orders_watch,
    prescription_mark_sent,
)
from acute.models import Visit
from core.actors import Actor
from core.errors import InvalidInput
from core.models import Role
from medicine_cabinet.models import Administration
from tests import factories as f
from tests.acute.test_pages import _login
from tests.medicine_cabinet.conftest import (
    FUROSEMIDE,
    denied_audited,
    give_offline,
    on_the_nurses_page,
    ordering_physician,
    phone_order_on_page,
    visit_for,
)
from tests.medicine_cabinet.test_order_limit import _give, _in_bag, _phone_order

pytestmark = pytest.mark.django_db


def _dosed_with_prescription_sent(officer, nurse, cabinet, bag, furosemide):
    """A confirmed phone order for three days, one dose given, its
    prescription sent: the physician and the order."""
    _in_bag(officer, nurse, cabinet, bag, furosemide, "5")
    physician = ordering_physician()
    visit = visit_for(nurse, f.citizen())
    order = _phone_order(nurse, visit, furosemide, frequency="3 times daily", duration="3 days")
    assert _give(nurse, visit, order["id"], furosemide, "1").status_code == 201
    client = f.client_for(physician)
    assert client.post(f"/api/clinical/orders/{order['id']}/confirm").status_code == 200
    sent = client.post(f"/api/clinical/orders/{order['id']}/prescription-sent")
    assert sent.status_code == 200 and sent.json()["prescription_status"] == "sent"
    return physician, visit, MedicationOrder.objects.get(pk=order["id"])


def test_r8_an_order_whose_prescription_is_sent_is_stopped_and_no_further_dose_is_given(
    officer, nurse, cabinet, bag, furosemide
):
    physician, visit, order = _dosed_with_prescription_sent(
        officer, nurse, cabinet, bag, furosemide
    )
    sent_at = order.prescription_sent_at
    client = f.client_for(physician)

    stopped = client.post(
        f"/api/clinical/orders/{order.pk}/cancel",
        {"reason": "Allergisk reaktion efter første dosis"},
        format="json",
    )

    assert stopped.status_code == 200, stopped.json()
    body = stopped.json()
    assert body["status"] == "cancelled" and body["prescription_status"] == "sent"
    order.refresh_from_db()
    assert order.cancel_reason == "Allergisk reaktion efter første dosis"
    assert order.prescription_sent_at == sent_at
    # The prescription for the dose given is sent: nothing more is owed or chased.
    assert not MedicationOrder.objects.filter(MedicationOrder.prescription_owed()).exists()
    assert (
        medication_orders_watch(now=timezone.now() + dt.timedelta(days=3)).prescriptions_overdue
        == 0
    )
    assert not PhysicianAlert.objects.filter(
        medication_order=order, acknowledged_at__isnull=True
    ).exists()
    assert client.get("/api/clinical/orders/overdue").json()["orders"] == []
    # No further dose over the API, refused with its code and audited as denied.
    again = _give(nurse, visit, order.pk, furosemide, "1")
    assert again.status_code == 412 and again.json()["error"]["code"] == "order.cancelled"
    assert denied_audited(visit.citizen, "order.cancelled")
    # A dose stated as given after the stop (sent late) is refused too.
    late = _give(nurse, visit, order.pk, furosemide, "1", given_at=timezone.now().isoformat())
    assert late.status_code == 412 and late.json()["error"]["code"] == "order.cancelled"
    assert Administration.objects.filter(order=order).count() == 1


def test_r8_she_stops_an_order_in_force_from_her_page(officer, nurse, cabinet, bag, furosemide):
    physician, _visit, order = _dosed_with_prescription_sent(
        officer, nurse, cabinet, bag, furosemide
    )
    client = _login(physician)
    page = client.get("/physician/orders/").content.decode()
    card = page[page.index(f'id="order-{order.pk}"') :]
    card = card[: card.index("</article>")]
    assert f"/physician/orders/{order.pk}/stop/" in card
    assert "Seponér ordinationen" in card

    blank = client.post(f"/physician/orders/{order.pk}/stop/", {"reason": "   "})
    assert blank.status_code == 400
    assert 'data-code="order.cancel_reason_required"' in blank.content.decode()
    too_long = client.post(f"/physician/orders/{order.pk}/stop/", {"reason": "x" * 301})
    assert too_long.status_code == 400
    assert 'data-code="order.cancel_reason_too_long"' in too_long.content.decode()
    assert "højst 300 tegn" in too_long.content.decode()
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.CONFIRMED

    done = client.post(f"/physician/orders/{order.pk}/stop/", {"reason": "Udslæt"})
    assert done.status_code == 302
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.CANCELLED
    assert order.cancel_reason == "Udslæt"
    assert order.prescription_status == MedicationOrder.PrescriptionStatus.SENT


def test_r8_after_the_stop_the_visit_page_and_the_offline_queue_refuse_a_dose():
    """Given after the stop on the nurse's page, or from the tablet's queue
    with a time after the stop: refused and audited; one given offline before
    the stop is booked, since it left the bag against a standing order."""
    visit, client, furosemide, _bag, _lot = on_the_nurses_page(**FUROSEMIDE)
    Visit.objects.filter(pk=visit.pk).update(assigned_at=timezone.now() - dt.timedelta(hours=3))
    order = phone_order_on_page(
        client,
        visit,
        furosemide,
        dose="1",
        dose_unit="ampoule",
        frequency="3 gange dagligt",
        duration="3 dage",
    )
    MedicationOrder.objects.filter(pk=order.pk).update(
        ordered_at=timezone.now() - dt.timedelta(hours=2)
    )
    physician = Actor.for_membership(f.staff(Role.PHYSICIAN, f.gp_practice()))
    medication_order_confirm(actor=physician, order=order)
    prescription_mark_sent(actor=physician, order=order)
    medication_order_cancel(actor=physician, order=order, reason="Allergisk reaktion")

    on_page = client.post(
        f"/nurse/visits/{visit.pk}/give/",
        {"order_id": order.pk, "medicine_id": furosemide.pk, "quantity": "1", "unit": "ampoule"},
    )
    assert on_page.status_code == 412
    assert 'data-code="order.cancelled"' in on_page.content.decode()
    after = give_offline(
        client, visit, order, furosemide, "1", ref="dose-after-stop", at=timezone.now()
    )
    assert after.status_code == 412 and after.json()["error"]["code"] == "order.cancelled"
    assert not Administration.objects.filter(order_id=order.pk).exists()
    assert denied_audited(visit.citizen, "order.cancelled")

    before = give_offline(
        client,
        visit,
        order,
        furosemide,
        "1",
        ref="dose-before-stop",
        at=timezone.now() - dt.timedelta(hours=1),
    )
    assert before.status_code == 200, before.content.decode()[:2000]
    assert Administration.objects.filter(order_id=order.pk).count() == 1


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("x" * 301, "order.cancel_reason_too_long"),
        ("", "order.cancel_reason_required"),
        ("  \t ", "order.cancel_reason_required"),
    ],
)
def test_a_cancel_reason_over_300_characters_or_blank_is_refused_not_cut(
    officer, nurse, cabinet, bag, furosemide, reason, code
):
    physician = ordering_physician()
    visit = visit_for(nurse, f.citizen())
    order = _phone_order(nurse, visit, furosemide)
    client = f.client_for(physician)

    refused = client.post(
        f"/api/clinical/orders/{order['id']}/cancel", {"reason": reason}, format="json"
    )

    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == code
    stored = MedicationOrder.objects.get(pk=order["id"])
    assert stored.status == MedicationOrder.Status.AWAITING_CONFIRMATION
    assert stored.cancel_reason == ""


def test_a_cancel_reason_of_exactly_300_characters_is_kept_whole(
    officer, nurse, cabinet, bag, furosemide
):
    physician = ordering_physician()
    visit = visit_for(nurse, f.citizen())
    order = _phone_order(nurse, visit, furosemide)
    reason = "Seponeres " + "x" * 290

    done = f.client_for(physician).post(
        f"/api/clinical/orders/{order['id']}/cancel", {"reason": f"  {reason}  "}, format="json"
    )

    assert done.status_code == 200, done.json()
    assert MedicationOrder.objects.get(pk=order["id"]).cancel_reason == reason


def test_a_correction_with_an_over_long_reason_writes_nothing(
    officer, nurse, cabinet, bag, furosemide
):
    physician = ordering_physician()
    visit = visit_for(nurse, f.citizen())
    order = _phone_order(nurse, visit, furosemide)
    details = OrderDetails(
        medicine_atc="C03CA01",
        medicine_name="Furosemid",
        dose="2",
        dose_unit="ampoule",
        route="intravenous",
        frequency="once",
        duration="single dose",
        indication="Lungeødem",
    )

    with pytest.raises(InvalidInput) as refused:
        medication_order_correct(
            actor=Actor.for_membership(physician),
            order=MedicationOrder.objects.get(pk=order["id"]),
            visit=visit,
            details=details,
            reason="x" * 301,
        )

    assert refused.value.code == "order.cancel_reason_too_long"
    assert MedicationOrder.objects.filter(citizen_id=visit.citizen_id).count() == 1
    assert (
        MedicationOrder.objects.get(pk=order["id"]).status
        == MedicationOrder.Status.AWAITING_CONFIRMATION
    )
