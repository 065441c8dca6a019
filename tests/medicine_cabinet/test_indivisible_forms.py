"""A capsule, a suppository and a sachet are given whole: a dose of part of one
is refused on every door that gives a dose (the API, the nurse's page, the
tablet's offline queue), in Danish, before anything leaves the bag, and the
attempt is audited as denied. A tablet may still be halved and an ampoule or
a vial drawn in part, the opened unit's rest discarded with the dose."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from medicine_cabinet import selectors, services
from medicine_cabinet.models import Administration, Medicine, Movement, Notification
from tests import factories as f
from tests.acute.test_pages_nurse import _prescribed
from tests.medicine_cabinet.conftest import actor, denied_audited, in_bag, order_for, visit_for

pytestmark = pytest.mark.django_db

FORMS = {
    # unit: (ATC, name, strength, Danish abbreviation the message names)
    "capsule": ("J01CA04", "Amoxicillin", "500 mg", "kaps."),
    "suppository": ("N02BE01", "Paracetamol supp.", "500 mg", "supp."),
    "sachet": ("A06AD65", "Movicol", "13,8 g", "brev"),
    "tablet": ("N02BE01", "Paracetamol", "500 mg", "tabl."),
    "ampoule": ("C03CA01", "Furosemid", "10 mg/mL, 4 mL", "amp."),
    "vial": ("J01DD04", "Ceftriaxon", "1 g", "hætteglas"),
}


def _in_bag(officer, nurse, cabinet, bag, unit: str) -> Medicine:
    atc, name, strength, _label = FORMS[unit]
    medicine = _prescribed(atc=atc, name=name, strength=strength, form=unit, unit=unit)
    in_bag(officer, nurse, cabinet, bag, medicine, "4", received="10", batch=f"{unit}-1")
    return medicine


def _half_dose(nurse, medicine, citizen):
    visit = visit_for(nurse, citizen)
    order = order_for(
        nurse, citizen, medicine, visit=visit, dose=Decimal("0.5"), dose_unit=medicine.unit
    )
    return f.client_for(nurse).post(
        "/api/cabinet/administrations",
        {
            "visit": visit.pk,
            "order": order.pk,
            "medicine": medicine.pk,
            "quantity": "0.5",
            "unit": medicine.unit,
        },
        format="json",
    )


@pytest.mark.parametrize("unit", ["capsule", "suppository", "sachet"])
def test_part_of_an_indivisible_form_is_refused_over_the_api_and_audited(
    officer, nurse, cabinet, bag, unit
):
    medicine = _in_bag(officer, nurse, cabinet, bag, unit)
    citizen = f.citizen()
    before = Movement.objects.count()
    refused = _half_dose(nurse, medicine, citizen)
    assert refused.status_code == 400, refused.content
    error = refused.json()["error"]
    assert (error["code"], error["field"], error["rule"]) == (
        "dose.indivisible_form",
        "quantity",
        "R8",
    )
    name, label = FORMS[unit][1], FORMS[unit][3]
    assert error["message"] == (
        f"{name} ({label}) kan ikke deles: giv et helt antal, ikke 0,5. Intet er givet."
    )
    assert Movement.objects.count() == before and not Administration.objects.exists()
    assert denied_audited(citizen, "dose.indivisible_form")


@pytest.mark.parametrize("unit", ["tablet", "ampoule", "vial"])
def test_half_a_tablet_ampoule_or_vial_is_given_and_its_rest_discarded(
    officer, nurse, cabinet, bag, unit
):
    medicine = _in_bag(officer, nurse, cabinet, bag, unit)
    given = _half_dose(nurse, medicine, f.citizen())
    assert given.status_code == 201, given.content
    assert Decimal(given.json()["discarded_rest"]["quantity"]) == Decimal("0.5")


def test_whole_capsules_are_given(officer, nurse, cabinet, bag):
    amoxicillin = _in_bag(officer, nurse, cabinet, bag, "capsule")
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    order = order_for(
        nurse, citizen, amoxicillin, visit=visit, dose=Decimal("2"), dose_unit="capsule"
    )
    given = services.administration_give(
        actor=actor(nurse),
        visit_id=visit.pk,
        order_id=order.pk,
        medicine=amoxicillin,
        quantity=Decimal("2"),
        unit="capsule",
    )
    assert given.quantity == 2 and selectors.dose_rest(dose=given.movement) is None


def test_the_nurses_page_and_the_offline_queue_refuse_half_a_capsule():
    from tests.acute.test_pages_nurse import _give_on_page
    from tests.medicine_cabinet.conftest import (
        give_offline,
        on_the_nurses_page,
        phone_order_on_page,
    )

    visit, client, amoxicillin, _bag, lot = on_the_nurses_page(
        atc="J01CA04", name="Amoxicillin", strength="500 mg", form="capsule", unit="capsule"
    )
    order = phone_order_on_page(
        client,
        visit,
        amoxicillin,
        dose="1",
        dose_unit="capsule",
        route="oralt",
        frequency="én gang",
        duration="engangsdosis",
    )
    refused = _give_on_page(client, visit, order, amoxicillin, "0,5")
    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'data-code="dose.indivisible_form"' in html
    assert "Amoxicillin (kaps.) kan ikke deles: giv et helt antal, ikke 0,5." in html
    # Queued on the tablet without a connection and sent later: refused the
    # same way, and flagged for the medicine officer (the capsule left the bag).
    queued = give_offline(
        client, visit, order, amoxicillin, "0,5", ref="dose-half-capsule", at=timezone.now()
    )
    assert queued.status_code == 400
    assert queued.json()["error"]["code"] == "dose.indivisible_form"
    assert Notification.objects.filter(kind=Notification.Kind.OFFLINE_DOSE_REFUSED).exists()
    assert not Administration.objects.exists()
    assert not Movement.objects.filter(lot=lot, kind=Movement.Kind.ADMINISTERED).exists()
