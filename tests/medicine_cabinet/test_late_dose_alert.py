"""R8: a dose given against a phone order before the physician corrected it,
sent from the tablet's queue after the correction, is booked and counts
against the correction — and the physician, the coordinators and the nurse
are told, naming both orders, where the other clinical alerts show. So is a
dose given before an order was cancelled and booked after it. A dose against
an order in force raises nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from acute.clinical.models import MedicationOrder, PhysicianAlert
from acute.clinical.services import medication_order_cancel
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.models import Role
from tests import factories as f
from tests.medicine_cabinet.conftest import (
    FUROSEMIDE,
    give_offline,
    on_the_nurses_page,
    ordering_physician,
    visit_for,
)
from tests.medicine_cabinet.test_correction_counts_late_doses import _corrected, corrected_on_page
from tests.medicine_cabinet.test_order_limit import _give, _in_bag, _phone_order

pytestmark = pytest.mark.django_db


def _login(membership) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def _ten_minutes_ago() -> str:
    return (timezone.now() - dt.timedelta(minutes=10)).isoformat()


def test_r8_a_late_dose_against_a_corrected_phone_order_alerts_naming_both_orders(
    acute, officer, nurse, cabinet, bag, furosemide
):
    _in_bag(officer, nurse, cabinet, bag, furosemide, "5")
    visit, phone_id, correction = _corrected(nurse, furosemide)

    late = _give(nurse, visit, phone_id, furosemide, "1", given_at=_ten_minutes_ago())

    assert late.status_code == 201, late.json()
    alert = PhysicianAlert.objects.get()
    assert alert.kind == PhysicianAlert.Kind.DOSE_AFTER_CORRECTION
    assert alert.medication_order_id == phone_id and alert.visit_id == visit.pk
    assert alert.recipient_id == correction.ordering_physician_id
    assert AuditEntry.objects.filter(
        resource_type="Flag", resource_id=str(alert.pk), action="create", outcome="permitted"
    ).exists()

    # The physician who corrected it, on the API in Danish ...
    physician = MedicationOrder.objects.get(pk=correction.pk).ordering_physician
    membership = physician.memberships.get(role=Role.PHYSICIAN)
    mine = f.client_for(membership).get("/api/clinical/alerts").json()["alerts"]
    [told] = [a for a in mine if a["id"] == alert.pk]
    assert told["kind"] == "dose_after_correction"
    assert f"telefonordination nr. {phone_id}" in told["message"]
    assert f"ordination nr. {correction.pk} havde rettet den" in told["message"]
    assert "Furosemid" in told["message"]
    # ... in English when asked ...
    english = f.client_for(membership).get("/api/clinical/alerts", HTTP_ACCEPT_LANGUAGE="en")
    assert f"after order no. {correction.pk} corrected it" in english.json()["alerts"][0]["message"]
    # ... and on her page.
    page = _login(membership).get("/physician/orders/").content.decode()
    item = page[page.index(f'id="alert-{alert.pk}"') :]
    item = item[: item.index("</li>")]
    assert "Dosis givet mod en rettet telefonordination" in item
    assert f"nr. {phone_id}" in item and f"nr. {correction.pk}" in item

    # The acute function's coordinators see it on their board's alerts.
    coordinator = f.staff(Role.COORDINATOR, acute)
    board = f.client_for(coordinator).get("/api/clinical/board/alerts").json()["alerts"]
    assert [a["id"] for a in board] == [alert.pk]

    # Seen once, it is closed.
    seen = f.client_for(membership).post(f"/api/clinical/alerts/{alert.pk}/acknowledge")
    assert seen.status_code == 200, seen.json()
    assert f.client_for(coordinator).get("/api/clinical/board/alerts").json()["alerts"] == []


def test_r8_a_dose_against_the_correction_itself_is_not_told(
    officer, nurse, cabinet, bag, furosemide
):
    _in_bag(officer, nurse, cabinet, bag, furosemide, "5")
    visit, phone_id, correction = _corrected(nurse, furosemide, dose="2")
    late = _give(nurse, visit, phone_id, furosemide, "1", given_at=_ten_minutes_ago())
    assert late.status_code == 201, late.json()

    now = _give(
        nurse, visit, correction.pk, furosemide, "1", confirm_mismatch=True, confirmed_dose="1"
    )

    assert now.status_code == 201, now.json()
    assert list(PhysicianAlert.objects.values_list("kind", "medication_order")) == [
        ("dose_after_correction", phone_id)
    ]


def test_r8_a_late_dose_against_a_cancelled_order_alerts(officer, nurse, cabinet, bag, furosemide):
    _in_bag(officer, nurse, cabinet, bag, furosemide, "5")
    physician = ordering_physician()
    visit = visit_for(nurse, f.citizen())
    phone = _phone_order(
        nurse,
        visit,
        furosemide,
        ordered_at=(timezone.now() - dt.timedelta(minutes=30)).isoformat(),
    )
    medication_order_cancel(
        actor=Actor.for_membership(physician),
        order=MedicationOrder.objects.get(pk=phone["id"]),
        reason="Borgeren har fået det bedre",
    )

    late = _give(nurse, visit, phone["id"], furosemide, "1", given_at=_ten_minutes_ago())

    assert late.status_code == 201, late.json()
    alert = PhysicianAlert.objects.get(kind=PhysicianAlert.Kind.DOSE_AFTER_CANCELLATION)
    assert alert.medication_order_id == phone["id"] and alert.recipient_id == physician.user_id
    mine = f.client_for(physician).get("/api/clinical/alerts").json()["alerts"]
    assert any(
        a["id"] == alert.pk and "efter at ordinationen var annulleret" in a["message"] for a in mine
    )


def test_r8_a_dose_in_force_raises_no_alert(officer, nurse, cabinet, bag, furosemide):
    _in_bag(officer, nurse, cabinet, bag, furosemide, "5")
    visit = visit_for(nurse, f.citizen())
    phone = _phone_order(nurse, visit, furosemide)

    given = _give(nurse, visit, phone["id"], furosemide, "1")

    assert given.status_code == 201, given.json()
    assert not PhysicianAlert.objects.filter(
        kind__in=["dose_after_correction", "dose_after_cancellation"]
    ).exists()


def test_r8_the_tablet_s_queued_dose_after_a_correction_is_told_once_on_the_visit_page():
    """Through the tablet's offline queue: the dose is booked, the physician
    is told once (the queue sending it again changes nothing), and the nurse's
    visit page names both orders in Danish."""
    visit, client, furosemide, _bag, _lot = on_the_nurses_page(**FUROSEMIDE)
    phone, correction = corrected_on_page(client, visit, furosemide)
    at = timezone.now() - dt.timedelta(hours=1)
    for _ in range(2):
        queued = give_offline(client, visit, phone, furosemide, "1", ref="queued-dose", at=at)
        assert queued.status_code in (200, 302), queued.content[:500]

    alert = PhysicianAlert.objects.get()
    assert alert.kind == PhysicianAlert.Kind.DOSE_AFTER_CORRECTION
    page = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    warning = page[page.index('data-warning="order_dose_alert"') :]
    warning = warning[: warning.index("</li>")]
    assert f"telefonordination nr. {phone.pk}" in warning
    assert f"ordination nr. {correction.pk} havde rettet den" in warning
