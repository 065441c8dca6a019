"""Counts: count, recount where it differs, officer's approval; variance against
the live balance while stock moves; discrepancies flagged."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import Conflict, Forbidden, InvalidInput, PreconditionFailed
from medicine_cabinet import services
from medicine_cabinet.models import (
    Balance,
    CountReason,
    Movement,
    Notification,
    StockCount,
)
from tests import factories as f
from tests.medicine_cabinet.conftest import actor, receive

pytestmark = pytest.mark.django_db


def test_a_discrepancy_is_recounted_flagged_and_booked_on_approval_while_stock_moves(
    officer, nurse, cabinet, bag, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "50", batch="C1")
    other = receive(officer, cabinet, paracetamol, "10", batch="C2")
    count = services.count_start(actor=actor(nurse), location=cabinet)
    line = services.count_record(actor=actor(nurse), count=count, lot=lot, quantity=Decimal("48"))
    services.count_record(actor=actor(nurse), count=count, lot=other, quantity=Decimal("10"))
    assert line.first_variance == -2 and line.needs_recount
    with pytest.raises(PreconditionFailed) as early:
        services.count_submit(actor=actor(nurse), count=count)
    assert early.value.code == "count.recount_needed"
    # Stock moves during the count: a nurse draws 5.
    services.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=cabinet,
        destination=bag,
        quantity=Decimal("5"),
        unit="tablet",
    )
    with pytest.raises(InvalidInput) as no_reason:
        services.count_recount(actor=actor(nurse), line=line, quantity=Decimal("43"))
    assert no_reason.value.code == "count.reason_required"
    line = services.count_recount(
        actor=actor(nurse),
        line=line,
        quantity=Decimal("43"),
        reason_code=CountReason.BREAKAGE,
        note="Two broken in the drawer",
    )
    assert line.balance_at_recount == 45 and line.variance == -2
    submitted = services.count_submit(actor=actor(nurse), count=count)
    assert submitted.has_discrepancy
    assert Notification.objects.filter(kind="discrepancy", stock_count=count).exists()
    with pytest.raises(Forbidden):
        services.count_approve(actor=actor(nurse), count=count)
    # Stock moves again before approval; only the variance is booked.
    services.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=bag,
        destination=cabinet,
        quantity=Decimal("1"),
        unit="tablet",
    )
    approved = services.count_approve(actor=actor(officer), count=count)
    assert approved.status == StockCount.Status.APPROVED
    adjustment = Movement.objects.get(kind=Movement.Kind.COUNT_ADJUSTMENT)
    assert (adjustment.direction, adjustment.quantity) == ("out", Decimal("2"))
    assert adjustment.reason_code == "breakage" and adjustment.witness == nurse.user
    assert Balance.objects.get(location=cabinet, lot=lot).quantity == Decimal("44")
    assert Balance.objects.get(location=cabinet, lot=other).quantity == Decimal("10")
    with pytest.raises(Conflict):
        services.count_approve(actor=actor(officer), count=count)


def test_a_matching_count_needs_no_recount_and_books_nothing(officer, cabinet, paracetamol):
    lot = receive(officer, cabinet, paracetamol, "7")
    count = services.count_start(actor=actor(officer), location=cabinet)
    services.count_record(actor=actor(officer), count=count, lot=lot, quantity=Decimal("7"))
    submitted = services.count_submit(actor=actor(officer), count=count)
    assert not submitted.has_discrepancy
    services.count_approve(actor=actor(officer), count=count)
    assert not Movement.objects.filter(kind=Movement.Kind.COUNT_ADJUSTMENT).exists()
    assert not Notification.objects.filter(kind="discrepancy").exists()


def test_a_count_must_cover_every_lot_held_and_only_one_runs_per_location(
    officer, cabinet, paracetamol
):
    receive(officer, cabinet, paracetamol, "7", batch="A")
    receive(officer, cabinet, paracetamol, "3", batch="B")
    count = services.count_start(actor=actor(officer), location=cabinet)
    with pytest.raises(Conflict):
        services.count_start(actor=actor(officer), location=cabinet)
    with pytest.raises(PreconditionFailed) as caught:
        services.count_submit(actor=actor(officer), count=count)
    assert caught.value.code == "count.incomplete"


def test_a_surplus_of_a_dependence_forming_medicine_counted_by_the_officer_needs_a_witness(
    officer, nurse, cabinet, morphine
):
    lot = receive(officer, cabinet, morphine, "5", witness=nurse.user)
    count = services.count_start(actor=actor(officer), location=cabinet)
    line = services.count_record(actor=actor(officer), count=count, lot=lot, quantity=Decimal("6"))
    services.count_recount(
        actor=actor(officer),
        line=line,
        quantity=Decimal("6"),
        reason_code=CountReason.COUNTING_ERROR,
    )
    services.count_submit(actor=actor(officer), count=count)
    with pytest.raises(InvalidInput) as caught:
        services.count_approve(actor=actor(officer), count=count)
    assert caught.value.code == "witness.required"
    assert StockCount.objects.get(pk=count.pk).status == StockCount.Status.SUBMITTED
    services.count_approve(actor=actor(officer), count=count, witness=nurse.user)
    assert Balance.objects.get(location=cabinet, lot=lot).quantity == 6


def test_the_count_flow_over_the_api(officer, nurse, cabinet, paracetamol):
    lot = receive(officer, cabinet, paracetamol, "20")
    client = f.client_for(officer)
    started = client.post("/api/cabinet/counts", {"location": cabinet.pk}, format="json")
    assert started.status_code == 201
    count_id = started.json()["id"]
    line = client.post(
        f"/api/cabinet/counts/{count_id}/lines", {"lot": lot.pk, "quantity": "19"}, format="json"
    )
    assert line.status_code == 201 and line.json()["needs_recount"] is True
    bad = client.post(
        f"/api/cabinet/counts/{count_id}/lines", {"lot": lot.pk, "quantity": "-1"}, format="json"
    )
    assert bad.status_code == 400
    recount = client.post(
        f"/api/cabinet/counts/{count_id}/lines/{line.json()['id']}/recount",
        {"quantity": "19", "reason_code": "unrecorded_waste"},
        format="json",
    )
    assert recount.status_code == 200
    assert client.post(f"/api/cabinet/counts/{count_id}/submit").json()["has_discrepancy"]
    notes = client.get("/api/cabinet/notifications").json()["notifications"]
    assert [n["kind"] for n in notes] == ["discrepancy"]
    refused = f.client_for(nurse).post(f"/api/cabinet/counts/{count_id}/approve", {}, format="json")
    assert refused.status_code == 403
    approved = client.post(f"/api/cabinet/counts/{count_id}/approve", {}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert Balance.objects.get(lot=lot, location=cabinet).quantity == 19


def test_a_nurse_refused_counting_a_colleagues_bag_is_told_she_may_count_only_her_own(nurse, bag2):
    answer = f.client_for(nurse).post("/api/cabinet/counts", {"location": bag2.pk}, format="json")
    assert answer.status_code == 403
    error = answer.json()["error"]
    assert error["code"] == "bag.not_yours"
    assert error["message"] == "Du må kun tælle din egen taske op."
    assert not StockCount.objects.exists()
