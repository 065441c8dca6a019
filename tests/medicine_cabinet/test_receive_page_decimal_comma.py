"""The officer's delivery form reads a quantity as she writes it in Danish:
``12,5`` mL is twelve and a half, as on the count sheet and the dose form;
the API keeps to exact decimals with a point."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from medicine_cabinet.models import Balance, Movement
from tests import factories as f

pytestmark = pytest.mark.django_db


def _delivery(cabinet, medicine, quantity: str) -> dict[str, object]:
    return {
        "cabinet": cabinet.pk,
        "medicine": medicine.pk,
        "batch_number": "L-77",
        "expires_on": (timezone.localdate() + dt.timedelta(days=200)).isoformat(),
        "quantity": quantity,
        "supplier": "Apoteket",
        "delivery_reference": "FS-1",
    }


def test_a_delivery_typed_with_a_decimal_comma_is_received(officer, cabinet, lactulose):
    client = Client()
    f.log_in(client, officer)

    answer = client.post("/cabinet/receive/", _delivery(cabinet, lactulose, "12,5"))

    assert answer.status_code == 302
    assert Balance.objects.get(location=cabinet).quantity == Decimal("12.5")
    assert Movement.objects.get(location=cabinet).quantity == Decimal("12.5")


def test_the_api_still_takes_only_a_decimal_point(officer, cabinet, lactulose):
    body = {**_delivery(cabinet, lactulose, "12,5"), "unit": "mL"}
    answer = f.client_for(officer).post("/api/cabinet/receipts", body, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "quantity.invalid"
    assert not Movement.objects.exists()
