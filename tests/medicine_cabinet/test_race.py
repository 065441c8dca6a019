"""Racing for the last dose, with real concurrent transactions on PostgreSQL:
one nurse gets it, the other a clear error, and stock never goes negative."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from core.errors import Conflict, PlatformError, PreconditionFailed
from medicine_cabinet import services
from medicine_cabinet.models import Balance, Movement
from tests.medicine_cabinet.conftest import actor, one_tablet_given, receive

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(calls: list, barrier: threading.Barrier) -> list[object]:
    results: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = calls[i]()
        except Conflict as exc:
            results[i] = exc
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_two_nurses_drawing_the_last_dose_one_wins_one_is_told(
    officer, nurse, nurse2, cabinet, bag, bag2, paracetamol
):
    for round_no in range(5):
        lot = receive(officer, cabinet, paracetamol, "1", batch=f"LAST{round_no}")
        calls = [
            lambda who=who, where=where, lot=lot: services.stock_transfer(
                actor=actor(who),
                lot=lot,
                source=cabinet,
                destination=where,
                quantity=Decimal("1"),
                unit="tablet",
            )
            for who, where in ((nurse, bag), (nurse2, bag2))
        ]
        results = _race(calls, threading.Barrier(2))
        errors = [r for r in results if isinstance(r, Conflict)]
        assert len(errors) == 1, results
        assert errors[0].code == "stock.insufficient"
        assert Balance.objects.get(location=cabinet, lot=lot).quantity == 0
        assert sum(b.quantity for b in Balance.objects.filter(lot=lot)) == 1
        assert Movement.objects.filter(lot=lot, kind="to_bag").count() == 2  # one out, one in


def test_many_concurrent_draws_leave_an_exact_balance(
    officer, nurse, nurse2, cabinet, bag, bag2, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "25")
    per_thread = 8
    people = [(nurse, bag), (nurse2, bag2)] * 2

    def drawer(who, where):
        def draw() -> int:
            got = 0
            for _ in range(per_thread):
                try:
                    services.stock_transfer(
                        actor=actor(who),
                        lot=lot,
                        source=cabinet,
                        destination=where,
                        quantity=Decimal("1"),
                        unit="tablet",
                    )
                    got += 1
                except Conflict:
                    pass
            return got

        return draw

    results = _race([drawer(w, b) for w, b in people], threading.Barrier(len(people)))
    assert sum(results) == 25  # 32 attempts for 25 units
    assert Balance.objects.get(location=cabinet, lot=lot).quantity == 0
    bags = Balance.objects.filter(lot=lot, location__kind="bag")
    assert sum(b.quantity for b in bags) == 25
    assert not Movement.objects.filter(balance_after__lt=0).exists()


def test_the_database_refuses_to_rewrite_the_ledger(officer, cabinet, paracetamol):
    """Append-only below the ORM too: raw UPDATE and DELETE are refused."""
    from django.db import DatabaseError, transaction

    receive(officer, cabinet, paracetamol, "3")
    for statement in (
        "UPDATE medicine_cabinet_movement SET quantity = 1",
        "DELETE FROM medicine_cabinet_movement",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert Movement.objects.get().quantity == 3


def test_two_doses_racing_against_one_order_give_only_what_it_allows(
    officer, nurse, cabinet, bag, paracetamol
):
    """R8: the order is a limit counted under its row lock. Two doses against a
    single-dose order, from two lots (so no balance row is shared), at the
    same moment: one is given, the other told what remains."""
    from acute.clinical.models import MedicationOrder
    from medicine_cabinet.models import Administration
    from tests import factories as f
    from tests.medicine_cabinet.conftest import order_for, visit_for

    for round_no in range(3):
        lots = []
        for side in ("A", "B"):
            lot = receive(officer, cabinet, paracetamol, "1", batch=f"RACE{round_no}{side}")
            services.stock_transfer(
                actor=actor(nurse),
                lot=lot,
                source=cabinet,
                destination=bag,
                quantity=Decimal("1"),
                unit="tablet",
            )
            lots.append(lot)
        citizen = f.citizen()
        visit = visit_for(nurse, citizen)
        order = order_for(
            nurse, citizen, paracetamol, visit=visit, dose=Decimal("1"), dose_unit="tablet"
        )
        assert MedicationOrder.objects.get(pk=order.pk).total_quantity == 1
        calls = [
            lambda lot=lot, visit=visit, order=order: one_tablet_given(
                nurse, visit, order, paracetamol, lot
            )
            for lot in lots
        ]
        results = _race(calls, threading.Barrier(2))
        errors = [r for r in results if isinstance(r, Conflict)]
        assert len(errors) == 1, results
        assert errors[0].code == "order.limit_exceeded"
        assert errors[0].extra["remaining"] == "0"
        assert Administration.objects.filter(order=order).count() == 1
        assert sum(b.quantity for b in Balance.objects.filter(location=bag, lot__in=lots)) == 1


def test_a_receipt_racing_a_recall_is_refused_once_the_recall_commits(
    officer, cabinet, paracetamol
):
    """A delivery of a batch booked while its recall is being committed: the
    receipt waits for the recall's lock on the lot and is then refused, so
    no stock of the recalled lot arrives unseen by the recall's list."""
    lot = receive(officer, cabinet, paracetamol, "10", batch="RACE")
    recalling, release = threading.Event(), threading.Event()
    held: list[Balance] = []
    received: list[object] = []

    def recall() -> None:
        try:
            with transaction.atomic():  # the recall's transaction, held open
                held.extend(services.lot_recall(actor=actor(officer), lot=lot, reason="Producent"))
                recalling.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    def delivery() -> None:
        try:
            received.append(
                services.stock_receive(
                    actor=actor(officer),
                    cabinet=cabinet,
                    medicine=paracetamol,
                    batch_number="RACE",
                    expires_on=lot.expires_on,
                    quantity=Decimal("5"),
                    unit="tablet",
                    supplier="Apoteket",
                    delivery_reference="D-RACE-2",
                )
            )
        except PlatformError as exc:
            received.append(exc)
        finally:
            connection.close()

    recaller = threading.Thread(target=recall)
    recaller.start()
    assert recalling.wait(timeout=10)
    receiver = threading.Thread(target=delivery)
    receiver.start()
    receiver.join(timeout=2)
    release.set()
    recaller.join(timeout=30)
    receiver.join(timeout=30)

    assert len(received) == 1 and isinstance(received[0], PreconditionFailed), received
    assert received[0].code == "lot.recalled"
    assert [b.quantity for b in held] == [Decimal("10")]
    assert Balance.objects.get(location=cabinet, lot=lot).quantity == 10
    assert not Movement.objects.filter(delivery_reference="D-RACE-2").exists()
