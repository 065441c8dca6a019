"""R8: an order's dose and total are numbers written out, as the physician
said them. An exponent ("1e3", "4E2") is refused with the field's own code —
never read as 1000 mg — on the API (phone and written orders) as on the
nurse's and the physician's pages, and nothing is written; a decimal comma or
point, or a JSON number, is the number it says."""

from __future__ import annotations

import pytest
from django.test import Client

from acute.clinical.models import MedicationOrder
from tests import factories
from tests.acute.clinical.conftest import PHONE_ORDER, Scene

pytestmark = pytest.mark.django_db

WRITTEN = {k: v for k, v in PHONE_ORDER.items() if not k.startswith(("ordered_", "read_"))}


@pytest.mark.parametrize(
    ("field", "typed", "code"),
    [
        ("dose", "1e3", "order.dose_invalid"),
        ("dose", "4E2", "order.dose_invalid"),
        ("dose", "4e+2", "order.dose_invalid"),
        ("total_quantity", "36e2", "order.total_quantity_invalid"),
    ],
)
def test_r8_an_exponent_is_refused_on_every_door_of_an_order(
    scene: Scene, field: str, typed: str, code: str
):
    phone = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders",
        {**PHONE_ORDER, field: typed},
        format="json",
    )
    assert phone.status_code == 400, phone.content
    assert (phone.json()["error"]["code"], phone.json()["error"]["field"]) == (code, field)

    written = factories.client_for(scene.physician).post(
        f"/api/clinical/visits/{scene.visit.pk}/written-orders",
        {**WRITTEN, field: typed},
        format="json",
    )
    assert written.status_code == 400, written.content
    assert written.json()["error"]["code"] == code

    nurse = Client()
    factories.log_in(nurse, scene.nurse)
    page = nurse.post(
        f"/nurse/visits/{scene.visit.pk}/order/",
        {
            **PHONE_ORDER,
            "ordered_by_organisation_name": PHONE_ORDER["ordered_by_organisation"],
            "read_back": "on",
            "read_back_confirmed": "on",
            field: typed,
        },
    )
    assert page.status_code == 400
    assert f'data-code="{code}"' in page.content.decode()

    physician = Client()
    factories.log_in(physician, scene.physician)
    her_page = physician.post(
        "/physician/orders/new/", {**WRITTEN, "visit_id": str(scene.visit.pk), field: typed}
    )
    assert her_page.status_code == 400
    assert f'data-code="{code}"' in her_page.content.decode()

    assert not MedicationOrder.objects.exists()


@pytest.mark.parametrize(("sent", "stored"), [("400", "400"), ("400.5", "400.5"), (400, "400")])
def test_a_dose_written_out_is_the_number_it_says(scene: Scene, sent: object, stored: str):
    answer = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders",
        {**PHONE_ORDER, "dose": sent},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    order = MedicationOrder.objects.get()
    assert order.dose == type(order.dose)(stored)
