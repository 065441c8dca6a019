"""A count approved while a dose leaves the same bag, with real concurrent
transactions on PostgreSQL: both are done, or the approval is told the
stock moved (409 ``count.stock_moved``), and the ledger adds up. Never a
deadlock that PostgreSQL breaks by failing the officer's approval (a 500).

The approval used to lock the bag's own row with the count's. The dose
holds the bag's balance and then books its movement, whose foreign key to
the bag waits for that lock, while the approval waits for the balance.
A delivery of the same batch booked at that moment holds the lot a little
while, so the dose is surely between the two when the approval comes."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from core.errors import Conflict
from medicine_cabinet import services
from medicine_cabinet.models import Administration, Balance, Movement, StockCount
from tests import factories as f
from tests.lock_waits import in_thread, until, waiting_on_locks
from tests.medicine_cabinet.conftest import actor, in_bag, one_tablet_given, order_for, visit_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_count_approved_as_a_dose_leaves_the_bag_is_no_deadlock(
    officer, nurse, cabinet, bag, paracetamol
) -> None:
    lot = in_bag(officer, nurse, cabinet, bag, paracetamol, "2")
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    order = order_for(
        nurse, citizen, paracetamol, visit=visit, dose=Decimal("1"), dose_unit="tablet"
    )
    # One tablet counted where the ledger says two: a shortfall of one, recounted.
    count = services.count_start(actor=actor(nurse), location=bag)
    line = services.count_record(actor=actor(nurse), count=count, lot=lot, quantity=Decimal("1"))
    services.count_recount(
        actor=actor(nurse), line=line, quantity=Decimal("1"), reason_code="unknown"
    )
    services.count_submit(actor=actor(nurse), count=count)

    results: dict[str, Any] = {}
    delivering, delivered = threading.Event(), threading.Event()

    def delivery() -> Any:
        with transaction.atomic():  # the delivery's transaction, held open
            movement = services.stock_receive(
                actor=actor(officer),
                cabinet=cabinet,
                medicine=paracetamol,
                batch_number=lot.batch_number,
                expires_on=lot.expires_on,
                quantity=Decimal("5"),
                unit="tablet",
                supplier="Apoteket",
                delivery_reference="D-SAME-BATCH",
            )
            delivering.set()
            delivered.wait(timeout=20)
        return movement

    threads = [in_thread(delivery, results, "delivery")]
    try:
        assert delivering.wait(timeout=10)
        threads.append(
            in_thread(
                lambda: one_tablet_given(nurse, visit, order, paracetamol, lot),
                results,
                "dose",
            )
        )
        until(lambda: waiting_on_locks() >= 1)  # the dose holds the balance, waits for the lot
        threads.append(
            in_thread(
                lambda: services.count_approve(actor=actor(officer), count=count),
                results,
                "approval",
            )
        )
        until(lambda: waiting_on_locks() >= 2)  # the approval waits for the balance
    finally:
        delivered.set()
        for thread in threads:
            thread.join(timeout=30)

    assert isinstance(results["dose"], Administration), results
    approval = results["approval"]
    assert isinstance(approval, StockCount | Conflict), results
    if isinstance(approval, Conflict):
        assert approval.code == "count.stock_moved"
    # The ledger adds up to the balance, and the balance is never below nothing.
    balance = Balance.objects.get(location=bag, lot=lot)
    moved = Movement.objects.filter(location=bag, lot=lot)
    assert balance.quantity == sum(m.quantity for m in moved.filter(direction="in")) - sum(
        m.quantity for m in moved.filter(direction="out")
    )
    assert balance.quantity >= 0
