"""The ledger (R8): every movement an entry with the balance before and after,
balances kept in the same transaction, bad input refused with nothing written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from consent.audit.models import AuditEntry
from core.errors import Conflict, Forbidden, InvalidInput, PreconditionFailed
from medicine_cabinet import selectors, services
from medicine_cabinet.models import Balance, Movement, WasteReason
from tests import factories as f
from tests.medicine_cabinet.conftest import actor, receive, to_bag

pytestmark = pytest.mark.django_db


def _balance(location, lot) -> Decimal:
    return Balance.objects.get(location=location, lot=lot).quantity


def test_receive_transfer_waste_keep_ledger_and_balance_in_step(
    officer, nurse, cabinet, bag, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "100")
    out, into = services.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=cabinet,
        destination=bag,
        quantity=Decimal("12"),
        unit="tablet",
    )
    services.stock_waste(
        actor=actor(nurse),
        location=bag,
        lot=lot,
        quantity=Decimal("1"),
        unit="tablet",
        reason_code=WasteReason.DROPPED,
    )
    services.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=bag,
        destination=cabinet,
        quantity=Decimal("1"),
        unit="tablet",
    )
    assert _balance(cabinet, lot) == Decimal("89")
    assert _balance(bag, lot) == Decimal("10")
    assert out.transfer_id == into.transfer_id
    # Every entry's before/after chains, per location, and the last one is the balance.
    for location in (cabinet, bag):
        entries = list(Movement.objects.filter(location=location, lot=lot).order_by("pk"))
        running = Decimal("0")
        for entry in entries:
            assert entry.balance_before == running
            running = entry.balance_after
        assert running == _balance(location, lot)
    received = Movement.objects.get(kind=Movement.Kind.RECEIVED)
    assert (received.supplier, received.delivery_reference) == ("Apoteket", "D-B1")


def test_every_movement_is_audited_without_a_citizen(officer, nurse, cabinet, bag, paracetamol):
    before = AuditEntry.objects.count()
    lot = receive(officer, cabinet, paracetamol, "10")
    services.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=cabinet,
        destination=bag,
        quantity=Decimal("2"),
        unit="tablet",
    )
    entries = list(AuditEntry.objects.order_by("pk")[before:])
    assert [e.detail["kind"] for e in entries] == ["received", "to_bag"]
    assert all(e.citizen_id is None and e.resource_type == "StockMovement" for e in entries)
    assert entries[1].actor_user_id == nurse.user.pk
    assert len(entries[1].detail["movements"]) == 2


@pytest.mark.parametrize("raw", ["0", "-1", "-0.001", "abc", "NaN", "Infinity", 1.5, "0.0001"])
def test_zero_negative_inexact_or_non_numbers_are_refused(raw):
    with pytest.raises(InvalidInput) as caught:
        services.quantity_parse(raw)
    assert caught.value.code in {
        "quantity.not_positive",
        "quantity.invalid",
        "quantity.too_many_decimals",
    }


def test_wrong_unit_is_refused_and_nothing_written(officer, cabinet, paracetamol):
    with pytest.raises(InvalidInput) as caught:
        services.stock_receive(
            actor=actor(officer),
            cabinet=cabinet,
            medicine=paracetamol,
            batch_number="X",
            expires_on=timezone.localdate() + dt.timedelta(days=100),
            quantity=Decimal("5"),
            unit="mg",
            supplier="Apoteket",
            delivery_reference="D1",
        )
    assert caught.value.code == "unit.mismatch"
    assert not Movement.objects.exists() and not Balance.objects.exists()


def test_drawing_more_than_the_balance_is_a_conflict_and_writes_nothing(
    officer, nurse, cabinet, bag, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "3")
    entries = Movement.objects.count()
    audits = AuditEntry.objects.count()
    with pytest.raises(Conflict) as caught:
        to_bag(nurse, lot, cabinet, bag, "4")
    assert caught.value.code == "stock.insufficient"
    assert Movement.objects.count() == entries and AuditEntry.objects.count() == audits
    assert _balance(cabinet, lot) == 3


def test_a_nurse_moves_only_her_own_bag(officer, nurse, nurse2, cabinet, bag, bag2, paracetamol):
    lot = receive(officer, cabinet, paracetamol, "10")
    with pytest.raises(Forbidden) as caught:
        services.stock_transfer(
            actor=actor(nurse),
            lot=lot,
            source=cabinet,
            destination=bag2,
            quantity=Decimal("1"),
            unit="tablet",
        )
    assert caught.value.code == "bag.not_yours"
    services.stock_transfer(
        actor=actor(nurse2),
        lot=lot,
        source=cabinet,
        destination=bag2,
        quantity=Decimal("1"),
        unit="tablet",
    )
    with pytest.raises(Forbidden):
        services.stock_waste(
            actor=actor(nurse),
            location=bag2,
            lot=lot,
            quantity=Decimal("1"),
            unit="tablet",
            reason_code=WasteReason.DROPPED,
        )
    with pytest.raises(InvalidInput) as route:
        services.stock_transfer(
            actor=actor(nurse),
            lot=lot,
            source=bag2,
            destination=bag,
            quantity=Decimal("1"),
            unit="tablet",
        )
    assert route.value.code == "transfer.route_invalid"


def test_expired_and_recalled_lots_never_go_out_but_may_come_back(
    officer, nurse, cabinet, bag, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "10", batch="OLD", expires_in_days=1)
    services.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=cabinet,
        destination=bag,
        quantity=Decimal("2"),
        unit="tablet",
    )
    lot.expires_on = timezone.localdate() - dt.timedelta(days=1)
    lot.save(update_fields=["expires_on"])
    with pytest.raises(PreconditionFailed) as caught:
        services.stock_transfer(
            actor=actor(nurse),
            lot=lot,
            source=cabinet,
            destination=bag,
            quantity=Decimal("1"),
            unit="tablet",
        )
    assert caught.value.code == "lot.expired"
    services.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=bag,
        destination=cabinet,
        quantity=Decimal("2"),
        unit="tablet",
    )
    removed = services.stock_remove_expired(actor=actor(officer), location=cabinet, lot=lot)
    assert removed.quantity == 10 and _balance(cabinet, lot) == 0


def test_recall_blocks_a_lot_everywhere_and_lists_where_it_is(
    officer, nurse, cabinet, bag, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "10", batch="R1")
    other = receive(officer, cabinet, paracetamol, "10", batch="R2")
    services.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=cabinet,
        destination=bag,
        quantity=Decimal("3"),
        unit="tablet",
    )
    held = services.lot_recall(actor=actor(officer), lot=lot, reason="Supplier recall 2026-17")
    assert {(b.location_id, b.quantity) for b in held} == {(cabinet.pk, 7), (bag.pk, 3)}
    with pytest.raises(PreconditionFailed) as caught:
        services.stock_transfer(
            actor=actor(nurse),
            lot=lot,
            source=cabinet,
            destination=bag,
            quantity=Decimal("1"),
            unit="tablet",
        )
    assert caught.value.code == "lot.recalled"
    with pytest.raises(PreconditionFailed):
        services.stock_receive(
            actor=actor(officer),
            cabinet=cabinet,
            medicine=paracetamol,
            batch_number="R1",
            expires_on=lot.expires_on,
            quantity=Decimal("1"),
            unit="tablet",
            supplier="A",
            delivery_reference="D",
        )
    with pytest.raises(Conflict):
        services.lot_recall(actor=actor(officer), lot=lot, reason="again")
    # The other lot is untouched; the recalled one leaves only as a recall removal.
    assert selectors.lot_suggest(bag=bag, medicine=paracetamol) is None
    services.stock_transfer(
        actor=actor(nurse),
        lot=other,
        source=cabinet,
        destination=bag,
        quantity=Decimal("1"),
        unit="tablet",
    )
    assert selectors.lot_suggest(bag=bag, medicine=paracetamol) == other
    services.stock_remove_recalled(actor=actor(nurse), location=bag, lot=lot)
    services.stock_remove_recalled(actor=actor(officer), location=cabinet, lot=lot)
    assert not selectors.lot_whereabouts(organisation=cabinet.organisation, lot=lot).exists()


def test_the_database_refuses_a_negative_balance_and_a_zero_movement(officer, cabinet, paracetamol):
    lot = receive(officer, cabinet, paracetamol, "1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Balance.objects.filter(lot=lot).update(quantity=Decimal("-1"))
    base = Movement.objects.get(lot=lot)
    for bad in (
        {"quantity": Decimal("0"), "balance_after": Decimal("1")},
        {"quantity": Decimal("1"), "balance_after": Decimal("5")},  # arithmetic broken
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Movement.objects.create(
                kind=Movement.Kind.WASTED,
                direction="out",
                location=cabinet,
                lot=lot,
                balance_before=Decimal("1"),
                by=base.by,
                reason_code="dropped",
                **bad,
            )


def test_ledger_entries_are_never_changed(officer, cabinet, paracetamol):
    receive(officer, cabinet, paracetamol, "1")
    entry = Movement.objects.get()
    entry.note = "changed"
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()


def test_a_known_batch_with_another_expiry_is_refused(officer, cabinet, paracetamol):
    receive(officer, cabinet, paracetamol, "1", batch="B9", expires_in_days=100)
    with pytest.raises(InvalidInput) as caught:
        receive(officer, cabinet, paracetamol, "1", batch="B9", expires_in_days=200)
    assert caught.value.code == "lot.expiry_mismatch"


def test_staff_of_another_organisation_cannot_move_the_acute_functions_stock(
    cabinet, paracetamol, officer
):
    lot = receive(officer, cabinet, paracetamol, "1")
    outsider = f.staff("medicine_officer", f.municipality("159"))
    with pytest.raises(Forbidden):
        services.stock_waste(
            actor=actor(outsider),
            location=cabinet,
            lot=lot,
            quantity=Decimal("1"),
            unit="tablet",
            reason_code="dropped",
        )


def test_a_transfer_costs_a_fixed_small_number_of_queries(
    officer, nurse, cabinet, bag, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "10")
    services.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=cabinet,
        destination=bag,
        quantity=Decimal("1"),
        unit="tablet",
    )
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        services.stock_transfer(
            actor=actor(nurse),
            lot=lot,
            source=cabinet,
            destination=bag,
            quantity=Decimal("1"),
            unit="tablet",
        )
    # Her shift (a bag is filled only on it), savepoint, insert-or-ignore of
    # the balance rows, two locks, two entries, two balance updates, the audit
    # entry (with the audit log's own writes).
    assert len(queries.captured_queries) <= 15, [q["sql"][:80] for q in queries.captured_queries]


def test_the_unit_of_a_medicine_with_lots_does_not_change(officer, cabinet, paracetamol):
    """60 tablets in the ledger may not become 60 mg: the officer's edit of the
    formulary line is refused once stock of it is registered; before that it
    may still change."""
    body = {
        "atc_code": paracetamol.atc_code,
        "name": paracetamol.name,
        "strength": paracetamol.strength,
        "form": paracetamol.form,
        "unit": "mg",
        "package_size": "20",
        "dispensing": paracetamol.dispensing,
        "dependence_forming": False,
        "minimum_stock": "40",
    }
    client = f.client_for(officer)
    receive(officer, cabinet, paracetamol, "60")
    response = client.post("/api/cabinet/medicines", body, format="json")
    assert response.status_code == 409, response.content
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (
        "medicine.unit_in_use",
        "unit",
    )
    paracetamol.refresh_from_db()
    assert paracetamol.unit == "tablet"
    renamed = client.post(
        "/api/cabinet/medicines", {**body, "unit": "tablet", "name": "Pamol"}, format="json"
    )
    assert renamed.status_code == 201, renamed.content
    fresh = {**body, "atc_code": "N02BE01", "strength": "1 g", "unit": "tablet"}
    assert client.post("/api/cabinet/medicines", fresh, format="json").status_code == 201
    assert (
        client.post(
            "/api/cabinet/medicines", {**fresh, "unit": "sachet"}, format="json"
        ).status_code
        == 201
    )
