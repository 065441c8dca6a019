"""R7: a delegation from a physician the platform holds by her authorisation
id names her as registered, with her organisation, whatever was typed, as a
phone order does (R8): on the API and on the nurse's visit page, in what is
stored, what the API gives back and what the nurse sees. One the platform
does not hold is named as typed."""

from __future__ import annotations

import pytest
from django.utils import translation

from acute.clinical.models import Delegation
from tests import factories as f
from tests.acute.clinical.conftest import Scene, physician_of
from tests.acute.test_pages_nurse import _on_site

pytestmark = pytest.mark.django_db


def _delegate(scene: Scene, **fields: str):
    body = {
        "code": "NPU02319",
        "physician_name": "Peter Jensen",
        "physician_authorisation_id": "0a1b2",
        "physician_organisation_name": "Skovklinikken",
        **fields,
    }
    return f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/delegations", body, format="json"
    )


def test_r7_a_delegation_names_the_registered_physician_not_the_typed_one(scene: Scene):
    response = _delegate(scene)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["physician_name"], body["physician_organisation_name"]) == (
        "Hanne Hansen",
        scene.gp.name,
    )
    delegation = Delegation.objects.get()
    assert delegation.physician == scene.physician.user
    assert (delegation.physician_name, delegation.physician_organisation_name) == (
        "Hanne Hansen",
        scene.gp.name,
    )
    [listed] = (f.client_for(scene.nurse).get(f"/api/clinical/visits/{scene.visit.pk}").json())[
        "delegations"
    ]
    assert (listed["physician_name"], listed["physician_organisation_name"]) == (
        "Hanne Hansen",
        scene.gp.name,
    )


def test_r7_a_physician_unknown_to_the_platform_is_named_as_typed(scene: Scene):
    response = _delegate(
        scene,
        physician_name=" Vagtlæge Jensen ",
        physician_organisation_name="Lægevagten",
        physician_authorisation_id="3QW45",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["physician_name"], body["physician_organisation_name"]) == (
        "Vagtlæge Jensen",
        "Lægevagten",
    )
    assert Delegation.objects.get().physician is None


def test_r7_the_nurses_page_shows_the_registered_physician_of_a_delegation():
    _nurse, _shift, visit, client = _on_site()
    registered = physician_of(
        f.gp_practice(), first="Karen", last="Blixen", authorisation_id="KB777"
    )
    response = client.post(
        f"/nurse/visits/{visit.pk}/delegation/",
        {
            "code": "urine-dipstick",
            "physician_name": "Læge Hansen",
            "physician_authorisation_id": "kb777",
            "physician_organisation_name": "Skovklinikken",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    delegation = Delegation.objects.get(visit=visit)
    assert delegation.physician == registered.user
    assert (delegation.physician_name, delegation.physician_organisation_name) == (
        "Karen Blixen",
        registered.organisation.name,
    )
    with translation.override("da"):
        page = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    shown = page.split('data-delegation="urine-dipstick">')[1].split("</li>")[0]
    assert "Karen Blixen" in shown and registered.organisation.name in shown
    assert "Læge Hansen" not in shown and "Skovklinikken" not in shown
    offered = page.split('id="proc-code"')[1].split("</select>")[0]
    assert "Karen Blixen" in offered
