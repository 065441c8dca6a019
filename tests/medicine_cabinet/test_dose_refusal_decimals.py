"""R8's refusals of a dose quote the order's medicine as the physician named
it ("Naloxon 0.4 mg/mL"): a Danish reader sees its strength with a decimal
comma, as on every other cabinet page, while the error's fields keep the
machine form."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from medicine_cabinet import services
from medicine_cabinet.models import Medicine
from tests import factories as f
from tests.medicine_cabinet.conftest import actor, receive, visit_for

pytestmark = pytest.mark.django_db


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
        minimum_stock=Decimal("0"),
    )


def _give(nurse, visit, order_id, medicine, quantity, language):
    return f.client_for(nurse).post(
        "/api/cabinet/administrations",
        {
            "visit": visit.pk,
            "order": order_id,
            "medicine": medicine.pk,
            "quantity": quantity,
            "unit": medicine.unit,
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE=language,
    )


def test_r8_a_refused_dose_names_the_medicine_with_the_readers_decimal_mark(
    officer, nurse, cabinet, bag, naloxon
):
    lot = receive(officer, cabinet, naloxon, "5")
    services.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=cabinet,
        destination=bag,
        quantity=Decimal("3"),
        unit=naloxon.unit,
    )
    visit = visit_for(nurse, f.citizen())
    order = (
        f.client_for(nurse)
        .post(
            f"/api/clinical/visits/{visit.pk}/phone-orders",
            {
                "medicine_atc": naloxon.atc_code,
                "medicine_name": "Naloxon 0.4 mg/mL",
                "dose": "1",
                "dose_unit": "ampoule",
                "route": "intravenous",
                "frequency": "once",
                "duration": "single dose",
                "indication": "Opioidforgiftning",
                "ordered_at": timezone.now().isoformat(),
                "ordered_by_name": "Hanne Hansen",
                "ordered_by_role": "Læge",
                "ordered_by_organisation": "Lægevagten",
                "ordered_by_authorisation_id": "0A1B2",
                "read_back": True,
                "read_back_confirmed": True,
            },
            format="json",
        )
        .json()
    )

    assert _give(nurse, visit, order["id"], naloxon, "1", "da").status_code == 201
    # A second ampoule against an order of one.
    limit = _give(nurse, visit, order["id"], naloxon, "1", "da").json()["error"]
    assert limit["code"] == "order.limit_exceeded"
    assert "Naloxon 0,4 mg/mL" in limit["message"] and "0.4" not in limit["message"]
    # The fields a client reads keep the machine form.
    assert (limit["remaining"], limit["asked"], limit["unit"]) == ("0", "1", "ampoule")

    english = _give(nurse, visit, order["id"], naloxon, "1", "en").json()["error"]
    assert "Naloxon 0.4 mg/mL" in english["message"]
