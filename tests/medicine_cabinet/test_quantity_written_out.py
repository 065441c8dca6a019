"""A quantity in the cabinet is written out: a whole number, or the decimal
its unit allows. "1e3" is never booked as a thousand tablets, nor "NaN" or
"Infinity" read as anything: 400 ``quantity.invalid`` on every door that
takes one (a movement, a count, the formulary's minimum stock), nothing
written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import InvalidInput
from medicine_cabinet import services
from medicine_cabinet.models import Balance, CountLine, Medicine, Movement
from tests import factories as f
from tests.medicine_cabinet.conftest import receive

pytestmark = pytest.mark.django_db

NOT_WRITTEN_OUT = ["1e3", "1E3", "2.5e1", "1e-1", "Infinity", "-Infinity", "NaN", "inf"]


@pytest.mark.parametrize("raw", NOT_WRITTEN_OUT)
def test_the_quantity_parser_refuses_an_exponent_infinity_and_nan(raw):
    with pytest.raises(InvalidInput) as caught:
        services.quantity_parse(raw)
    assert caught.value.code == "quantity.invalid"
    with pytest.raises(InvalidInput) as counted:
        services.quantity_parse(raw, bounds=services.COUNTED)
    assert counted.value.code == "quantity.invalid"


def test_a_written_out_quantity_is_still_read():
    assert services.quantity_parse("1000") == Decimal("1000")
    assert services.quantity_parse(" 5 ", typed=True) == Decimal("5")
    assert services.quantity_parse(7) == Decimal("7")
    assert services.quantity_parse("0.5") == Decimal("0.5")


def test_a_transfer_of_1e3_tablets_is_refused_and_nothing_moves(
    officer, nurse, cabinet, bag, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "2000")
    moved = Movement.objects.count()
    for raw in NOT_WRITTEN_OUT:
        response = f.client_for(nurse).post(
            "/api/cabinet/transfers",
            {
                "lot": lot.pk,
                "from_location": cabinet.pk,
                "to_location": bag.pk,
                "quantity": raw,
                "unit": "tablet",
            },
            format="json",
        )
        assert response.status_code == 400, (raw, response.content)
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("quantity.invalid", "quantity"), raw
    assert Movement.objects.count() == moved
    assert not Balance.objects.filter(location=bag).exists()


def test_a_count_line_and_a_minimum_stock_refuse_an_exponent(officer, cabinet, paracetamol):
    lot = receive(officer, cabinet, paracetamol, "20")
    client = f.client_for(officer)
    count = client.post("/api/cabinet/counts", {"location": cabinet.pk}, format="json")
    assert count.status_code == 201, count.content
    for raw in ("2e1", "2E1", "NaN"):
        line = client.post(
            f"/api/cabinet/counts/{count.json()['id']}/lines",
            {"lot": lot.pk, "quantity": raw},
            format="json",
        )
        assert line.status_code == 400, (raw, line.content)
        assert line.json()["error"]["code"] == "quantity.invalid"
    assert not CountLine.objects.exists()
    written = client.post(
        f"/api/cabinet/counts/{count.json()['id']}/lines",
        {"lot": lot.pk, "quantity": "20"},
        format="json",
    )
    assert written.status_code == 201, written.content

    medicine = {
        "atc_code": paracetamol.atc_code,
        "name": paracetamol.name,
        "strength": paracetamol.strength,
        "form": paracetamol.form,
        "unit": paracetamol.unit,
        "package_size": "20",
        "dispensing": paracetamol.dispensing,
        "dependence_forming": False,
        "minimum_stock": "1e2",
    }
    refused = client.post("/api/cabinet/medicines", medicine, format="json")
    assert refused.status_code == 400, refused.content
    assert refused.json()["error"]["code"] == "quantity.invalid"
    assert Medicine.objects.get(pk=paracetamol.pk).minimum_stock != Decimal("100")
