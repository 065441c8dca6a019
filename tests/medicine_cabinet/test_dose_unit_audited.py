"""A dose in a unit the medicine is not counted in, on the nurse's visit, is
refused like every other dose refused once the citizen is reached: a denied
attempt on her record (R9), and nothing leaves the bag (R8)."""

from __future__ import annotations

import pytest

from medicine_cabinet.models import Administration, Balance, Movement
from tests import factories as f
from tests.medicine_cabinet.conftest import denied_audited, in_bag, order_for, visit_for

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
