"""R8: what a physician's order names is checked where it is recorded, on
every door. An ATC code whose first letter is none of the classification's
fourteen anatomical main groups (X99XX99) only looks like one and is
refused on its field, in Danish: by phone on the API and on the nurse's
visit page, and written by the physician. A phone order from a physician
the platform holds by her authorisation id names her as registered, with
her organisation, whatever was typed: the nurse and the physician read the
order of the one the id names."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import translation

from acute.clinical.models import MedicationOrder
from consent.audit.models import AuditEntry
from consent.models import CareRelationship
from consent.services import care_relationship_open
from tests import factories as f
from tests.acute.clinical.conftest import PHONE_ORDER, Scene, physician_of
from tests.acute.test_pages_nurse import _on_site
from tests.medicine_cabinet.conftest import on_the_nurses_page

pytestmark = pytest.mark.django_db

NO_GROUP = "anatomiske hovedgrupper"


@pytest.mark.parametrize("atc", ["X99XX99", "E01AA01", "Z99ZZ99", "q01ab02"])
def test_r8_a_phone_order_with_an_atc_code_of_no_main_group_is_refused(scene: Scene, atc: str):
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders",
        {**PHONE_ORDER, "medicine_atc": atc},
        format="json",
    )
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert (error["code"], error["field"], error["rule"]) == (
        "order.atc_group_unknown",
        "medicine_atc",
        "R8",
    )
    assert NO_GROUP in error["message"]
    assert not MedicationOrder.objects.exists()


def test_r8_every_main_group_is_taken(scene: Scene):
    client = f.client_for(scene.nurse)
    for group in "ABCDGHJLMNPRSV":
        response = client.post(
            f"/api/clinical/visits/{scene.visit.pk}/phone-orders",
            {**PHONE_ORDER, "medicine_atc": f"{group}01AA01", "medicine_name": f"Middel {group}"},
            format="json",
        )
        assert response.status_code == 201, (group, response.json())


def test_r8_a_written_order_with_an_atc_code_of_no_main_group_is_refused(scene: Scene):
    care_relationship_open(
        citizen=scene.citizen,
        organisation=scene.gp,
        basis=CareRelationship.Basis.RECORDED,
        source_type="test",
        source_id="1",
    )
    payload = {
        k: PHONE_ORDER[k]
        for k in ("medicine_name", "dose", "dose_unit", "route", "frequency", "duration")
    }
    response = f.client_for(scene.physician).post(
        f"/api/clinical/visits/{scene.visit.pk}/written-orders",
        {**payload, "medicine_atc": "X99XX99", "indication": "Cystitis"},
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "order.atc_group_unknown"
    assert not MedicationOrder.objects.exists()


def _page_order(client, visit, **what: str):
    return client.post(
        f"/nurse/visits/{visit.pk}/order/",
        {
            "medicine_atc": "J01CA08",
            "medicine_name": "Pivmecillinam 400 mg",
            "dose": "400",
            "dose_unit": "mg",
            "frequency": "3 gange dagligt",
            "duration": "3 dage",
            "ordered_by_name": "Læge Hansen",
            "ordered_by_authorisation_id": "ABC12",
            "ordered_by_organisation_name": "Lægevagten",
            "route": "oralt",
            "indication": "Cystitis",
            "read_back": "on",
            "read_back_confirmed": "on",
            **what,
        },
        follow=True,
    )


def test_r8_the_nurses_page_refuses_an_atc_code_of_no_main_group_in_danish():
    _nurse, _shift, visit, client = _on_site()
    response = _page_order(client, visit, medicine_atc="X99XX99")
    html = response.content.decode()
    assert not MedicationOrder.objects.filter(visit=visit).exists()
    assert 'data-code="order.atc_group_unknown"' in html or NO_GROUP in html, html[:3000]
    assert NO_GROUP in html


def test_r8_a_phone_order_names_the_registered_physician_not_the_typed_one(scene: Scene):
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders",
        {
            **PHONE_ORDER,
            "ordered_by_name": "Peter Jensen",
            "ordered_by_organisation": "Skovklinikken",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    ordered_by = response.json()["ordered_by"]
    assert (ordered_by["name"], ordered_by["organisation"], ordered_by["user"]) == (
        "Hanne Hansen",
        scene.gp.name,
        scene.physician.user.pk,
    )
    order = MedicationOrder.objects.get()
    assert (order.ordered_by_name, order.ordered_by_organisation_name) == (
        "Hanne Hansen",
        scene.gp.name,
    )
    assert AuditEntry.objects.filter(
        resource_type="MedicationRequest", resource_id=str(order.pk), outcome="permitted"
    ).exists()


def test_r8_a_physician_unknown_to_the_platform_is_named_as_typed(scene: Scene):
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders",
        {
            **PHONE_ORDER,
            "ordered_by_name": "Peter Jensen",
            "ordered_by_organisation": "Lægevagten",
            "ordered_by_authorisation_id": "9Z9Z9",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    ordered_by = response.json()["ordered_by"]
    assert (ordered_by["name"], ordered_by["organisation"], ordered_by["user"]) == (
        "Peter Jensen",
        "Lægevagten",
        None,
    )


def test_r8_the_nurses_page_shows_the_registered_physician_of_a_phone_order():
    visit, client, _medicine, _bag, _lot = on_the_nurses_page(
        atc="J01CA08", name="Pivmecillinam", strength="400 mg", form="tablet", unit="tablet"
    )
    registered = physician_of(
        f.gp_practice(), first="Karen", last="Blixen", authorisation_id="ABC12"
    )
    response = _page_order(client, visit, ordered_by_name="Læge Hansen")
    assert response.status_code == 200
    order = MedicationOrder.objects.get(visit=visit)
    assert order.ordering_physician == registered.user
    assert order.ordered_by_name == "Karen Blixen"
    assert order.ordered_by_organisation_name == registered.organisation.name
    with translation.override("da"):
        page = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    shown = page.split(f'data-ordered-by="{order.pk}">')[1].split("</p>")[0]
    assert shown == f"Ordineret af Karen Blixen, {registered.organisation.name}"


def test_r8_the_database_keeps_an_orders_atc_code_in_a_main_group(scene: Scene):
    order = f.phone_order(scene.nurse, scene.visit)
    with pytest.raises(IntegrityError), transaction.atomic():
        MedicationOrder.objects.filter(pk=order.pk).update(medicine_atc="X99XX99")
