"""§4 medicines (morphine, midazolam): every movement with a witness, and the
register where drawn = administered + wasted + returned, always (R8)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import InvalidInput
from core.models import LoginAttempt, Role
from medicine_cabinet import selectors, services
from medicine_cabinet.models import Movement, WasteReason
from tests import factories as f
from tests.medicine_cabinet.conftest import (
    actor,
    denied_audited,
    on_shift,
    order_for,
    receive,
    visit_for,
)

pytestmark = pytest.mark.django_db


def test_a_dependence_forming_medicine_does_not_move_without_a_witness(
    officer, nurse, nurse2, cabinet, bag, morphine
):
    with pytest.raises(InvalidInput) as caught:
        receive(officer, cabinet, morphine, "10")
    assert caught.value.code == "witness.required"
    assert not Movement.objects.exists()
    lot = receive(officer, cabinet, morphine, "10", witness=nurse.user)
    with pytest.raises(InvalidInput) as same:
        services.stock_transfer(
            actor=actor(nurse),
            lot=lot,
            source=cabinet,
            destination=bag,
            quantity=Decimal("1"),
            unit="ampoule",
            witness=nurse.user,
        )
    assert same.value.code == "witness.same_person"
    outsider = f.staff(Role.PHYSICIAN, f.gp_practice())
    with pytest.raises(InvalidInput) as ineligible:
        services.stock_transfer(
            actor=actor(nurse),
            lot=lot,
            source=cabinet,
            destination=bag,
            quantity=Decimal("1"),
            unit="ampoule",
            witness=outsider.user,
        )
    assert ineligible.value.code == "witness.not_eligible"
    out, into = services.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=cabinet,
        destination=bag,
        quantity=Decimal("1"),
        unit="ampoule",
        witness=nurse2.user,
    )
    assert out.witness == into.witness == nurse2.user
    assert Movement.objects.filter(witness__isnull=True).count() == 0


def test_the_witness_proves_herself_with_her_own_password_over_the_api(
    officer, nurse, nurse2, cabinet, bag, morphine
):
    lot = receive(officer, cabinet, morphine, "10", witness=nurse2.user)
    body = {
        "lot": lot.pk,
        "from_location": cabinet.pk,
        "to_location": bag.pk,
        "quantity": "2",
        "unit": "ampoule",
    }
    client = f.client_for(nurse)
    missing = client.post("/api/cabinet/transfers", body, format="json")
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "witness.required"
    wrong = client.post(
        "/api/cabinet/transfers",
        {**body, "witness": {"username": nurse2.user.username, "password": "guess"}},
        format="json",
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "witness.invalid_credentials"
    ok = client.post(
        "/api/cabinet/transfers",
        {**body, "witness": {"username": nurse2.user.username, "password": f.PASSWORD}},
        format="json",
    )
    assert ok.status_code == 201, ok.content
    assert Movement.objects.filter(kind="to_bag", witness=nurse2.user).count() == 2


def test_a_dose_refused_for_the_witness_credentials_is_a_denied_attempt_on_the_citizen(
    officer, nurse, nurse2, cabinet, bag, morphine
):
    """R9: a wrong witness password refuses the dose like any other refusal
    once the citizen is reached, audited on her record, and still counts as a
    failed login of the witness (throttling)."""
    lot = receive(officer, cabinet, morphine, "10", witness=nurse2.user)
    services.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=cabinet,
        destination=bag,
        quantity=Decimal("2"),
        unit="ampoule",
        witness=nurse2.user,
    )
    citizen = f.citizen(municipality_code="159")
    visit = visit_for(nurse, citizen)
    order = order_for(nurse, citizen, morphine, kind="written", visit=visit, dose_unit="ampoule")
    body = {
        "visit": visit.pk,
        "order": order.pk,
        "medicine": morphine.pk,
        "quantity": "1",
        "unit": "ampoule",
        "witness": {"username": nurse2.user.username, "password": "guess"},
    }
    client = f.client_for(nurse)
    wrong = client.post("/api/cabinet/administrations", body, format="json")
    assert wrong.status_code == 400, wrong.content
    assert wrong.json()["error"]["code"] == "witness.invalid_credentials"
    assert denied_audited(citizen, "witness.invalid_credentials")
    assert LoginAttempt.objects.filter(username=nurse2.user.username, succeeded=False).count() == 1
    assert not Movement.objects.filter(kind="administered").exists()
    assert "guess" not in str(wrong.content)

    body["witness"]["password"] = f.PASSWORD
    given = client.post("/api/cabinet/administrations", body, format="json")
    assert given.status_code == 201, given.content
    assert Movement.objects.get(kind="administered").witness == nurse2.user


def test_register_drawn_equals_administered_wasted_returned_after_a_mixed_sequence(
    officer, nurse, nurse2, cabinet, bag, bag2, morphine
):
    """The invariant holds at every step (with what the bags still hold) and,
    with the bags emptied, as the rule states it."""
    from core.models import Role as R

    officer_witness = f.staff(R.ACUTE_NURSE, officer.organisation)
    on_shift(officer_witness)
    organisation = cabinet.organisation
    lot_a = receive(officer, cabinet, morphine, "20", batch="M1", witness=officer_witness.user)
    lot_b = receive(officer, cabinet, morphine, "5", batch="M2", witness=officer_witness.user)
    citizen = f.citizen(municipality_code="159")
    visit = visit_for(nurse, citizen)
    # One ampoule at a time, every four hours for two days (R8).
    order = order_for(
        nurse,
        citizen,
        morphine,
        kind="written",
        visit=visit,
        dose=Decimal("1"),
        dose_unit="ampoule",
        frequency="every 4 hours",
        duration="2 days",
    )

    def check() -> None:
        _, totals = selectors.controlled_register(organisation=organisation, medicine=morphine)
        assert totals.balanced, totals

    w1, w2 = nurse2.user, nurse.user
    steps = [
        lambda: services.stock_transfer(
            actor=actor(nurse),
            lot=lot_a,
            source=cabinet,
            destination=bag,
            quantity=Decimal("6"),
            unit="ampoule",
            witness=w1,
        ),
        lambda: services.stock_transfer(
            actor=actor(nurse2),
            lot=lot_b,
            source=cabinet,
            destination=bag2,
            quantity=Decimal("3"),
            unit="ampoule",
            witness=w2,
        ),
        lambda: services.administration_give(
            actor=actor(nurse),
            visit_id=visit.pk,
            order_id=order.pk,
            medicine=morphine,
            quantity=Decimal("1"),
            unit="ampoule",
            witness=w1,
        ),
        lambda: services.administration_give(
            actor=actor(nurse),
            visit_id=visit.pk,
            order_id=order.pk,
            medicine=morphine,
            quantity=Decimal("0.5"),
            unit="ampoule",
            witness=w1,
            confirm_mismatch=True,  # half the ordered dose, confirmed (R8); the
            confirmed_dose=Decimal("0.5"),  # opened ampoule's rest is discarded with it
        ),
        lambda: services.stock_transfer(
            actor=actor(nurse2),
            lot=lot_b,
            source=bag2,
            destination=cabinet,
            quantity=Decimal("1"),
            unit="ampoule",
            witness=w2,
        ),
        lambda: services.stock_waste(
            actor=actor(nurse2),
            location=bag2,
            lot=lot_b,
            quantity=Decimal("1"),
            unit="ampoule",
            reason_code=WasteReason.DROPPED,
            witness=w2,
        ),
    ]
    for step in steps:
        step()
        check()
    # Empty the bags back into the cabinet: now drawn = administered + wasted + returned.
    services.stock_transfer(
        actor=actor(nurse),
        lot=lot_a,
        source=bag,
        destination=cabinet,
        quantity=Decimal("4"),
        unit="ampoule",
        witness=w1,
    )
    services.stock_transfer(
        actor=actor(nurse2),
        lot=lot_b,
        source=bag2,
        destination=cabinet,
        quantity=Decimal("1"),
        unit="ampoule",
        witness=w2,
    )
    entries, totals = selectors.controlled_register(organisation=organisation, medicine=morphine)
    assert totals.in_bags == 0
    assert totals.drawn == Decimal("9")
    assert (totals.administered, totals.wasted, totals.returned) == (
        Decimal("1.5"),
        Decimal("1.5"),
        Decimal("6"),
    )
    assert totals.drawn == totals.administered + totals.wasted + totals.returned
    assert all(e.witness_id is not None for e in entries)
