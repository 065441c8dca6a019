"""The medicine officer's main tasks on her pages: the expiry list sorted by
date with one line per lot, the medicines below their minimum, and the whole
count entered on one sheet — saved together or not at all, every refused
line named under its field, nothing typed lost."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from core.actors import Actor
from core.models import Role
from medicine_cabinet import services
from medicine_cabinet.models import Balance, CountLine, StockCount
from tests import factories
from tests.medicine_cabinet.conftest import receive

pytestmark = pytest.mark.django_db


def _login(membership) -> Client:
    client = Client()
    assert factories.log_in(client, membership).status_code == 302
    return client


def test_the_expiry_list_is_sorted_by_date_with_one_line_per_lot_and_where_it_is(
    officer, cabinet, bag, nurse, paracetamol, morphine
):
    late = receive(officer, cabinet, paracetamol, "40", batch="LATE", expires_in_days=80)
    soon = receive(officer, cabinet, paracetamol, "30", batch="SOON", expires_in_days=10)
    receive(officer, cabinet, paracetamol, "30", batch="FAR", expires_in_days=400)
    services.stock_transfer(
        actor=Actor.for_membership(nurse),
        lot=soon,
        source=cabinet,
        destination=bag,
        quantity=Decimal("10"),
        unit="tablet",
    )
    html = _login(officer).get("/cabinet/").content.decode()
    expiry = html[html.index('id="expiry-table"') : html.index('id="min-title"')]
    assert expiry.index("SOON") < expiry.index("LATE")
    assert "FAR" not in expiry
    assert expiry.count("SOON") == 1  # one line for the lot, though it is in two places
    soon_row = expiry[expiry.index("SOON") : expiry.index("LATE")]
    assert f"{cabinet.name}: <span" in soon_row and f"{bag.name}: <span" in soon_row
    assert '<td class="num">30 ' in soon_row
    assert late.batch_number == "LATE"


def test_medicines_below_their_minimum_are_listed_with_what_is_missing(
    officer, cabinet, paracetamol
):
    receive(officer, cabinet, paracetamol, "25", batch="P1")  # minimum 40
    recalled = receive(officer, cabinet, paracetamol, "10", batch="BAD")
    services.lot_recall(actor=Actor.for_membership(officer), lot=recalled, reason="Producent")
    html = _login(officer).get("/cabinet/").content.decode()
    section = html[html.index('id="below-minimum"') : html.index('id="stock-title"')]
    assert "Paracetamol 500 mg" in section
    # The recalled lot is not usable: 25 of 40, 15 missing.
    assert '<td class="num">25</td><td class="num">40</td>' in section
    assert "<strong>15 " in section


def test_the_whole_count_is_entered_on_one_sheet_and_submitted_in_one_go(
    officer, cabinet, paracetamol, lactulose
):
    lots = [
        receive(officer, cabinet, paracetamol, "40", batch="C1"),
        receive(officer, cabinet, paracetamol, "20", batch="C2"),
        receive(officer, cabinet, lactulose, "0.5", batch="C3"),
    ]
    client = _login(officer)
    client.post("/cabinet/counts/start/", {"location": cabinet.pk})
    count = StockCount.objects.get(location=cabinet)
    sheet = client.get(f"/cabinet/counts/{count.pk}/").content.decode()
    for lot in lots:
        assert f'name="lot_{lot.pk}"' in sheet
    done = client.post(
        f"/cabinet/counts/{count.pk}/do/",
        {
            "action": "submit",
            **{f"lot_{lot.pk}": q for lot, q in zip(lots, ["40", "20", "0,5"], strict=True)},
        },
    )
    assert done.status_code == 302
    count.refresh_from_db()
    assert count.status == StockCount.Status.SUBMITTED and not count.has_discrepancy
    assert CountLine.objects.filter(count=count).count() == 3


def test_a_refused_line_saves_nothing_names_every_field_and_keeps_what_was_typed(
    officer, cabinet, paracetamol
):
    one, two, three = (
        receive(officer, cabinet, paracetamol, "40", batch=b) for b in ("C1", "C2", "C3")
    )
    client = _login(officer)
    client.post("/cabinet/counts/start/", {"location": cabinet.pk})
    count = StockCount.objects.get(location=cabinet)
    refused = client.post(
        f"/cabinet/counts/{count.pk}/do/",
        {"action": "submit", f"lot_{one.pk}": "40", f"lot_{two.pk}": "-2", f"lot_{three.pk}": "x"},
    )
    html = refused.content.decode()
    assert refused.status_code == 400
    assert not CountLine.objects.filter(count=count).exists()
    assert f'aria-describedby="err-lot-{two.pk}"' in html
    assert f'aria-describedby="err-lot-{three.pk}"' in html
    assert f'aria-describedby="err-lot-{one.pk}"' not in html
    assert 'value="40"' in html and 'value="-2"' in html and 'value="x"' in html
    assert "2 felter skal rettes" in html


def test_a_difference_is_recounted_on_the_same_sheet_with_a_reason(officer, cabinet, paracetamol):
    lot = receive(officer, cabinet, paracetamol, "40", batch="C1")
    client = _login(officer)
    client.post("/cabinet/counts/start/", {"location": cabinet.pk})
    count = StockCount.objects.get(location=cabinet)
    client.post(f"/cabinet/counts/{count.pk}/do/", {"action": "save", f"lot_{lot.pk}": "38"})
    line = CountLine.objects.get(count=count)
    sheet = client.get(f"/cabinet/counts/{count.pk}/").content.decode()
    assert f'name="recount_{line.pk}"' in sheet and f'name="reason_{line.pk}"' in sheet
    # Still different without a reason: refused under the reason, the recount kept.
    refused = client.post(
        f"/cabinet/counts/{count.pk}/do/", {"action": "submit", f"recount_{line.pk}": "38"}
    )
    assert refused.status_code == 400
    html = refused.content.decode()
    assert f'aria-describedby="err-reason-{line.pk}"' in html and 'value="38"' in html
    done = client.post(
        f"/cabinet/counts/{count.pk}/do/",
        {"action": "submit", f"recount_{line.pk}": "38", f"reason_{line.pk}": "counting_error"},
    )
    assert done.status_code == 302
    count.refresh_from_db()
    assert count.status == StockCount.Status.SUBMITTED and count.has_discrepancy
    assert Balance.objects.get(lot=lot, location=cabinet).quantity == Decimal("40")


@pytest.mark.parametrize("role", [Role.ACUTE_NURSE, Role.COORDINATOR, Role.PHYSICIAN])
def test_other_roles_cannot_save_a_count_sheet(officer, cabinet, paracetamol, role):
    lot = receive(officer, cabinet, paracetamol, "40", batch="C1")
    count = services.count_start(actor=Actor.for_membership(officer), location=cabinet)
    client = _login(factories.staff(role, factories.acute_function()))
    response = client.post(
        f"/cabinet/counts/{count.pk}/do/", {"action": "submit", f"lot_{lot.pk}": "40"}
    )
    assert response.status_code == 403
    assert not CountLine.objects.filter(count=count).exists()
