"""R8: a physician's order whose medicine name matches none of the
formulary's lines for its ATC code is refused on the name, in Danish, on
every door: the dose leaves the bag by the code while the nurse and the
physician read the name back to each other, so "Pivmecillinam" with
N02BE01 would give paracetamol for the antibiotic both agreed on. A name
that holds the line's name (with strength and form) is taken, and a code
the formulary does not know is taken as said."""

from __future__ import annotations

import pytest

from acute.clinical.models import MedicationOrder
from consent.models import CareRelationship
from consent.services import care_relationship_open
from medicine_cabinet.models import Medicine
from tests import factories as f
from tests.acute.clinical.conftest import PHONE_ORDER, visit_scene
from tests.medicine_cabinet.conftest import on_the_nurses_page

pytestmark = pytest.mark.django_db

MISMATCH = "Lægemidlets navn passer ikke til ATC-koden N02BE01"


def _phone(scene, **changes: object):
    return f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders",
        {**PHONE_ORDER, "medicine_atc": "N02BE01", "dose": "1000", **changes},
        format="json",
    )


def test_r8_a_phone_order_naming_another_medicine_than_its_code_is_refused(paracetamol: Medicine):
    scene = visit_scene()
    response = _phone(scene, medicine_name="Pivmecillinam")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert (error["code"], error["field"], error["rule"]) == (
        "order.medicine_name_mismatch",
        "medicine_name",
        "R8",
    )
    assert error["message"] == (
        "Lægemidlets navn passer ikke til ATC-koden N02BE01, som lægemiddellisten kender"
        " som Paracetamol: spørg lægen igen."
    )
    assert not MedicationOrder.objects.exists()


@pytest.mark.parametrize("name", ["Paracetamol", "paracetamol 500 mg tablet", "PARACETAMOL"])
def test_r8_a_name_holding_the_formularys_name_is_taken(paracetamol: Medicine, name: str):
    scene = visit_scene()
    response = _phone(scene, medicine_name=name)
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("name", ["Para", "cetamol", "P"])
def test_r8_a_piece_of_the_formularys_name_is_no_name(paracetamol: Medicine, name: str):
    """Only the line's name, or its first words, name its medicine: a few
    letters of it match many medicines."""
    scene = visit_scene()
    response = _phone(scene, medicine_name=name)
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "order.medicine_name_mismatch"
    assert not MedicationOrder.objects.exists()


def test_r8_a_code_the_formulary_does_not_know_is_taken_as_said(paracetamol: Medicine):
    scene = visit_scene()
    response = _phone(scene, medicine_atc="J01CA08", medicine_name="Selexid", dose="400")
    assert response.status_code == 201, response.json()


def test_r8_a_written_order_naming_another_medicine_than_its_code_is_refused(
    paracetamol: Medicine,
):
    scene = visit_scene()
    care_relationship_open(
        citizen=scene.citizen,
        organisation=scene.gp,
        basis=CareRelationship.Basis.RECORDED,
        source_type="test",
        source_id="1",
    )
    payload = {k: PHONE_ORDER[k] for k in ("dose_unit", "route", "frequency", "duration")}
    response = f.client_for(scene.physician).post(
        f"/api/clinical/visits/{scene.visit.pk}/written-orders",
        {
            **payload,
            "medicine_atc": "N02BE01",
            "medicine_name": "Pivmecillinam",
            "dose": "1000",
            "indication": "Feber",
        },
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "order.medicine_name_mismatch"
    assert not MedicationOrder.objects.exists()


def test_r8_the_nurses_page_refuses_the_mismatch_in_danish_and_keeps_what_she_typed():
    visit, client, _medicine, _bag, _lot = on_the_nurses_page(
        atc="N02BE01", name="Paracetamol", strength="500 mg", form="tablet", unit="tablet"
    )
    response = client.post(
        f"/nurse/visits/{visit.pk}/order/",
        {
            "medicine_atc": "N02BE01",
            "medicine_name": "Pivmecillinam",
            "dose": "1000",
            "dose_unit": "mg",
            "frequency": "once",
            "duration": "single dose",
            "ordered_by_name": "Læge Hansen",
            "ordered_by_authorisation_id": "ABC12",
            "ordered_by_organisation_name": "Lægevagten",
            "route": "oralt",
            "indication": "Feber",
            "read_back": "on",
            "read_back_confirmed": "on",
        },
        follow=True,
    )
    assert not MedicationOrder.objects.filter(visit=visit).exists()
    html = response.content.decode()
    assert MISMATCH in html, html[:3000]
