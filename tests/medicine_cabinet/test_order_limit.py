"""R8: an order is a limit. The doses given against it — over its frequency and
duration — may not exceed what it orders; a dose that is not the ordered one
(another amount, or a unit that does not convert) is given only when the nurse
confirms it, and the confirmation is kept. Through the API a nurse uses, on
PostgreSQL, for phone orders, written orders and §4 medicines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from acute.clinical import services as clinical_services
from acute.clinical.models import MedicationOrder
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.models import Role
from medicine_cabinet import services
from medicine_cabinet.models import Administration, Balance, Movement
from tests import factories as f
from tests.medicine_cabinet.conftest import actor, receive, visit_for

pytestmark = pytest.mark.django_db


def _in_bag(officer, nurse, cabinet, bag, medicine, quantity="10", *, batch="B1", witness=None):
    lot = receive(officer, cabinet, medicine, "20", batch=batch, witness=witness)
    services.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=cabinet,
        destination=bag,
        quantity=Decimal(quantity),
        unit=medicine.unit,
        witness=witness,
    )
    return lot


def _phone_order(nurse, visit, medicine, **changes) -> dict:
    """A phone order as the nurse records it over the API, read back and confirmed."""
    body = {
        "medicine_atc": medicine.atc_code,
        "medicine_name": medicine.name,
        "dose": "1",
        "dose_unit": "ampoule",
        "route": "intravenous",
        "frequency": "once",
        "duration": "single dose",
        "indication": "Lungeødem",
        "ordered_at": timezone.now().isoformat(),
        "ordered_by_name": "Hanne Hansen",
        "ordered_by_role": "Læge",
        "ordered_by_organisation": "Lægevagten",
        "ordered_by_authorisation_id": "0A1B2",
        "read_back": True,
        "read_back_confirmed": True,
        **changes,
    }
    response = f.client_for(nurse).post(
        f"/api/clinical/visits/{visit.pk}/phone-orders", body, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def _written_order(visit, **details) -> MedicationOrder:
    """A written electronic order entered by a physician herself."""
    physician = f.staff(Role.PHYSICIAN, f.gp_practice())
    physician.user.authorisation_id = "XYZ98"
    physician.user.save(update_fields=["authorisation_id"])
    fields = {
        "route": "subcutaneous",
        "frequency": "once",
        "duration": "single dose",
        "indication": "Smerter",
        **details,
    }
    return clinical_services.written_order_record(
        actor=Actor.for_membership(physician),
        visit=visit,
        details=clinical_services.OrderDetails(**fields),
    )


def _give(nurse, visit, order_id, medicine, quantity, **extra):
    return f.client_for(nurse).post(
        "/api/cabinet/administrations",
        {
            "visit": visit.pk,
            "order": order_id,
            "medicine": medicine.pk,
            "quantity": quantity,
            "unit": medicine.unit,
            **extra,
        },
        format="json",
    )


def _allowance(nurse, visit, order_id) -> dict:
    orders = f.client_for(nurse).get(f"/api/clinical/visits/{visit.pk}").json()["orders"]
    return next(o for o in orders if o["id"] == order_id)["allowance"]


def test_r8_furosemide_phone_order_for_one_ampoule_refuses_a_second_dose_of_three(
    officer, nurse, cabinet, bag, furosemide
):
    """The issue's case: 1 ampoule ordered by phone, 1 given; 3 more are refused,
    naming the order and what remains, and nothing leaves the bag."""
    lot = _in_bag(officer, nurse, cabinet, bag, furosemide, "5")
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    order = _phone_order(nurse, visit, furosemide)
    assert order["total_quantity"] == "1"
    assert order["allowance"]["remaining"] == "1" and order["allowance"]["unit"] == "ampoule"

    first = _give(nurse, visit, order["id"], furosemide, "1")
    assert first.status_code == 201, first.json()
    assert first.json()["order"] == {
        "id": order["id"],
        "amount": "1",
        "unit": "ampoule",
        "dose_mismatch": None,
        "mismatch_confirmed": False,
    }
    assert _allowance(nurse, visit, order["id"])["remaining"] == "0"

    for quantity in ("3", "1"):
        refused = _give(nurse, visit, order["id"], furosemide, quantity)
        assert refused.status_code == 409, refused.json()
        error = refused.json()["error"]
        assert error["code"] == "order.limit_exceeded" and error["rule"] == "R8"
        assert error["order"] == order["id"]
        assert error["remaining"] == "0" and error["unit"] == "ampoule"
        assert error["asked"] == quantity and error["limit"] == "total"
        assert f"nr. {order['id']}" in error["message"]  # named, in Danish
    assert Balance.objects.get(location=bag, lot=lot).quantity == 4
    assert Administration.objects.count() == 1
    assert Movement.objects.filter(kind=Movement.Kind.ADMINISTERED).count() == 1
    denied = AuditEntry.objects.filter(
        citizen_id=citizen.pk, outcome="denied", reason_code="order.limit_exceeded"
    )
    assert denied.count() == 2
    assert denied.first().actor_user_id == nurse.user.pk
    assert citizen.cpr not in refused.content.decode()


def test_r8_a_daily_schedule_allows_its_doses_per_24_hours_and_no_more_than_its_total(
    officer, nurse, cabinet, bag, furosemide
):
    """Twice daily for two days: two doses in any 24 hours, four in all."""
    _in_bag(officer, nurse, cabinet, bag, furosemide, "10")
    visit = visit_for(nurse, f.citizen())
    order = _phone_order(nurse, visit, furosemide, frequency="2 gange dagligt", duration="2 dage")
    assert (order["doses_per_day"], order["duration_days"]) == (2, 2)
    assert order["allowance"]["total"] == "4" and order["allowance"]["per_day"] == "2"
    for _ in range(2):
        assert _give(nurse, visit, order["id"], furosemide, "1").status_code == 201
    third = _give(nurse, visit, order["id"], furosemide, "1")
    assert third.status_code == 409
    assert third.json()["error"]["limit"] == "day"
    assert third.json()["error"]["remaining"] == "0"
    allowance = _allowance(nurse, visit, order["id"])
    assert allowance["remaining"] == "0" and allowance["remaining_today"] == "0"

    # A day later the next two may be given, then the order is used up.
    Administration.objects.filter(order_id=order["id"]).update(
        administered_at=timezone.now() - dt.timedelta(hours=25)
    )
    assert _allowance(nurse, visit, order["id"])["remaining"] == "2"
    for _ in range(2):
        assert _give(nurse, visit, order["id"], furosemide, "1").status_code == 201
    Administration.objects.filter(order_id=order["id"]).update(
        administered_at=timezone.now() - dt.timedelta(hours=25)
    )
    last = _give(nurse, visit, order["id"], furosemide, "1")
    assert last.status_code == 409
    assert last.json()["error"]["limit"] == "total" and last.json()["error"]["given"] == "4"
    assert Administration.objects.filter(order_id=order["id"]).count() == 4


def test_r8_an_order_past_its_days_gives_nothing_more(officer, nurse, cabinet, bag, furosemide):
    _in_bag(officer, nurse, cabinet, bag, furosemide, "3")
    visit = visit_for(nurse, f.citizen())
    order = _phone_order(nurse, visit, furosemide, frequency="2 times daily", duration="1 day")
    # Two days on (an order is given on its visit, never dated before it):
    # its one day is over.
    MedicationOrder.objects.filter(pk=order["id"]).update(
        ordered_at=timezone.now() - dt.timedelta(days=2)
    )
    read = f.client_for(nurse).get(f"/api/clinical/visits/{visit.pk}").json()
    allowance = next(o for o in read["orders"] if o["id"] == order["id"])["allowance"]
    assert allowance["ended"] is True and allowance["remaining"] == "0"
    refused = _give(nurse, visit, order["id"], furosemide, "1")
    assert refused.status_code == 412
    assert refused.json()["error"]["code"] == "order.ended"
    assert refused.json()["error"]["rule"] == "R8"
    assert not Administration.objects.exists()


def test_r8_paracetamol_1000_mg_as_one_500_mg_tablet_warns_and_is_given_only_confirmed(
    officer, nurse, cabinet, bag, paracetamol
):
    """One 500 mg tablet against an order of 1000 mg is not given without a
    word: a warning, then the nurse's confirmation of 500 mg, kept with the dose."""
    lot = _in_bag(officer, nurse, cabinet, bag, paracetamol, "10")
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    order = _phone_order(
        nurse,
        visit,
        paracetamol,
        dose="1000",
        dose_unit="mg",
        route="oral",
        frequency="4 times daily",
        duration="2 days",
    )

    warned = _give(nurse, visit, order["id"], paracetamol, "1")
    assert warned.status_code == 412, warned.json()
    error = warned.json()["error"]
    assert error["code"] == "administration.dose_mismatch" and error["rule"] == "R8"
    assert (error["mismatch"], error["amount"], error["ordered_dose"], error["unit"]) == (
        "amount",
        "500",
        "1000",
        "mg",
    )
    assert error["order"] == order["id"] and error["remaining"] == "4000"
    assert Balance.objects.get(location=bag, lot=lot).quantity == 10

    without_amount = _give(nurse, visit, order["id"], paracetamol, "1", confirm_mismatch=True)
    assert without_amount.status_code == 400
    assert without_amount.json()["error"]["code"] == "administration.confirmed_dose_required"
    other_amount = _give(
        nurse, visit, order["id"], paracetamol, "1", confirm_mismatch=True, confirmed_dose="1000"
    )
    assert other_amount.status_code == 412
    assert other_amount.json()["error"]["code"] == "administration.confirmation_mismatch"
    assert not Administration.objects.exists()

    confirmed = _give(
        nurse, visit, order["id"], paracetamol, "1", confirm_mismatch=True, confirmed_dose="500"
    )
    assert confirmed.status_code == 201, confirmed.json()
    assert confirmed.json()["order"]["dose_mismatch"] == "amount"
    assert confirmed.json()["order"]["mismatch_confirmed"] is True
    given = Administration.objects.get()
    assert (given.order_amount, given.order_unit) == (Decimal("500"), "mg")
    assert given.dose_mismatch == "amount" and given.mismatch_confirmed
    entry = AuditEntry.objects.get(
        resource_type="MedicationAdministration", resource_id=str(given.pk)
    )
    assert entry.detail["dose_mismatch"] == "amount" and entry.detail["mismatch_confirmed"]
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, outcome="denied", reason_code="administration.dose_mismatch"
    ).exists()

    # Two tablets are the ordered 1000 mg: no warning, nothing to confirm.
    as_ordered = _give(nurse, visit, order["id"], paracetamol, "2")
    assert as_ordered.status_code == 201, as_ordered.json()
    assert as_ordered.json()["order"]["dose_mismatch"] is None
    assert _allowance(nurse, visit, order["id"])["given"] == "1500"


