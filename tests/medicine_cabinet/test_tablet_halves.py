"""R8: a tablet is divided on its score, into halves. A dose of 0.3 or 1.25
tablets — what an order of 150 mg or 625 mg paracetamol comes to in 500 mg
tablets — cannot be broken off in a citizen's home, so it is refused on every
door that gives a dose (the API, the nurse's page, the tablet's offline
queue), in Danish, before anything leaves the bag, and the attempt is audited
as denied. Whole and half tablets are given as before, a half's other half
discarded with the dose."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from medicine_cabinet.models import Administration, Movement, Notification
from tests import factories as f
from tests.medicine_cabinet.conftest import denied_audited, order_for, visit_for
from tests.medicine_cabinet.test_indivisible_forms import _in_bag

pytestmark = pytest.mark.django_db


def _dose(nurse, medicine, citizen, *, quantity: str, ordered_mg: str):
    visit = visit_for(nurse, citizen)
    order = order_for(
        nurse, citizen, medicine, visit=visit, dose=Decimal(ordered_mg), dose_unit="mg"
    )
    return f.client_for(nurse).post(
        "/api/cabinet/administrations",
        {
            "visit": visit.pk,
            "order": order.pk,
            "medicine": medicine.pk,
            "quantity": quantity,
            "unit": "tablet",
        },
        format="json",
    )


@pytest.mark.parametrize(
    ("quantity", "ordered_mg", "shown"),
    [("0.3", "150", "0,3"), ("1.25", "625", "1,25"), ("0.1", "50", "0,1")],
)
def test_r8_part_of_a_tablet_other_than_a_half_is_refused_and_audited(
    officer, nurse, cabinet, bag, quantity, ordered_mg, shown
):
    paracetamol = _in_bag(officer, nurse, cabinet, bag, "tablet")
    citizen = f.citizen()
    before = Movement.objects.count()
    refused = _dose(nurse, paracetamol, citizen, quantity=quantity, ordered_mg=ordered_mg)
    assert refused.status_code == 400, refused.content
    error = refused.json()["error"]
    assert (error["code"], error["field"], error["rule"]) == (
        "dose.tablet_halves",
        "quantity",
        "R8",
    )
    assert error["message"] == (
        f"Paracetamol (tabl.) deles kun ved delekærven: giv hele eller halve tabletter,"
        f" ikke {shown}. Intet er givet."
    )
    assert Movement.objects.count() == before and not Administration.objects.exists()
    assert denied_audited(citizen, "dose.tablet_halves")


@pytest.mark.parametrize(
    ("quantity", "ordered_mg", "rest"), [("1.5", "750", "0.5"), ("2", "1000", None)]
)
def test_whole_and_half_tablets_are_still_given(
    officer, nurse, cabinet, bag, quantity, ordered_mg, rest
):
    paracetamol = _in_bag(officer, nurse, cabinet, bag, "tablet")
    given = _dose(nurse, paracetamol, f.citizen(), quantity=quantity, ordered_mg=ordered_mg)
    assert given.status_code == 201, given.content
    discarded = given.json()["discarded_rest"]
    assert (Decimal(discarded["quantity"]) if discarded else None) == (
        Decimal(rest) if rest else None
    )


def test_r8_the_nurses_page_and_the_offline_queue_refuse_a_third_of_a_tablet():
    from tests.acute.test_pages_nurse import _give_on_page
    from tests.medicine_cabinet.conftest import (
        give_offline,
        on_the_nurses_page,
        phone_order_on_page,
    )

    visit, client, paracetamol, _bag, lot = on_the_nurses_page(
        atc="N02BE01", name="Paracetamol", strength="500 mg", form="tablet", unit="tablet"
    )
    order = phone_order_on_page(
        client,
        visit,
        paracetamol,
        dose="150",
        dose_unit="mg",
        route="oralt",
        frequency="én gang",
        duration="engangsdosis",
    )
    refused = _give_on_page(client, visit, order, paracetamol, "0,3")
    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'data-code="dose.tablet_halves"' in html
    assert "Paracetamol (tabl.) deles kun ved delekærven: giv hele eller halve tabletter" in html
    # Queued on the tablet without a connection and sent later: refused the
    # same way, and flagged for the medicine officer.
    queued = give_offline(
        client, visit, order, paracetamol, "0,3", ref="dose-third-tablet", at=timezone.now()
    )
    assert queued.status_code == 400
    assert queued.json()["error"]["code"] == "dose.tablet_halves"
    assert Notification.objects.filter(kind=Notification.Kind.OFFLINE_DOSE_REFUSED).exists()
    assert not Administration.objects.exists()
    assert not Movement.objects.filter(lot=lot, kind=Movement.Kind.ADMINISTERED).exists()
