"""A delivery, a nurse packing her bag and a dose take the cabinet's row
locks in one order, read from the SQL they send (``core.locks``; ADR 0038):
the balances they book, then their lot, which a recall holds until it
commits. Not the lot first: a count's approval locks the balances it
corrects, and its movements' foreign keys lock their lot (a key-share lock,
checked when it commits); a movement holding the lot while it waits for one
of those balances would wait for an approval that waits for it."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Citizen
from medicine_cabinet.models import Balance, Lot
from tests import factories as f
from tests.medicine_cabinet.conftest import (
    one_tablet_given,
    order_for,
    receive,
    to_bag,
    visit_for,
)

# The SQL a service sends is read: SQLite takes no row locks (FOR UPDATE).
pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

_FROM = re.compile(r'\bFROM "(\w+)"')


def _locked(sent: CaptureQueriesContext) -> list[str]:
    """The tables the locking statements select from, in the order sent."""
    return [
        _FROM.search(q["sql"]).group(1)
        for q in sent.captured_queries
        if re.search(r"\bFOR (NO KEY )?UPDATE\b", q["sql"])
    ]


def _balances_then_lot(tables: list[str]) -> None:
    balance, lot = Balance._meta.db_table, Lot._meta.db_table
    assert balance in tables and lot in tables, tables
    assert tables.index(balance) < tables.index(lot), tables
    assert balance not in tables[tables.index(lot) :], tables


def test_delivery_packing_and_dose_lock_the_balances_then_the_lot(
    officer, nurse, cabinet, bag, paracetamol
) -> None:
    with CaptureQueriesContext(connection) as delivered:
        lot = receive(officer, cabinet, paracetamol, "10")
    _balances_then_lot(_locked(delivered))

    with CaptureQueriesContext(connection) as packed:
        to_bag(nurse, lot, cabinet, bag, "2")
    _balances_then_lot(_locked(packed))

    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    order = order_for(
        nurse, citizen, paracetamol, visit=visit, dose=Decimal("1"), dose_unit="tablet"
    )
    with CaptureQueriesContext(connection) as given:
        one_tablet_given(nurse, visit, order, paracetamol, lot)
    tables = _locked(given)
    assert tables[0] == Citizen._meta.db_table, tables
    _balances_then_lot(tables)
