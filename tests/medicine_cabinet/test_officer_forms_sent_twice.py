"""R8 on the medicine officer's pages: a delivery, a recall, a count started
or approved is done once however often its form is sent (a double click, a
reload of the answer); the second send is told, in Danish, that nothing was
done twice (``core.form_once``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from medicine_cabinet.models import Balance, Lot, StockCount
from tests import factories as f
from tests.medicine_cabinet.conftest import receive
from tests.sent_twice import ref_for, sent_twice

pytestmark = pytest.mark.django_db


def _client(membership) -> Client:
    client = Client()
    f.log_in(client, membership)
    return client


def test_r8_a_delivery_sent_twice_is_received_once_and_not_refused_as_a_repeat(
    officer, cabinet, paracetamol
):
    client = _client(officer)
    form = {
        "cabinet": str(cabinet.pk),
        "medicine": str(paracetamol.pk),
        "batch_number": "ONCE-1",
        "expires_on": str(timezone.localdate() + dt.timedelta(days=200)),
        "quantity": "60",
        "supplier": "Apoteket",
        "delivery_reference": "FS-3001",
        "form_ref": ref_for(client, "/cabinet/", "/cabinet/receive/"),
    }

    sent_twice(client, "/cabinet/receive/", form)

    lot = Lot.objects.get(batch_number="ONCE-1")
    assert Balance.objects.get(lot=lot, location=cabinet).quantity == Decimal("60")


def test_r8_a_recall_sent_twice_is_one_recall_and_not_a_refusal(officer, cabinet, paracetamol):
    lot = receive(officer, cabinet, paracetamol, "20", batch="BAD")
    client = _client(officer)
    form = {
        "lot": str(lot.pk),
        "reason": "Producenten kalder batchen tilbage",
        "form_ref": ref_for(client, "/cabinet/", "/cabinet/recall/"),
    }

    first = sent_twice(client, "/cabinet/recall/", form)

    assert first["Location"] == f"/cabinet/recall/{lot.pk}/"
    lot.refresh_from_db()
    assert lot.recall_reason == "Producenten kalder batchen tilbage"


def test_r8_a_count_started_twice_is_one_count_shown_to_both_sends(officer, cabinet, paracetamol):
    receive(officer, cabinet, paracetamol, "20")
    client = _client(officer)
    form = {
        "location": str(cabinet.pk),
        "form_ref": ref_for(client, "/cabinet/counts/", "/cabinet/counts/start/"),
    }

    first = sent_twice(client, "/cabinet/counts/start/", form)

    count = StockCount.objects.get(location=cabinet)
    assert first["Location"] == f"/cabinet/counts/{count.pk}/"


def test_a_count_refused_is_shown_on_the_counts_page_and_frees_the_form(
    officer, cabinet, bag, paracetamol
):
    """Refused as every page form refuses: the counts page again with the
    reason and its 4xx (no redirect with a message), nothing started; the
    corrected form goes through with the same reference."""
    client = _client(officer)
    client.post("/cabinet/counts/start/", {"location": str(cabinet.pk)})
    ref = ref_for(client, "/cabinet/counts/", "/cabinet/counts/start/")

    refused = client.post("/cabinet/counts/start/", {"location": str(cabinet.pk), "form_ref": ref})
    corrected = client.post("/cabinet/counts/start/", {"location": str(bag.pk), "form_ref": ref})

    assert refused.status_code == 409
    page = refused.content.decode()
    assert 'data-code="count.already_open"' in page and "Optæl en placering" in page
    assert corrected.status_code == 302
    assert StockCount.objects.filter(location=cabinet).count() == 1
    assert StockCount.objects.filter(location=bag).count() == 1


def test_r8_a_count_approved_twice_books_its_variance_once(officer, cabinet, paracetamol):
    lot = receive(officer, cabinet, paracetamol, "40", batch="C1")
    client = _client(officer)
    client.post("/cabinet/counts/start/", {"location": str(cabinet.pk)})
    count = StockCount.objects.get(location=cabinet)
    sheet = f"/cabinet/counts/{count.pk}/"
    client.post(f"{sheet}do/", {"action": "save", f"lot_{lot.pk}": "38"})
    line = count.lines.get()
    client.post(
        f"{sheet}do/",
        {"action": "save", f"recount_{line.pk}": "38", f"reason_{line.pk}": "counting_error"},
    )
    assert client.post(f"{sheet}do/", {"action": "submit"}).status_code == 302
    form = {"action": "approve", "form_ref": ref_for(client, sheet, f"{sheet}do/")}

    sent_twice(client, f"{sheet}do/", form)

    count.refresh_from_db()
    assert count.status == StockCount.Status.APPROVED
    assert Balance.objects.get(lot=lot, location=cabinet).quantity == Decimal("38")
