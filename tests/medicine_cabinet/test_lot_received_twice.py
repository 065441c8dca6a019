"""A batch received twice through /api/ is one lot (the unique rule
``lot_unique_batch`` is kept by the receipt, never broken by it): a second
delivery books into the lot, and the same delivery note's line sent again
is 409 with nothing booked twice."""

from __future__ import annotations

import pytest

from medicine_cabinet.models import Balance, Lot, Movement
from tests import factories as f
from tests.medicine_cabinet.conftest import receipt_body

pytestmark = pytest.mark.django_db


def test_the_same_batch_twice_is_one_lot_and_the_same_line_twice_is_a_conflict(
    officer, cabinet, paracetamol
):
    client = f.client_for(officer)
    first = client.post(
        "/api/cabinet/receipts", receipt_body(cabinet, paracetamol, "LOT-7", "D-1"), format="json"
    )
    second = client.post(
        "/api/cabinet/receipts", receipt_body(cabinet, paracetamol, "lot-7", "D-2"), format="json"
    )
    assert (first.status_code, second.status_code) == (201, 201), second.content

    again = client.post(
        "/api/cabinet/receipts",
        receipt_body(cabinet, paracetamol, "LOT-7", "D-2"),
        format="json",
        HTTP_ACCEPT_LANGUAGE="da",
    )

    assert again.status_code == 409, again.content
    error = again.json()["error"]
    assert (error["code"], error["field"]) == ("receive.already_received", "delivery_reference")
    assert "LOT-7" not in error["message"]
    lot = Lot.objects.get(medicine=paracetamol)
    assert Balance.objects.get(location=cabinet, lot=lot).quantity == 20
    assert Movement.objects.filter(kind=Movement.Kind.RECEIVED, lot=lot).count() == 2
