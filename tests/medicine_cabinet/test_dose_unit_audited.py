"""A dose in a unit the medicine is not counted in, on the nurse's visit, is
refused like every other dose refused once the citizen is reached: a denied
attempt on her record (R9), and nothing leaves the bag (R8)."""

from __future__ import annotations

import pytest

from medicine_cabinet.models import Administration, Balance, Movement
from tests import factories as f
from tests.medicine_cabinet.conftest import (
    FUROSEMIDE,
    denied_audited,
    in_bag,
    on_the_nurses_page,
    order_for,
    phone_order_on_page,
    receive,
    visit_for,
)

pytestmark = pytest.mark.django_db


def _give_in_ml(nurse, visit, order, medicine):
    """Two of a tablet given, said in mL."""
    return f.client_for(nurse).post(
        "/api/cabinet/administrations",
        {
            "visit": visit.pk,
            "order": order.pk,
            "medicine": medicine.pk,
            "quantity": "2",
            "unit": "mL",
        },
        format="json",
    )


def test_a_dose_in_the_wrong_unit_is_a_denied_attempt_on_the_citizen(
    officer, nurse, cabinet, bag, paracetamol
):
    lot = in_bag(officer, nurse, cabinet, bag, paracetamol, "6")
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    order = order_for(nurse, citizen, paracetamol, visit=visit)
    moved = Movement.objects.count()

    answer = _give_in_ml(nurse, visit, order, paracetamol)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "unit.mismatch"
    assert denied_audited(citizen, "unit.mismatch")
    assert Movement.objects.count() == moved and not Administration.objects.exists()
    assert Balance.objects.get(location=bag, lot=lot).quantity == 6


def test_a_wrong_unit_on_a_visit_that_is_not_hers_answers_as_no_such_visit(
    officer, nurse, nurse2, cabinet, bag, paracetamol
):
    """The unit is judged only once the visit is hers: the answer does not
    tell another nurse's visit from one that does not exist."""
    in_bag(officer, nurse, cabinet, bag, paracetamol, "6")
    citizen = f.citizen()
    visit = visit_for(nurse2, citizen)
    order = order_for(nurse2, citizen, paracetamol, visit=visit)
    answer = _give_in_ml(nurse, visit, order, paracetamol)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "visit.not_found"


def test_the_refusal_names_the_unit_as_the_nurse_reads_it_and_tells_a_client_which_to_send(
    officer, nurse, cabinet, bag, paracetamol
):
    """The sentence says "tabl.", as the bag and the dose form do, never the
    formulary's stored value; a client reads the unit to send from ``unit``."""
    in_bag(officer, nurse, cabinet, bag, paracetamol, "6")
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    order = order_for(nurse, citizen, paracetamol, visit=visit)

    error = _give_in_ml(nurse, visit, order, paracetamol).json()["error"]

    assert error["message"] == "Paracetamol tælles i tabl., ikke i den angivne enhed."
    assert error["unit"] == "tablet" and error["field"] == "unit"


def test_a_transfer_in_the_wrong_unit_names_the_unit_in_danish(
    officer, nurse, cabinet, bag, morphine
):
    lot = receive(officer, cabinet, morphine, "5", witness=nurse.user)
    answer = f.client_for(nurse).post(
        "/api/cabinet/transfers",
        {
            "lot": lot.pk,
            "from_location": cabinet.pk,
            "to_location": bag.pk,
            "quantity": "1",
            "unit": "Ampoule",
        },
        format="json",
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "unit.mismatch" and error["unit"] == "ampoule"
    assert error["message"] == "Morfin tælles i amp., ikke i den angivne enhed."
    assert Balance.objects.get(location=cabinet, lot=lot).quantity == 5
    assert not Balance.objects.filter(location=bag).exists()


def test_on_the_dose_form_the_unit_is_named_in_danish():
    visit, client, furosemide, _bag, _lot = on_the_nurses_page(**FUROSEMIDE)
    order = phone_order_on_page(
        client, visit, furosemide, dose="40", dose_unit="mg", frequency="1", duration="1"
    )
    moved = Movement.objects.count()

    page = client.post(
        f"/nurse/visits/{visit.pk}/give/",
        {"order_id": order.pk, "medicine_id": furosemide.pk, "quantity": "1", "unit": "mg"},
    )

    html = page.content.decode()
    assert page.status_code == 400
    assert "Furosemid tælles i amp., ikke i den angivne enhed." in html
    assert "tælles i ampoule" not in html
    assert Movement.objects.count() == moved
    assert denied_audited(visit.citizen, "unit.mismatch")
