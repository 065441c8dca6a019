"""R8: a physician's correction of her phone order takes that order's place.
A dose given against the phone order before the correction, but sent from
the tablet's queue after it, is booked (it left the bag) and counts against
the correction, so the corrected order's dose is not given a second time."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from acute.clinical.models import MedicationOrder
from acute.clinical.selectors import order_allowance
from acute.clinical.services import OrderDetails, medication_order_correct
from acute.models import Visit
from core.actors import Actor
from medicine_cabinet.models import Administration
from tests import factories as f
from tests.medicine_cabinet.conftest import (
    FUROSEMIDE,
    give_offline,
    on_the_nurses_page,
    ordering_physician,
    phone_order_on_page,
    visit_for,
)
from tests.medicine_cabinet.test_order_limit import _give, _in_bag, _phone_order

pytestmark = pytest.mark.django_db


def _corrected(nurse, furosemide, *, dose_unit="ampoule", dose="1", atc="C03CA01"):
    """A single-dose phone order taken half an hour ago, corrected by the
    physician now: the visit, the phone order and the correction."""
    physician = ordering_physician()
    visit = visit_for(nurse, f.citizen())
    phone = _phone_order(
        nurse,
        visit,
        furosemide,
        ordered_at=(timezone.now() - dt.timedelta(minutes=30)).isoformat(),
    )
    correction = medication_order_correct(
        actor=Actor.for_membership(physician),
        order=MedicationOrder.objects.get(pk=phone["id"]),
        visit=visit,
        details=OrderDetails(
            medicine_atc=atc,
            medicine_name="Furosemid",
            dose=dose,
            dose_unit=dose_unit,
            route="intravenous",
            frequency="once",
            duration="single dose",
            indication="Lungeødem",
        ),
        reason="Administrationsvej hørt forkert",
    )
    return visit, phone["id"], correction


def test_r8_a_dose_sent_late_against_a_corrected_phone_order_counts_against_the_correction(
    officer, nurse, cabinet, bag, furosemide
):
    _in_bag(officer, nurse, cabinet, bag, furosemide, "5")
    visit, phone_id, correction = _corrected(nurse, furosemide)
    assert correction.corrects_id == phone_id

    given_before = (timezone.now() - dt.timedelta(minutes=10)).isoformat()
    late = _give(nurse, visit, phone_id, furosemide, "1", given_at=given_before)
    assert late.status_code == 201, late.json()

    again = _give(nurse, visit, correction.pk, furosemide, "1")

    assert again.status_code == 409, again.json()
    assert again.json()["error"]["code"] == "order.limit_exceeded"
    assert Administration.objects.count() == 1
    assert order_allowance(MedicationOrder.objects.get(pk=correction.pk)).remaining == 0


def test_r8_a_late_dose_in_another_unit_counts_in_the_correction_s_unit(
    officer, nurse, cabinet, bag, furosemide
):
    """One 40 mg ampoule against the phone order; the correction orders 80 mg:
    40 mg remain of it, not 80."""
    _in_bag(officer, nurse, cabinet, bag, furosemide, "5")
    visit, phone_id, correction = _corrected(nurse, furosemide, dose="80", dose_unit="mg")
    late = _give(
        nurse,
        visit,
        phone_id,
        furosemide,
        "1",
        given_at=(timezone.now() - dt.timedelta(minutes=10)).isoformat(),
    )
    assert late.status_code == 201, late.json()

    left = order_allowance(MedicationOrder.objects.get(pk=correction.pk))

    assert left.given == 40 and left.remaining == 40


def test_r8_a_correction_without_late_doses_allows_its_whole_dose(
    officer, nurse, cabinet, bag, furosemide
):
    _in_bag(officer, nurse, cabinet, bag, furosemide, "5")
    visit, _phone_id, correction = _corrected(nurse, furosemide)

    given = _give(nurse, visit, correction.pk, furosemide, "1")

    assert given.status_code == 201, given.json()


def test_r8_the_tablet_s_queued_dose_against_a_corrected_order_is_not_given_again_on_the_page():
    """The same on the nurse's visit page: the dose her tablet queued against
    the phone order is booked when it is sent, and the page then refuses the
    correction's dose, naming the order, in Danish."""
    visit, client, furosemide, _bag, _lot = on_the_nurses_page(**FUROSEMIDE)
    phone, correction = corrected_on_page(client, visit, furosemide)
    queued = give_offline(
        client,
        visit,
        phone,
        furosemide,
        "1",
        ref="dose-before-correction",
        at=timezone.now() - dt.timedelta(hours=1),
    )
    assert queued.status_code in (200, 302), queued.content[:500]
    assert Administration.objects.filter(order_id=phone.pk).count() == 1

    on_page = client.post(
        f"/nurse/visits/{visit.pk}/give/",
        {
            "order_id": correction.pk,
            "medicine_id": furosemide.pk,
            "quantity": "1",
            "unit": "ampoule",
        },
    )

    assert on_page.status_code == 409
    body = on_page.content.decode()
    assert 'data-code="order.limit_exceeded"' in body
    assert f"nr. {correction.pk}" in body
    assert not Administration.objects.filter(order_id=correction.pk).exists()


def corrected_on_page(client: Any, visit: Visit, furosemide: Any) -> tuple[Any, Any]:
    """A phone order given on the nurse's page two hours ago (her visit
    assigned three hours ago), and the physician's written correction of it."""
    Visit.objects.filter(pk=visit.pk).update(assigned_at=timezone.now() - dt.timedelta(hours=3))
    phone = phone_order_on_page(
        client,
        visit,
        furosemide,
        dose="1",
        dose_unit="ampoule",
        frequency="3 gange dagligt",
        duration="3 dage",
    )
    MedicationOrder.objects.filter(pk=phone.pk).update(
        ordered_at=timezone.now() - dt.timedelta(hours=2)
    )
    correction = medication_order_correct(
        actor=Actor.for_membership(ordering_physician()),
        order=MedicationOrder.objects.get(pk=phone.pk),
        visit=visit,
        details=OrderDetails(
            medicine_atc="C03CA01",
            medicine_name="Furosemid",
            dose="1",
            dose_unit="ampoule",
            route="intravenous",
            frequency="once",
            duration="single dose",
            indication="Lungeødem",
        ),
        reason="Administrationsvej hørt forkert",
    )
    return phone, correction
