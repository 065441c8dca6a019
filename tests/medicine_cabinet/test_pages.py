"""The medicine officer's pages: stock by location and lot, expiring lots,
receive a delivery, recall a lot, counts with a discrepancy — through the
cabinet's selectors and services (R8)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from core.models import Role
from medicine_cabinet.models import Balance, Lot, StockCount
from tests import factories
from tests.medicine_cabinet.conftest import receive

pytestmark = pytest.mark.django_db


def _login(membership) -> Client:
    client = Client()
    factories.log_in(client, membership)
    return client


def test_stock_by_location_and_expiring_lots(
    officer, cabinet, paracetamol, django_assert_max_num_queries
):
    receive(officer, cabinet, paracetamol, "40", batch="SOON", expires_in_days=20)
    receive(officer, cabinet, paracetamol, "40", batch="LATER", expires_in_days=400)
    client = _login(officer)
    client.get("/cabinet/")
    with django_assert_max_num_queries(12):
        html = client.get("/cabinet/").content.decode()
    stock_table = html[html.index('id="stock-table"') :]
    assert "SOON" in stock_table and "LATER" in stock_table
    expiring = html[html.index('id="exp-title"') : html.index('id="stock-title"')]
    assert "SOON" in expiring and "LATER" not in expiring


def test_the_formularys_dosage_forms_are_named_in_danish(officer, cabinet, paracetamol, morphine):
    html = _login(officer).get("/cabinet/").content.decode()
    choices = html[html.index('id="r-medicine"') :]
    choices = choices[: choices.index("</select>")]
    assert "Paracetamol 500 mg · tabletter" in choices
    assert "Morfin 10 mg/mL · injektionsvæske, opløsning" in choices
    assert "tablet " not in choices and "solution for injection" not in choices


def test_receive_a_delivery_and_refuse_a_bad_one(officer, cabinet, paracetamol):
    client = _login(officer)
    form = {
        "cabinet": cabinet.pk,
        "medicine": paracetamol.pk,
        "batch_number": "NEW-1",
        "expires_on": str(timezone.localdate() + dt.timedelta(days=200)),
        "quantity": "60",
        "supplier": "Apoteket",
        "delivery_reference": "D-77",
    }
    assert client.post("/cabinet/receive/", form).status_code == 302
    lot = Lot.objects.get(batch_number="NEW-1")
    assert Balance.objects.get(lot=lot, location=cabinet).quantity == Decimal("60")
    bad = client.post("/cabinet/receive/", {**form, "batch_number": "NEW-2", "quantity": "-3"})
    assert bad.status_code == 400
    assert not Lot.objects.filter(batch_number="NEW-2").exists()
    # The refusal is in Danish under the quantity, and the rest of the form is kept.
    page = bad.content.decode()
    assert 'aria-describedby="err-quantity"' in page
    assert '<p class="field-error" id="err-quantity">Tallet skal være større end nul.</p>' in page
    assert 'value="NEW-2"' in page and 'value="-3"' in page and 'value="Apoteket"' in page
    bad_date = client.post("/cabinet/receive/", {**form, "expires_on": "soon"})
    assert bad_date.status_code == 400 and 'data-code="date.invalid"' in bad_date.content.decode()


def test_recall_a_lot(officer, cabinet, paracetamol):
    lot = receive(officer, cabinet, paracetamol, "20", batch="BAD")
    client = _login(officer)
    assert (
        client.post("/cabinet/recall/", {"lot": lot.pk, "reason": "Producent"}).status_code == 302
    )
    lot.refresh_from_db()
    assert lot.recalled_at is not None


def test_count_with_a_discrepancy_recount_submit_and_approve(officer, cabinet, paracetamol):
    lot = receive(officer, cabinet, paracetamol, "40", batch="C1")
    client = _login(officer)
    assert "Skab 1" in client.get("/cabinet/counts/").content.decode()
    response = client.post("/cabinet/counts/start/", {"location": cabinet.pk})
    count = StockCount.objects.get(location=cabinet)
    assert response["Location"] == f"/cabinet/counts/{count.pk}/"
    client.post(f"/cabinet/counts/{count.pk}/do/", {"action": "save", f"lot_{lot.pk}": "38"})
    early = client.post(f"/cabinet/counts/{count.pk}/do/", {"action": "submit"})
    assert early.status_code == 412
    assert 'data-code="count.recount_needed"' in early.content.decode()
    line = count.lines.get()
    client.post(
        f"/cabinet/counts/{count.pk}/do/",
        {"action": "save", f"recount_{line.pk}": "38", f"reason_{line.pk}": "counting_error"},
    )
    assert client.post(f"/cabinet/counts/{count.pk}/do/", {"action": "submit"}).status_code == 302
    count.refresh_from_db()
    assert count.has_discrepancy
    assert client.post(f"/cabinet/counts/{count.pk}/do/", {"action": "approve"}).status_code == 302
    assert Balance.objects.get(lot=lot, location=cabinet).quantity == Decimal("38")


@pytest.mark.parametrize("role", [Role.ACUTE_NURSE, Role.COORDINATOR, Role.AUDITOR, Role.PHYSICIAN])
def test_other_roles_are_refused_the_officer_pages(role):
    client = _login(factories.staff(role, factories.acute_function()))
    for path in ("/cabinet/", "/cabinet/counts/"):
        assert client.get(path).status_code == 403
    assert client.post("/cabinet/recall/", {"lot": 1, "reason": "x"}).status_code == 403


def test_the_scrollable_stock_tables_can_be_reached_by_keyboard_and_are_named(
    officer, cabinet, paracetamol
):
    receive(officer, cabinet, paracetamol, "40", batch="SOON", expires_in_days=20)
    html = _login(officer).get("/cabinet/").content.decode()
    for title in ("exp-title", f"loc-{cabinet.pk}"):
        assert f'class="table-wrap" tabindex="0" role="region" aria-labelledby="{title}"' in html


def test_a_delivery_sent_twice_is_booked_once(officer, cabinet, paracetamol):
    """A double click or a reload of the receipt: the same batch on the same
    delivery reference is refused the second time, in Danish, and the stock
    counts the delivery once."""
    client = _login(officer)
    form = {
        "cabinet": cabinet.pk,
        "medicine": paracetamol.pk,
        "batch_number": "TWICE-1",
        "expires_on": str(timezone.localdate() + dt.timedelta(days=200)),
        "quantity": "60",
        "supplier": "Apoteket",
        "delivery_reference": "FS-2041",
    }
    assert client.post("/cabinet/receive/", form).status_code == 302
    again = client.post("/cabinet/receive/", {**form, "delivery_reference": " fs-2041 "})
    assert again.status_code == 409
    page = again.content.decode()
    assert 'data-code="receive.already_received"' in page
    assert "Batchen er allerede modtaget på dette følgeseddelnummer" in page
    lot = Lot.objects.get(batch_number="TWICE-1")
    assert Balance.objects.get(lot=lot, location=cabinet).quantity == Decimal("60")
    # Another line of stock on another delivery note is received as usual.
    assert (
        client.post("/cabinet/receive/", {**form, "delivery_reference": "FS-2042"}).status_code
        == 302
    )
    assert Balance.objects.get(lot=lot, location=cabinet).quantity == Decimal("120")


@pytest.mark.parametrize(
    ("at", "said"),
    [
        (dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC), "25. okt 02:30 (sommertid)"),
        (dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC), "25. okt 02:30 (vintertid)"),
    ],
)
def test_the_counts_page_says_which_0230_a_count_was_started(
    officer, cabinet, paracetamol, at, said
):
    """The night summer time ends, 02:30 comes twice: two counts an hour
    apart never read as one (R8)."""
    receive(officer, cabinet, paracetamol, "40", batch="C1")
    client = _login(officer)
    client.post("/cabinet/counts/start/", {"location": cabinet.pk})
    StockCount.objects.filter(location=cabinet).update(started_at=at)
    html = client.get("/cabinet/counts/", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert said in html
