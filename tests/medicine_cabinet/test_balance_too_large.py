"""A delivery that would take a lot's balance in one place beyond what the
ledger holds (999,999,999.999) is refused with its own code, naming what is
held, and nothing is booked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from consent.audit.models import AuditEntry
from medicine_cabinet.models import Balance, Movement
from tests import factories as f

pytestmark = pytest.mark.django_db


def _receive(officer, cabinet, medicine, quantity, reference):
    return f.client_for(officer).post(
        "/api/cabinet/receipts",
        {
            "cabinet": cabinet.pk,
            "medicine": medicine.pk,
            "batch_number": "B1",
            "expires_on": str(timezone.localdate() + dt.timedelta(days=300)),
            "quantity": quantity,
            "unit": medicine.unit,
            "supplier": "Apoteket",
            "delivery_reference": reference,
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_a_delivery_beyond_what_one_place_holds_is_refused_and_nothing_booked(
    officer, cabinet, lactulose
):
    first = _receive(officer, cabinet, lactulose, "999999999", "D1")
    assert first.status_code == 201, first.content
    entries = AuditEntry.objects.count()

    refused = _receive(officer, cabinet, lactulose, "1.5", "D2")

    assert refused.status_code == 409, refused.content
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("stock.balance_too_large", "quantity")
    assert error["message"].startswith("999999999 of this lot is here already; 1.5 more")
    assert Movement.objects.count() == 1
    assert Balance.objects.get(location=cabinet).quantity == 999999999
    assert AuditEntry.objects.count() == entries
    # What still fits is received.
    fits = _receive(officer, cabinet, lactulose, "0.999", "D3")
    assert fits.status_code == 201, fits.content


def test_the_officers_receipt_page_says_so_in_danish(officer, cabinet, lactulose):
    from django.test import Client

    assert _receive(officer, cabinet, lactulose, "999999999", "D1").status_code == 201
    client = Client()
    f.log_in(client, officer)
    page = client.post(
        "/cabinet/receive/",
        {
            "cabinet": cabinet.pk,
            "medicine": lactulose.pk,
            "batch_number": "B1",
            "expires_on": str(timezone.localdate() + dt.timedelta(days=300)),
            "quantity": "2",
            "unit": "mL",
            "supplier": "Apoteket",
            "delivery_reference": "D2",
        },
    )
    assert page.status_code == 409
    html = page.content.decode()
    assert 'data-code="stock.balance_too_large"' in html
    assert "af dette parti er her allerede" in html
    assert Movement.objects.count() == 1
