"""A medicine's strength is kept as the formulary writes it ("0.4 mg/mL"); a
Danish page shows it with a decimal comma ("0,4 mg/mL") — the officer's
stock, the count sheet, the nurse's bag and its messages, the visit's dose
form and the stock notifications — while the API answers the machine form."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import translation

from core.models import Membership
from core.units import decimals_label
from medicine_cabinet import services
from medicine_cabinet.models import Medicine, Notification
from tests import factories as f
from tests.acute.test_pages_nurse import _phone_order_on_page
from tests.medicine_cabinet.conftest import actor, on_the_nurses_page, receive

pytestmark = pytest.mark.django_db

NALOXON = {
    "atc": "V03AB15",
    "name": "Naloxon",
    "strength": "0.4 mg/mL, 1 mL",
    "form": "solution for injection",
    "unit": "ampoule",
}


@pytest.fixture
def naloxon() -> Medicine:
    return services.medicine_upsert(
        atc_code="V03AB15",
        name="Naloxon",
        strength="0.4 mg/mL, 1 mL",
        form="solution for injection",
        unit="ampoule",
        package_size=Decimal("10"),
        dispensing=Medicine.Dispensing.PRESCRIPTION,
        dependence_forming=False,
        minimum_stock=Decimal("20"),
    )


def _login(membership: Membership) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def test_a_text_keeps_its_numbers_and_takes_the_languages_decimal_mark():
    with translation.override("da"):
        assert decimals_label("0.4 mg/mL, 2.5 mL") == "0,4 mg/mL, 2,5 mL"
        assert decimals_label("500 mg") == "500 mg"
        assert decimals_label("version 1.2.3") == "version 1.2.3"
    with translation.override("en"):
        assert decimals_label("0.4 mg/mL") == "0.4 mg/mL"


def test_the_officers_stock_and_count_pages_show_a_danish_strength(officer, cabinet, naloxon):
    receive(officer, cabinet, naloxon, "5")
    client = _login(officer)

    stock = client.get("/cabinet/").content.decode()
    assert "Naloxon 0,4 mg/mL, 1 mL" in stock
    assert "0.4 mg/mL" not in stock

    count = services.count_start(actor=actor(officer), location=cabinet)
    sheet = client.get(f"/cabinet/counts/{count.pk}/").content.decode()
    assert "0,4 mg/mL" in sheet and "0.4 mg/mL" not in sheet


def test_the_nurses_bag_page_and_its_message_show_a_danish_strength(
    officer, nurse, cabinet, naloxon
):
    receive(officer, cabinet, naloxon, "5")
    client = _login(nurse)

    page = client.get("/nurse/bag/").content.decode()
    assert "0,4 mg/mL" in page and "0.4 mg/mL" not in page

    taken = client.post(
        "/nurse/bag/take/",
        {"stock": f"{cabinet.pk}:{naloxon.lots.get().pk}", "quantity": "1"},
        follow=True,
    ).content.decode()
    assert "Naloxon 0,4 mg/mL, 1 mL" in taken
    assert "0.4 mg/mL" not in taken


def test_the_low_stock_notification_reads_with_a_decimal_comma(acute, officer, cabinet, naloxon):
    receive(officer, cabinet, naloxon, "5")

    services.stock_watch_low(organisation=acute)

    message = Notification.objects.get(kind=Notification.Kind.LOW_STOCK).message
    assert "Naloxon 0,4 mg/mL, 1 mL" in message


def test_the_visit_page_shows_the_orders_medicine_with_a_decimal_comma():
    visit, client, naloxon, _bag, _lot = on_the_nurses_page(**NALOXON)
    _phone_order_on_page(
        client,
        visit,
        medicine_atc=naloxon.atc_code,
        medicine_name="Naloxon 0.4 mg/mL",
        dose="0.4",
        dose_unit="mg",
        frequency="1",
        duration="1",
    )

    page = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert "Naloxon 0,4 mg/mL" in page
    assert "Naloxon 0.4 mg/mL" not in page


def test_the_api_keeps_the_formularys_machine_form(officer, naloxon):
    answer = f.client_for(officer).get("/api/cabinet/medicines")

    assert answer.status_code == 200
    (line,) = [m for m in answer.json()["medicines"] if m["atc_code"] == "V03AB15"]
    assert line["strength"] == "0.4 mg/mL, 1 mL"