def test_r8_section_four_written_order_counts_a_confirmed_dose_in_the_orders_unit(
    officer, nurse, nurse2, cabinet, bag, morphine
):
    """Morphine 5 mg by written order; the formulary's strength does not say
    what an ampoule holds, so the nurse confirms the amount she gives — with her
    witness — and that amount is counted against the order."""
    witness = {"username": nurse2.user.username, "password": f.PASSWORD}
    _in_bag(officer, nurse, cabinet, bag, morphine, "2", witness=nurse2.user)
    visit = visit_for(nurse, f.citizen())
    order = _written_order(
        visit, medicine_atc="N02AA01", medicine_name="Morfin", dose="5", dose_unit="mg"
    )
    assert order.total_quantity == 5

    warned = _give(nurse, visit, order.pk, morphine, "0.5", witness=witness)
    assert warned.status_code == 412
    error = warned.json()["error"]
    assert error["code"] == "administration.dose_mismatch"
    assert error["mismatch"] == "unit" and error["amount"] is None
    given = _give(
        nurse,
        visit,
        order.pk,
        morphine,
        "0.5",
        witness=witness,
        confirm_mismatch=True,
        confirmed_dose="5",
    )
    assert given.status_code == 201, given.json()
    administration = Administration.objects.get()
    assert administration.order_amount == 5 and administration.dose_mismatch == "unit"
    assert administration.witness_id == nurse2.user.pk

    again = _give(
        nurse,
        visit,
        order.pk,
        morphine,
        "0.5",
        witness=witness,
        confirm_mismatch=True,
        confirmed_dose="5",
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "order.limit_exceeded"
    assert again.json()["error"]["remaining"] == "0"
    # Used up: the refusal comes before any question about the dose.
    unconfirmed = _give(nurse, visit, order.pk, morphine, "0.5", witness=witness)
    assert unconfirmed.status_code == 409
    assert unconfirmed.json()["error"]["code"] == "order.limit_exceeded"
    assert unconfirmed.json()["error"]["asked"] is None
    assert Administration.objects.count() == 1


def test_r8_written_order_in_mg_is_counted_through_what_an_ampoule_holds(
    officer, nurse, cabinet, bag, furosemide
):
    """Furosemide 40 mg twice in one day by written order; an ampoule holds
    40 mg (10 mg/mL, 4 mL). Two ampoules at once are more than is left."""
    _in_bag(officer, nurse, cabinet, bag, furosemide, "5")
    visit = visit_for(nurse, f.citizen())
    order = _written_order(
        visit,
        medicine_atc="C03CA01",
        medicine_name="Furosemid",
        dose="40",
        dose_unit="mg",
        route="intravenous",
        frequency="2 times daily",
        duration="1 day",
    )
    assert order.total_quantity == 80
    assert _give(nurse, visit, order.pk, furosemide, "1").status_code == 201
    too_much = _give(nurse, visit, order.pk, furosemide, "2")
    assert too_much.status_code == 409
    assert too_much.json()["error"]["remaining"] == "40"
    assert too_much.json()["error"]["asked"] == "80" and too_much.json()["error"]["unit"] == "mg"
    assert _give(nurse, visit, order.pk, furosemide, "1").status_code == 201
    used_up = _give(nurse, visit, order.pk, furosemide, "1")
    assert used_up.status_code == 409 and used_up.json()["error"]["remaining"] == "0"
    assert Administration.objects.filter(order=order).count() == 2


def test_r8_a_cancelled_order_gives_nothing_and_the_refusal_is_audited(
    officer, nurse, cabinet, bag, furosemide
):
    _in_bag(officer, nurse, cabinet, bag, furosemide, "2")
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    order = _phone_order(nurse, visit, furosemide)
    MedicationOrder.objects.filter(pk=order["id"]).update(
        status=MedicationOrder.Status.CANCELLED,
        cancelled_at=timezone.now(),
        cancel_reason="Forkert lægemiddel",
    )
    refused = _give(nurse, visit, order["id"], furosemide, "1")
    assert refused.status_code == 412
    assert refused.json()["error"]["code"] == "order.cancelled"
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, outcome="denied", reason_code="order.cancelled"
    ).exists()


