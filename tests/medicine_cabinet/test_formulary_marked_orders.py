"""A medicine the formulary marks dependence-forming (§4) is ordered as one,
also where the rules' list of ATC codes does not name it: never by phone, on
any door; a written order for it is a §4 order (R8)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from acute.clinical.models import MedicationOrder
from consent.audit.models import AuditEntry
from consent.models import CareRelationship
from consent.services import care_relationship_open
from medicine_cabinet import services
from medicine_cabinet.models import Medicine
from tests import factories as f
from tests.acute.clinical.conftest import PHONE_ORDER, visit_scene
from tests.medicine_cabinet.conftest import on_the_nurses_page

pytestmark = pytest.mark.django_db

OXYCODONE = {
    "atc_code": "N02AA05",
    "name": "Oxycodon",
    "strength": "5 mg",
    "form": "tablet",
    "unit": "tablet",
}


def oxycodone() -> Medicine:
    """Marked §4 in the formulary; the rules' list (morphine, midazolam) does not name it."""
    return services.medicine_upsert(
        **OXYCODONE,
        package_size=Decimal("20"),
        dispensing=Medicine.Dispensing.PRESCRIPTION,
        dependence_forming=True,
        minimum_stock=Decimal("0"),
    )


def test_a_phone_order_for_a_medicine_the_formulary_marks_dependence_forming_is_refused(settings):
    assert "N02AA05" not in settings.CLINICAL_DEPENDENCE_FORMING_ATC
    scene = visit_scene()
    oxycodone()
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders",
        {**PHONE_ORDER, "medicine_atc": "n02aa05 ", "medicine_name": "Oxycodon 5 mg", "dose": "5"},
        format="json",
    )
    assert response.status_code == 403, response.json()
    assert response.json()["error"]["code"] == "order.dependence_forming_by_phone"
    assert not MedicationOrder.objects.exists()
    assert AuditEntry.objects.filter(
        citizen_id=scene.citizen.pk,
        resource_type="MedicationRequest",
        outcome="denied",
        reason_code="order.dependence_forming_by_phone",
    ).exists()


def test_the_nurses_page_refuses_the_phone_order_in_danish():
    visit, client, medicine, _bag, _lot = on_the_nurses_page(
        atc="N02AA05", name="Oxycodon", strength="5 mg", form="tablet", unit="tablet"
    )
    Medicine.objects.filter(pk=medicine.pk).update(dependence_forming=True)
    response = client.post(
        f"/nurse/visits/{visit.pk}/order/",
        {
            "medicine_atc": "N02AA05",
            "medicine_name": "Oxycodon 5 mg",
            "dose": "5",
            "dose_unit": "mg",
            "frequency": "once",
            "duration": "single dose",
            "ordered_by_name": "Læge Hansen",
            "ordered_by_authorisation_id": "ABC12",
            "ordered_by_organisation_name": "Lægevagten",
            "route": "oralt",
            "indication": "Smerter",
            "read_back": "on",
            "read_back_confirmed": "on",
        },
        follow=True,
    )
    assert not MedicationOrder.objects.filter(visit=visit).exists()
    html = response.content.decode()
    assert "kan ikke ordineres telefonisk" in html, html[:3000]


def test_a_written_order_for_it_is_a_dependence_forming_order():
    scene = visit_scene()
    oxycodone()
    care_relationship_open(
        citizen=scene.citizen,
        organisation=scene.gp,
        basis=CareRelationship.Basis.RECORDED,
        source_type="test",
        source_id="1",
    )
    payload = {k: PHONE_ORDER[k] for k in ("dose_unit", "route", "frequency", "duration")}
    payload |= {
        "medicine_atc": "N02AA05",
        "medicine_name": "Oxycodon 5 mg",
        "dose": "5",
        "indication": "Smerter",
    }
    response = f.client_for(scene.physician).post(
        f"/api/clinical/visits/{scene.visit.pk}/written-orders", payload, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["dependence_forming"] is True
    assert MedicationOrder.objects.get().dependence_forming is True
