"""The officer's delivery form reads a quantity as she writes it in Danish:
``12,5`` mL is twelve and a half, as on the count sheet and the dose form;
``1.000`` — a thousand to her, one to a keyboard with a decimal point — is
refused on its field and never booked as one, and so is an exponent
(``1e3``); the API keeps to exact decimals with a point."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from medicine_cabinet import services
from medicine_cabinet.models import Balance, CountLine, Movement
from tests import factories as f
from tests.medicine_cabinet.conftest import actor

pytestmark = pytest.mark.django_db

GROUPED = (
    "Skriv tallet uden punktum som tusindtalsskilletegn: 1000,"
    " eller med komma som decimaltegn: 1,5."
)
NOT_A_NUMBER = "Skriv tallet kun med cifre og med komma som decimaltegn (fx 38,5)."


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


def _refused_on(response, field: str, sentence: str) -> None:
    html = response.content.decode()
    assert response.status_code == 400, html[:2000]
    assert f'data-field="{field}"' in html
    assert sentence in html


@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        ("1.000", GROUPED),
        ("12.500", GROUPED),
        ("1.000.000", GROUPED),
        ("1.000,5", GROUPED),
        ("1e3", NOT_A_NUMBER),
        ("1E-2", NOT_A_NUMBER),
        ("NaN", NOT_A_NUMBER),
        ("Infinity", NOT_A_NUMBER),
        ("1 000", NOT_A_NUMBER),
        ("10-", NOT_A_NUMBER),
    ],
)
def test_a_delivery_typed_ambiguously_or_not_as_a_number_is_refused_and_not_booked(
    officer, cabinet, lactulose, typed, sentence
):
    client = Client()
    f.log_in(client, officer)

    answer = client.post("/cabinet/receive/", _delivery(cabinet, lactulose, typed))

    _refused_on(answer, "quantity", sentence)
    assert not Movement.objects.exists() and not Balance.objects.exists()


@pytest.mark.parametrize("typed", ["0.25", "12.5", "1000", "1234.567"])
def test_a_delivery_with_a_decimal_point_that_cannot_be_thousands_is_received(
    officer, cabinet, lactulose, typed
):
    client = Client()
    f.log_in(client, officer)
    assert client.post("/cabinet/receive/", _delivery(cabinet, lactulose, typed)).status_code == 302
    assert Movement.objects.get(location=cabinet).quantity == Decimal(typed)


def test_the_api_reads_a_point_as_the_decimal_point_as_before(officer, cabinet, lactulose):
    body = {**_delivery(cabinet, lactulose, "1.000"), "unit": "mL"}
    answer = f.client_for(officer).post("/api/cabinet/receipts", body, format="json")
    assert answer.status_code == 201
    assert Movement.objects.get(location=cabinet).quantity == Decimal("1")


def _count_sheet(officer, cabinet, lactulose):
    lot = services.stock_receive(
        actor=actor(officer),
        cabinet=cabinet,
        medicine=lactulose,
        batch_number="L-1",
        expires_on=timezone.localdate() + dt.timedelta(days=200),
        quantity=Decimal("1000"),
        unit="mL",
        supplier="Apoteket",
        delivery_reference="D-1",
    ).lot
    count = services.count_start(actor=actor(officer), location=cabinet)
    client = Client()
    f.log_in(client, officer)
    return client, count, lot


@pytest.mark.parametrize(("typed", "sentence"), [("1.000", GROUPED), ("1e3", NOT_A_NUMBER)])
def test_a_count_typed_ambiguously_is_refused_on_its_line_and_nothing_saved(
    officer, cabinet, lactulose, typed, sentence
):
    client, count, lot = _count_sheet(officer, cabinet, lactulose)

    answer = client.post(
        f"/cabinet/counts/{count.pk}/do/", {"action": "save", f"lot_{lot.pk}": typed}
    )

    _refused_on(answer, f"lot_{lot.pk}", sentence)
    assert not CountLine.objects.filter(count=count).exists()


@pytest.mark.parametrize("typed", ["999,5", "999.5"])
def test_a_count_with_a_decimal_comma_or_point_is_saved(officer, cabinet, lactulose, typed):
    client, count, lot = _count_sheet(officer, cabinet, lactulose)
    answer = client.post(
        f"/cabinet/counts/{count.pk}/do/", {"action": "save", f"lot_{lot.pk}": typed}
    )
    assert answer.status_code == 302
    assert CountLine.objects.get(count=count, lot=lot).counted_quantity == Decimal("999.5")
