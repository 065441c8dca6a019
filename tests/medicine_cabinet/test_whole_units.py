"""Stock counted in whole units (tablets, ampoules …) is received, moved,
wasted and counted in whole units on every door; a dose of part of one books
the opened unit's rest as waste in the same transaction, with the same
witness, so the bag stays whole and the §4 register balances; a balance left
fractional from before still counts, returns and wastes. Measured units (mL)
keep their decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from core.errors import Conflict, InvalidInput
from medicine_cabinet import selectors, services
from medicine_cabinet.models import (
    Balance,
    CountReason,
    Movement,
    StockCount,
    WasteReason,
)
from medicine_cabinet.services.checks import WHOLE_UNITS
from medicine_cabinet.services.ledger import book, lock_balances
from tests import factories as f
from tests.medicine_cabinet.conftest import (
    FUROSEMIDE,
    actor,
    in_bag,
    on_shift,
    on_the_nurses_page,
    order_for,
    phone_order_on_page,
    receive,
    visit_for,
)

pytestmark = pytest.mark.django_db


def _balance(location, lot) -> Decimal:
    return Balance.objects.get(location=location, lot=lot).quantity


def _witness_json(membership) -> dict[str, str]:
    return {"username": membership.user.username, "password": f.PASSWORD}


@pytest.fixture
def witness(officer):
    membership = f.staff("acute_nurse", officer.organisation)
    on_shift(membership)
    return membership


@pytest.fixture
def morphine_in_bag(officer, nurse, nurse2, cabinet, bag, morphine, witness):
    lot = receive(officer, cabinet, morphine, "10", batch="M1", witness=witness.user)
    services.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=cabinet,
        destination=bag,
        quantity=Decimal("10"),
        unit="ampoule",
        witness=nurse2.user,
    )
    return lot


def test_the_whole_units_are_the_formularys_discrete_stock_units():
    assert {"tablet", "ampoule", "capsule", "vial", "suppository", "sachet"} == WHOLE_UNITS
    assert "mL" not in WHOLE_UNITS


def test_part_of_an_ampoule_is_refused_on_receipt_transfer_waste_and_count_over_the_api(
    officer, nurse, nurse2, cabinet, bag, morphine, witness, morphine_in_bag
):
    lot = morphine_in_bag
    officer_client, nurse_client = f.client_for(officer), f.client_for(nurse)
    before = Movement.objects.count()
    receipt = officer_client.post(
        "/api/cabinet/receipts",
        {
            "cabinet": cabinet.pk,
            "medicine": morphine.pk,
            "batch_number": "M2",
            "expires_on": str(timezone.localdate().replace(year=timezone.localdate().year + 1)),
            "quantity": "2.5",
            "unit": "ampoule",
            "supplier": "Apoteket",
            "delivery_reference": "D-M2",
            "witness": _witness_json(witness),
        },
        format="json",
    )
    transfer = nurse_client.post(
        "/api/cabinet/transfers",
        {
            "lot": lot.pk,
            "from_location": bag.pk,
            "to_location": cabinet.pk,
            "quantity": "0.5",
            "unit": "ampoule",
            "witness": _witness_json(nurse2),
        },
        format="json",
    )
    waste = nurse_client.post(
        "/api/cabinet/waste",
        {
            "location": bag.pk,
            "lot": lot.pk,
            "quantity": "0.5",
            "unit": "ampoule",
            "reason_code": "dropped",
            "witness": _witness_json(nurse2),
        },
        format="json",
    )
    for response in (receipt, transfer, waste):
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == "quantity.whole_units"
        assert error["field"] == "quantity"
        assert "tælles i hele enheder (amp.)" in error["message"]
        assert "er ikke et helt antal" in error["message"]
    assert "2,5" in receipt.json()["error"]["message"]
    # The rest of an opened ampoule where none is opened: nothing to waste.
    rest = nurse_client.post(
        "/api/cabinet/waste",
        {
            "location": bag.pk,
            "lot": lot.pk,
            "quantity": "0.5",
            "unit": "ampoule",
            "reason_code": "partial_dose",
            "witness": _witness_json(nurse2),
        },
        format="json",
    )
    assert rest.status_code == 400 and rest.json()["error"]["code"] == "quantity.whole_units"
    count = nurse_client.post("/api/cabinet/counts", {"location": bag.pk}, format="json")
    assert count.status_code == 201, count.content
    line = nurse_client.post(
        f"/api/cabinet/counts/{count.json()['id']}/lines",
        {"lot": lot.pk, "quantity": "9.5"},
        format="json",
    )
    assert line.status_code == 400 and line.json()["error"]["code"] == "quantity.whole_units"
    assert Movement.objects.count() == before
    assert _balance(bag, lot) == 10


def test_whole_units_are_accepted_and_measured_units_keep_decimals(
    officer, nurse, cabinet, bag, paracetamol, lactulose
):
    tablets = receive(officer, cabinet, paracetamol, "20", batch="P1")
    solution = receive(officer, cabinet, lactulose, "250.5", batch="L1")
    services.stock_transfer(
        actor=actor(nurse),
        lot=solution,
        source=cabinet,
        destination=bag,
        quantity=Decimal("12.5"),
        unit="mL",
    )
    services.stock_waste(
        actor=actor(nurse),
        location=bag,
        lot=solution,
        quantity=Decimal("0.25"),
        unit="mL",
        reason_code=WasteReason.DROPPED,
    )
    count = services.count_start(actor=actor(nurse), location=bag)
    services.count_record(actor=actor(nurse), count=count, lot=solution, quantity=Decimal("12.25"))
    assert _balance(bag, solution) == Decimal("12.25")
    with pytest.raises(InvalidInput) as caught:
        services.stock_transfer(
            actor=actor(nurse),
            lot=tablets,
            source=cabinet,
            destination=bag,
            quantity=Decimal("1.5"),
            unit="tablet",
        )
    assert caught.value.code == "quantity.whole_units"


def test_half_an_ampoule_given_discards_the_rest_with_the_same_witness_over_the_api(
    officer, nurse, nurse2, bag, morphine, morphine_in_bag
):
    lot = morphine_in_bag
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    order = order_for(
        nurse,
        citizen,
        morphine,
        kind="written",
        visit=visit,
        dose=Decimal("0.5"),
        dose_unit="ampoule",
    )
    given = f.client_for(nurse).post(
        "/api/cabinet/administrations",
        {
            "visit": visit.pk,
            "order": order.pk,
            "medicine": morphine.pk,
            "quantity": "0.5",
            "unit": "ampoule",
            "witness": _witness_json(nurse2),
        },
        format="json",
    )
    assert given.status_code == 201, given.content
    body = given.json()
    assert Decimal(body["movement"]["quantity"]) == Decimal("0.5")
    # The answer writes quantities as a read of the ledger does: to the
    # ledger's three decimals, not as they happened to be typed.
    history = f.client_for(officer).get(f"/api/cabinet/lots/{lot.pk}/history").json()
    read = {m["id"]: m for m in history["movements"]}
    for booked in (body["movement"], body["discarded_rest"]):
        assert booked["quantity"] == read[booked["id"]]["quantity"] == "0.500"
        assert booked["balance_after"] == read[booked["id"]]["balance_after"]
    rest = body["discarded_rest"]
    assert rest["kind"] == "wasted" and Decimal(rest["quantity"]) == Decimal("0.5")
    assert Decimal(rest["balance_after"]) == 9
    waste = Movement.objects.get(pk=rest["id"])
    assert waste.reason_code == WasteReason.PARTIAL_DOSE
    assert waste.witness == nurse2.user and waste.by == nurse.user
    assert str(body["movement"]["id"]) in waste.note
    assert _balance(bag, lot) == 9
    _, totals = selectors.controlled_register(organisation=bag.organisation, medicine=morphine)
    assert totals.balanced
    assert (totals.administered, totals.wasted, totals.in_bags) == (
        Decimal("0.5"),
        Decimal("0.5"),
        Decimal("9"),
    )
    # The next count finds what the bag holds: nine whole ampoules, no difference.
    count = services.count_start(actor=actor(nurse), location=bag)
    line = services.count_record(actor=actor(nurse), count=count, lot=lot, quantity=Decimal("9"))
    assert line.first_variance == 0


def test_a_whole_dose_discards_nothing_and_half_a_tablet_discards_the_other_half(
    officer, nurse, cabinet, bag, paracetamol
):
    lot = in_bag(officer, nurse, cabinet, bag, paracetamol, "4", batch="P1")
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    whole = order_for(nurse, citizen, paracetamol, visit=visit)  # 1 g: two tablets
    given = services.administration_give(
        actor=actor(nurse),
        visit_id=visit.pk,
        order_id=whole.pk,
        medicine=paracetamol,
        quantity=Decimal("2"),
        unit="tablet",
    )
    assert selectors.dose_rest(dose=given.movement) is None
    half = order_for(nurse, citizen, paracetamol, visit=visit, dose=Decimal("250"), dose_unit="mg")
    given = services.administration_give(
        actor=actor(nurse),
        visit_id=visit.pk,
        order_id=half.pk,
        medicine=paracetamol,
        quantity=Decimal("0.5"),
        unit="tablet",
    )
    rest = selectors.dose_rest(dose=given.movement)
    assert rest is not None and rest.quantity == Decimal("0.5")
    assert rest.witness is None  # not §4: no witness for the dose, none for its rest
    assert _balance(bag, lot) == 1


def _fractional_from_before(bag, lot, nurse) -> None:
    """A bag left at 9.5 ampoules by half a dose booked before doses booked their rest."""
    with_lock = lock_balances([(bag, lot)])[(bag.pk, lot.pk)]
    book(
        balance=with_lock,
        kind=Movement.Kind.ADMINISTERED,
        direction=Movement.Direction.OUT,
        quantity=Decimal("0.5"),
        by=nurse.user,
        witness=None,
        at=timezone.now(),
    )


def test_a_fractional_balance_from_before_is_counted_and_adjusted_to_whole_ampoules(
    officer, nurse, nurse2, bag, morphine_in_bag
):
    lot = morphine_in_bag
    _fractional_from_before(bag, lot, nurse)
    assert _balance(bag, lot) == Decimal("9.5")
    count = services.count_start(actor=actor(nurse), location=bag)
    line = services.count_record(actor=actor(nurse), count=count, lot=lot, quantity=Decimal("9"))
    services.count_recount(
        actor=actor(nurse), line=line, quantity=Decimal("9"), reason_code=CountReason.UNKNOWN
    )
    services.count_submit(actor=actor(nurse), count=count)
    approved = services.count_approve(actor=actor(officer), count=count)
    assert approved.status == StockCount.Status.APPROVED
    adjustment = Movement.objects.get(kind=Movement.Kind.COUNT_ADJUSTMENT)
    assert (adjustment.direction, adjustment.quantity) == ("out", Decimal("0.5"))
    assert _balance(bag, lot) == 9


def test_a_fractional_balance_from_before_wastes_its_rest_and_returns_whole_ampoules(
    nurse, nurse2, cabinet, bag, morphine_in_bag
):
    lot = morphine_in_bag
    _fractional_from_before(bag, lot, nurse)
    with pytest.raises(Conflict) as wrong_rest:
        services.stock_waste(
            actor=actor(nurse),
            location=bag,
            lot=lot,
            quantity=Decimal("0.3"),
            unit="ampoule",
            reason_code=WasteReason.PARTIAL_DOSE,
            witness=nurse2.user,
        )
    assert wrong_rest.value.code == "waste.rest_mismatch"
    assert wrong_rest.value.params["rest"] == "0,5"
    services.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=bag,
        destination=cabinet,
        quantity=Decimal("4"),
        unit="ampoule",
        witness=nurse2.user,
    )
    services.stock_waste(
        actor=actor(nurse),
        location=bag,
        lot=lot,
        quantity=Decimal("0.5"),
        unit="ampoule",
        reason_code=WasteReason.PARTIAL_DOSE,
        witness=nurse2.user,
    )
    assert _balance(bag, lot) == 5


def test_a_dose_from_a_fractional_balance_leaves_whole_ampoules(
    nurse, nurse2, bag, morphine, morphine_in_bag
):
    lot = morphine_in_bag
    _fractional_from_before(bag, lot, nurse)  # 9.5
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    order = order_for(
        nurse,
        citizen,
        morphine,
        kind="written",
        visit=visit,
        dose=Decimal("0.25"),
        dose_unit="ampoule",
    )
    given = services.administration_give(
        actor=actor(nurse),
        visit_id=visit.pk,
        order_id=order.pk,
        medicine=morphine,
        quantity=Decimal("0.25"),
        unit="ampoule",
        witness=nurse2.user,
    )
    rest = selectors.dose_rest(dose=given.movement)
    assert rest is not None and rest.quantity == Decimal("0.25")
    assert _balance(bag, lot) == 9


def test_the_count_sheet_refuses_half_a_tablet_under_its_field(officer, cabinet, paracetamol):
    lot = receive(officer, cabinet, paracetamol, "40", batch="C1")
    client = Client()
    assert f.log_in(client, officer).status_code == 302
    client.post("/cabinet/counts/start/", {"location": cabinet.pk})
    count = StockCount.objects.get(location=cabinet)
    refused = client.post(
        f"/cabinet/counts/{count.pk}/do/", {"action": "submit", f"lot_{lot.pk}": "39,5"}
    )
    html = refused.content.decode()
    assert refused.status_code == 400
    assert f'aria-describedby="err-lot-{lot.pk}"' in html
    assert "tælles i hele enheder" in html
    count.refresh_from_db()
    assert count.status == StockCount.Status.OPEN and not count.lines.exists()


def test_the_receipt_page_refuses_part_of_a_tablet(officer, cabinet, paracetamol):
    client = Client()
    assert f.log_in(client, officer).status_code == 302
    refused = client.post(
        "/cabinet/receive/",
        {
            "cabinet": cabinet.pk,
            "medicine": paracetamol.pk,
            "batch_number": "P9",
            "expires_on": str(timezone.localdate().replace(year=timezone.localdate().year + 1)),
            "quantity": "2.5",
            "supplier": "Apoteket",
            "delivery_reference": "D-P9",
        },
    )
    assert refused.status_code == 400
    assert "tælles i hele enheder (tabl.)" in refused.content.decode()
    assert not Movement.objects.exists()


def test_the_nurses_page_says_the_rest_of_the_opened_ampoule_was_discarded():
    from tests.acute.test_pages_nurse import _give_on_page

    visit, client, furosemide, bag, lot = on_the_nurses_page(**FUROSEMIDE)
    order = phone_order_on_page(
        client,
        visit,
        furosemide,
        dose="20",
        dose_unit="mg",
        frequency="én gang",
        duration="engangsdosis",
    )
    given = _give_on_page(client, visit, order, furosemide, "0,5")
    assert given.status_code == 302, given.content.decode()[:2000]
    html = client.get(given["Location"]).content.decode()
    assert "Resten af den åbnede enhed (0,5 amp.) er kasseret" in html
    assert _balance(bag, lot) == 4
    rest = Movement.objects.get(kind=Movement.Kind.WASTED, lot=lot)
    assert rest.reason_code == WasteReason.PARTIAL_DOSE and rest.quantity == Decimal("0.5")
