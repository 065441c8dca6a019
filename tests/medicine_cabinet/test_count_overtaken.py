"""A count overtaken by stock taken out after it was counted: the shortfall
counted no longer fits what is left, so nothing is booked and the count is
opened again for a recount, by the API and on the officer's page alike —
never left submitted for good, which would block every later count of the
location."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from medicine_cabinet.models import Balance, CountLine, Movement, StockCount
from tests import factories as f
from tests.medicine_cabinet.conftest import receive, to_bag

pytestmark = pytest.mark.django_db

OVERTAKEN_DA = "Der er taget af et parti, siden det blev optalt"


def _submitted_shortfall(officer, cabinet, lot, counted: str) -> StockCount:
    """A count of the cabinet finding ``counted`` where the ledger holds 20,
    recounted the same, and submitted."""
    client = f.client_for(officer)
    count_id = client.post("/api/cabinet/counts", {"location": cabinet.pk}, format="json").json()[
        "id"
    ]
    client.post(
        f"/api/cabinet/counts/{count_id}/lines", {"lot": lot.pk, "quantity": counted}, format="json"
    )
    line = CountLine.objects.get(count_id=count_id)
    client.post(
        f"/api/cabinet/counts/{count_id}/lines/{line.pk}/recount",
        {"quantity": counted, "reason_code": "suspected_loss"},
        format="json",
    )
    submitted = client.post(f"/api/cabinet/counts/{count_id}/submit", {}, format="json")
    assert submitted.status_code == 200, submitted.json()
    return StockCount.objects.get(pk=count_id)


def test_an_overtaken_shortfall_is_not_booked_and_the_count_is_recounted(
    officer, nurse, cabinet, bag, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "20")
    count = _submitted_shortfall(officer, cabinet, lot, "2")
    to_bag(nurse, lot, cabinet, bag, "5")  # 15 left by the ledger: less than the 18 missing
    client = f.client_for(officer)

    refused = client.post(f"/api/cabinet/counts/{count.pk}/approve", {}, format="json")

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "count.stock_moved"
    assert refused.json()["error"]["lots"] == [lot.pk]
    assert refused.json()["error"]["message"].startswith(OVERTAKEN_DA)
    assert Balance.objects.get(location=cabinet, lot=lot).quantity == 15
    assert not Movement.objects.filter(kind=Movement.Kind.COUNT_ADJUSTMENT).exists()
    count.refresh_from_db()
    line = CountLine.objects.get(count=count)
    assert count.status == StockCount.Status.OPEN and line.needs_recount

    # Recounted against what the ledger holds now, it is approved and booked.
    recount = client.post(
        f"/api/cabinet/counts/{count.pk}/lines/{line.pk}/recount",
        {"quantity": "2", "reason_code": "suspected_loss"},
        format="json",
    )
    assert recount.status_code == 200 and recount.json()["variance"] == "-13.000"
    assert client.post(f"/api/cabinet/counts/{count.pk}/submit", {}, format="json").status_code == (
        200
    )
    approved = client.post(f"/api/cabinet/counts/{count.pk}/approve", {}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert Balance.objects.get(location=cabinet, lot=lot).quantity == 2
    # The location can be counted again.
    again = client.post("/api/cabinet/counts", {"location": cabinet.pk}, format="json")
    assert again.status_code == 201


def test_a_shortfall_that_still_fits_is_booked_on_top_of_the_live_balance(
    officer, nurse, cabinet, bag, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "20")
    count = _submitted_shortfall(officer, cabinet, lot, "18")
    to_bag(nurse, lot, cabinet, bag, "5")
    approved = f.client_for(officer).post(
        f"/api/cabinet/counts/{count.pk}/approve", {}, format="json"
    )
    assert approved.status_code == 200
    assert Balance.objects.get(location=cabinet, lot=lot).quantity == 13


def test_on_the_officers_page_the_overtaken_count_asks_for_a_recount_in_danish(
    officer, nurse, cabinet, bag, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "20")
    count = _submitted_shortfall(officer, cabinet, lot, "2")
    to_bag(nurse, lot, cabinet, bag, "5")
    client = Client()
    f.log_in(client, officer)

    page = client.post(f"/cabinet/counts/{count.pk}/do/", {"action": "approve"})

    assert page.status_code == 409
    html = page.content.decode()
    shown = re.sub(r"<[^>]+>", " ", html)
    assert OVERTAKEN_DA in shown and "count.stock_moved" not in shown
    line = CountLine.objects.get(count=count)
    assert f'name="recount_{line.pk}"' in html
    assert Balance.objects.get(location=cabinet, lot=lot).quantity == 15
