"""R8: the physician's written order tapped twice on her phone is one order,
not two that each allow the nurse a dose (``core.form_once``)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from acute.clinical.models import MedicationOrder
from tests import factories
from tests.acute.clinical.conftest import Scene

pytestmark = pytest.mark.django_db

PARACETAMOL = {
    "medicine_atc": "N02BE01",
    "medicine_name": "Paracetamol 500 mg tablet",
    "dose": "1000",
    "dose_unit": "mg",
    "route": "oral",
    "frequency": "4 gange dagligt",
    "duration": "3 dage",
    "indication": "Feber",
}
REF = re.compile(r'name="form_ref" value="([0-9a-f]{32})"')


def test_r8_a_written_order_sent_twice_is_one_order(scene: Scene):
    client = Client()
    assert factories.log_in(client, scene.physician).status_code == 302
    ref = REF.search(client.get("/physician/orders/new/").content.decode())
    assert ref is not None
    form = {**PARACETAMOL, "visit_id": str(scene.visit.pk), "form_ref": ref.group(1)}

    first = client.post("/physician/orders/new/", form)
    second = client.post("/physician/orders/new/", form)

    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]
    assert MedicationOrder.objects.filter(visit=scene.visit).count() == 1
    shown = client.get(second["Location"]).content.decode()
    assert "Formularen var allerede modtaget; intet blev gjort to gange." in shown
