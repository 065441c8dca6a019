"""A refusal on the cabinet's forms stands beside the field it concerns: a
delivery whose expiry date has passed under the date (``expires_on``, on the
API as on the officer's page), and a dose quantity the nurse mistyped under
the quantity of the one give form she sent, with what she typed kept."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from medicine_cabinet.models import Administration, Lot, Movement
from tests import factories
from tests.medicine_cabinet.conftest import FUROSEMIDE, on_the_nurses_page, phone_order_on_page

pytestmark = pytest.mark.django_db


def _delivery(cabinet, paracetamol) -> dict[str, object]:
    return {
        "cabinet": cabinet.pk,
        "medicine": paracetamol.pk,
        "batch_number": "OLD-1",
        "expires_on": str(timezone.localdate() - dt.timedelta(days=1)),
        "quantity": "60",
        "unit": "tablet",
        "supplier": "Apoteket",
        "delivery_reference": "D-OLD",
    }


def test_a_delivery_already_expired_is_refused_on_its_date_on_the_api(
    officer, cabinet, paracetamol
):
    refused = factories.client_for(officer).post(
        "/api/cabinet/receipts", _delivery(cabinet, paracetamol), format="json"
    )
    assert refused.status_code == 412, refused.content
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("lot.expired", "expires_on")
    assert not Lot.objects.filter(batch_number="OLD-1").exists()
    assert not Movement.objects.exists()


def test_the_officers_page_says_so_under_the_date(officer, cabinet, paracetamol):
    client = Client()
    factories.log_in(client, officer)
    page = client.post("/cabinet/receive/", _delivery(cabinet, paracetamol))
    assert page.status_code == 412
    html = page.content.decode()
    assert '<p class="field-error" id="err-expires-on">Dette parti er allerede udløbet.' in html
    assert not Lot.objects.filter(batch_number="OLD-1").exists()


def _give_form(html: str, order_pk: int) -> str:
    """The give form of one order on the visit page."""
    start = html.index('data-offline="visit-', html.index(f'give-{order_pk}"') - 60)
    return html[start : html.index("</form>", start)]


@pytest.mark.parametrize("typed", ["-1", "abc"])
def test_a_mistyped_dose_quantity_stands_under_the_quantity_of_the_form_sent(typed):
    visit, client, furosemide, _bag, _lot = on_the_nurses_page(**FUROSEMIDE)
    orders = [
        phone_order_on_page(
            client,
            visit,
            furosemide,
            dose="1",
            dose_unit="ampoule",
            frequency="to gange dagligt",
            duration="2 dage",
        )
        for _ in range(2)
    ]
    first, second = orders
    page = client.post(
        f"/nurse/visits/{visit.pk}/give/",
        {
            "order_id": second.pk,
            "medicine_id": furosemide.pk,
            "quantity": typed,
            "unit": furosemide.unit,
        },
        HTTP_ACCEPT_LANGUAGE="da",
    )
    assert page.status_code == 400
    html = page.content.decode()
    sent = _give_form(html, second.pk)
    assert re.search(
        rf'<input id="give-q-{second.pk}" name="quantity"[^>]* value="{re.escape(typed)}"'
        r'[^>]*aria-invalid="true"',
        sent,
    ), sent
    beside = re.search(r'<p class="field-error" id="err-quantity">([^<]+)</p>', sent)
    assert beside, sent
    # The same Danish sentence as the alert at the top, now where she typed.
    assert beside.group(1) in html.replace(beside.group(0), "")
    other = _give_form(html, first.pk)
    assert "field-error" not in other and "aria-invalid" not in other
    assert not Administration.objects.exists()
