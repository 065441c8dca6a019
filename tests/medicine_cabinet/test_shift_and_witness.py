"""R8: stock goes into a nurse's bag only on her shift, and a §4 witness is on
duty — the medicine officer, or an acute nurse on her shift or its handover."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from consent.audit.models import AuditEntry
from core.errors import InvalidInput
from core.models import Membership, Organisation, Role
from medicine_cabinet import services
from medicine_cabinet.models import Movement
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


def _transfer(client, lot, source, destination, quantity="2", witness=None):
    body = {
        "lot": lot.pk,
        "from_location": source.pk,
        "to_location": destination.pk,
        "quantity": quantity,
        "unit": lot.medicine.unit,
    }
    if witness is not None:
        body["witness"] = {"username": witness.user.username, "password": f.PASSWORD}
    return client.post("/api/cabinet/transfers", body, format="json")


def _off_shift_nurse(acute) -> Membership:
    """An acute nurse whose shift ended yesterday."""
    membership = f.staff(Role.ACUTE_NURSE, acute)
    on_shift(membership, starts_in=-dt.timedelta(hours=30))
    return membership


def test_r8_a_nurse_off_shift_cannot_fill_her_bag_and_the_attempt_is_audited(
    acute, officer, cabinet, paracetamol
):
    off = _off_shift_nurse(acute)
    bag = services.bag_for_nurse(organisation=acute, nurse=off.user)
    lot = receive(officer, cabinet, paracetamol, "20")

    answer = _transfer(f.client_for(off), lot, cabinet, bag)

    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "bag.off_shift"
    assert not Movement.objects.filter(location=bag).exists()
    assert Movement.objects.filter(location=cabinet).count() == 1  # the receipt only
    assert AuditEntry.objects.filter(
        actor_user_id=off.user.pk,
        outcome="denied",
        reason_code="bag.off_shift",
        resource_type="StockMovement",
    ).exists()


def test_r8_a_nurse_packs_her_bag_half_an_hour_before_her_shift_and_returns_it_after(
    acute, officer, cabinet, paracetamol
):
    early = f.staff(Role.ACUTE_NURSE, acute)
    shift = on_shift(early, starts_in=dt.timedelta(minutes=20))
    bag = services.bag_for_nurse(organisation=acute, nurse=early.user)
    lot = receive(officer, cabinet, paracetamol, "20")

    assert _transfer(f.client_for(early), lot, cabinet, bag).status_code == 201

    # Her shift is over: the bag's stock still goes back to the cabinet.
    shift.starts_at -= dt.timedelta(hours=10)
    shift.ends_at = shift.starts_at + dt.timedelta(hours=8)
    shift.save(update_fields=["starts_at", "ends_at"])
    assert _transfer(f.client_for(early), lot, bag, cabinet).status_code == 201
    # … but no more leaves the cabinet for her.
    assert _transfer(f.client_for(early), lot, cabinet, bag).json()["error"]["code"] == (
        "bag.off_shift"
    )


def test_r8_a_shift_at_another_acute_function_does_not_count(acute, officer, cabinet, paracetamol):
    nurse = f.staff(Role.ACUTE_NURSE, acute)
    # Her shift is at another acute function.
    on_shift(
        Membership(user=nurse.user, organisation=f.organisation(Organisation.Kind.ACUTE_FUNCTION))
    )
    bag = services.bag_for_nurse(organisation=acute, nurse=nurse.user)
    lot = receive(officer, cabinet, paracetamol, "20")

    assert _transfer(f.client_for(nurse), lot, cabinet, bag).status_code == 403


def test_r8_a_section_4_witness_off_shift_is_refused_and_the_officer_may_witness(
    acute, officer, nurse, cabinet, bag, morphine, nurse2
):
    lot = receive(officer, cabinet, morphine, "10", witness=nurse2.user)
    off = _off_shift_nurse(acute)
    client = f.client_for(nurse)

    refused = _transfer(client, lot, cabinet, bag, witness=off)

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "witness.not_on_duty"
    assert not Movement.objects.filter(location=bag).exists()
    assert AuditEntry.objects.filter(
        actor_user_id=nurse.user.pk, outcome="denied", reason_code="witness.not_on_duty"
    ).exists()
    # The medicine officer is not held to a shift; the nurse coming off hers
    # within the hour signs the handover.
    assert _transfer(client, lot, cabinet, bag, witness=officer).status_code == 201
    handover = f.staff(Role.ACUTE_NURSE, acute)
    on_shift(handover, starts_in=-dt.timedelta(hours=8, minutes=30))
    assert _transfer(client, lot, cabinet, bag, witness=handover).status_code == 201


def test_r8_a_section_4_receipt_witnessed_by_a_nurse_off_duty_is_refused(
    acute, officer, cabinet, morphine
):
    off = _off_shift_nurse(acute)

    with pytest.raises(InvalidInput) as caught:
        receive(officer, cabinet, morphine, "10", witness=off.user)

    assert caught.value.code == "witness.not_on_duty"
    assert not Movement.objects.exists()


def test_r8_a_section_4_dose_witnessed_by_a_nurse_off_duty_is_a_denied_attempt(
    acute, officer, nurse, nurse2, cabinet, bag, morphine
):
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
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    order = order_for(
        nurse, citizen, morphine, kind="written", dose=Decimal("1"), dose_unit="ampoule"
    )
    off = _off_shift_nurse(acute)

    with pytest.raises(InvalidInput) as caught:
        services.administration_give(
            actor=actor(nurse),
            visit_id=visit.pk,
            order_id=order.pk,
            medicine=morphine,
            quantity=Decimal("1"),
            unit="ampoule",
            witness=off.user,
        )

    assert caught.value.code == "witness.not_on_duty"
    assert denied_audited(citizen, "witness.not_on_duty")
    assert not Movement.objects.filter(kind=Movement.Kind.ADMINISTERED).exists()
