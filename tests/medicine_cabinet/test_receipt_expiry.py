"""A delivery's expiry date is one a medicine can have: a slip of the keys
(9999, a century typed wrong) kept the lot out of every expiry warning for
good. The officer's page and the API meet the same refusal in the service."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from medicine_cabinet.models import Lot, Movement
from tests import factories

pytestmark = pytest.mark.django_db


def _form(cabinet, paracetamol, expires_on: dt.date) -> dict[str, object]:
    return {
        "cabinet": cabinet.pk,
        "medicine": paracetamol.pk,
        "batch_number": "FAR-1",
        "expires_on": str(expires_on),
        "quantity": "60",
        "unit": "tablet",
        "supplier": "Apoteket",
        "delivery_reference": "D-FAR",
    }


@pytest.mark.parametrize("years_ahead", [11, 100])
def test_an_expiry_beyond_any_shelf_life_is_refused_on_the_api(
    officer, cabinet, paracetamol, years_ahead
):
    expires_on = timezone.localdate() + dt.timedelta(days=366 * years_ahead)
    refused = factories.client_for(officer).post(
        "/api/cabinet/receipts", _form(cabinet, paracetamol, expires_on), format="json"
    )
    assert refused.status_code == 400, refused.content
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("lot.expiry_implausible", "expires_on")
    assert not Lot.objects.filter(batch_number="FAR-1").exists()
    assert not Movement.objects.exists()


def test_five_years_ahead_is_a_shelf_life(officer, cabinet, paracetamol):
    expires_on = timezone.localdate() + dt.timedelta(days=5 * 365)
    made = factories.client_for(officer).post(
        "/api/cabinet/receipts", _form(cabinet, paracetamol, expires_on), format="json"
    )
    assert made.status_code == 201, made.content


def test_the_officers_page_says_so_in_danish_under_the_date(officer, cabinet, paracetamol):
    client = Client()
    factories.log_in(client, officer)
    form = _form(cabinet, paracetamol, dt.date(9999, 12, 31))
    page = client.post("/cabinet/receive/", form)
    assert page.status_code == 400
    html = page.content.decode()
    assert 'data-code="lot.expiry_implausible"' in html
    assert (
        '<p class="field-error" id="err-expires-on">Intet lægemiddel holder i mere end ti år'
        in html
    )
    assert not Lot.objects.filter(batch_number="FAR-1").exists()