def test_r8_the_database_keeps_an_order_a_limit_and_a_mismatch_confirmed(
    officer, nurse, cabinet, bag, paracetamol
):
    """Below the service: an order allowing less than one dose, and a differing
    dose recorded as unconfirmed, are refused by the table's constraints."""
    _in_bag(officer, nurse, cabinet, bag, paracetamol, "4")
    visit = visit_for(nurse, f.citizen())
    order = _phone_order(nurse, visit, paracetamol, dose="1000", dose_unit="mg", frequency="once")
    given = services.administration_give(
        actor=actor(nurse),
        visit_id=visit.pk,
        order_id=order["id"],
        medicine=paracetamol,
        quantity=Decimal("1"),
        unit="tablet",
        confirm_mismatch=True,
        confirmed_dose=Decimal("500"),
    )
    for rows, change in (
        (MedicationOrder.objects.filter(pk=order["id"]), {"total_quantity": Decimal("999")}),
        (
            MedicationOrder.objects.filter(pk=order["id"]),
            {"doses_per_day": 1, "duration_days": 1, "total_quantity": Decimal("2000")},
        ),
        (Administration.objects.filter(pk=given.pk), {"mismatch_confirmed": False}),
        (Administration.objects.filter(pk=given.pk), {"order_amount": Decimal("0")}),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            rows.update(**change)


def test_r8_the_formulary_keeps_what_one_stock_unit_holds(officer, nurse):
    """What a dose is in mg comes from the medicine: stated by the officer, or
    read from a strength that says it plainly; never half of it."""
    client = f.client_for(officer)
    line = {
        "atc_code": "N02AA01",
        "name": "Morfin",
        "strength": "10 mg/mL",
        "form": "solution for injection",
        "unit": "ampoule",
        "package_size": "10",
        "dispensing": "rx",
        "dependence_forming": True,
        "minimum_stock": "2",
    }
    unknown = client.post("/api/cabinet/medicines", line, format="json")
    assert unknown.status_code == 201 and unknown.json()["amount_per_unit"] is None
    stated = client.post(
        "/api/cabinet/medicines",
        {**line, "amount_per_unit": "10", "amount_unit": "mg"},
        format="json",
    )
    assert stated.status_code == 201
    assert (stated.json()["amount_per_unit"], stated.json()["amount_unit"]) == ("10", "mg")
    kept = client.post("/api/cabinet/medicines", {**line, "minimum_stock": "3"}, format="json")
    assert kept.json()["amount_per_unit"] == "10"  # an update without it keeps it
    read = client.post(
        "/api/cabinet/medicines",
        {**line, "strength": "10 mg/mL, 4 mL", "atc_code": "C03CA01", "name": "Furosemid"},
        format="json",
    )
    assert (read.json()["amount_per_unit"], read.json()["amount_unit"]) == ("40", "mg")
    for bad, code in (
        ({"amount_per_unit": "10"}, "medicine.amount_incomplete"),
        ({"amount_unit": "mg"}, "medicine.amount_incomplete"),
        ({"amount_per_unit": "10", "amount_unit": "spoonful"}, "medicine.amount_unit_unknown"),
    ):
        refused = client.post("/api/cabinet/medicines", {**line, **bad}, format="json")
        assert refused.status_code == 400, bad
        assert refused.json()["error"]["code"] == code
    assert (
        f.client_for(nurse).post("/api/cabinet/medicines", line, format="json").status_code == 403
    )
