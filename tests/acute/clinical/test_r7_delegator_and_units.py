"""R7 on the visit: a delegation is a physician's, never the nurse's own nor
a colleague's who is no physician, on every door (and so is a phone order,
R8); and a result's unit is
matched however the tablet spells micro and litre, for the seeded tests and
for a test added to the catalogue by configuration."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from acute.clinical.models import Delegation, LabResult, MedicationOrder, TestDefinition
from acute.services import (
    visit_accept,
    visit_arrive,
    visit_complete,
    visit_plan_follow_up,
    visit_set_off,
)
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.models import Role
from tests import factories
from tests.acute.clinical.conftest import PHONE_ORDER, Scene
from tests.acute.test_pages import _assigned, _login, _walk_to_site

pytestmark = pytest.mark.django_db


def _delegate(scene: Scene, client=None, **fields: str):
    body = {
        "code": "NPU02319",
        "physician_name": "Hanne Hansen",
        "physician_authorisation_id": "0A1B2",
        "physician_organisation_name": "Lægehuset",
        **fields,
    }
    client = client or factories.client_for(scene.nurse)
    return client.post(f"/api/clinical/visits/{scene.visit.pk}/delegations", body, format="json")


def _haemoglobin(scene: Scene):
    return factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": "NPU02319", "value": "7.9", "unit": "mmol/L"}]},
        format="json",
    )


def _with_authorisation_id(membership, authorisation_id: str) -> None:
    membership.user.authorisation_id = authorisation_id
    membership.user.save(update_fields=["authorisation_id"])


def test_r7_the_nurse_cannot_delegate_to_herself(scene: Scene):
    _with_authorisation_id(scene.nurse, "9ZZ99")
    response = _delegate(
        scene, physician_name=scene.nurse.user.display_name, physician_authorisation_id="9ZZ99"
    )
    assert response.status_code == 403, response.json()
    error = response.json()["error"]
    assert (error["code"], error["rule"]) == ("delegation.not_physician", "R7")
    assert "læge" in error["message"]
    assert not Delegation.objects.exists()
    [denied] = AuditEntry.objects.filter(outcome="denied", reason_code="delegation.not_physician")
    assert (denied.citizen_id, denied.resource_type) == (scene.citizen.pk, "Delegation")
    # Nothing was delegated: the test outside R7 is still refused.
    assert _haemoglobin(scene).json()["error"]["code"] == "clinical.delegation_required"


def test_r7_a_colleague_who_is_not_a_physician_cannot_delegate(scene: Scene):
    colleague = factories.staff(Role.ACUTE_NURSE, factories.acute_function())
    _with_authorisation_id(colleague, "7XY77")
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    _with_authorisation_id(coordinator, "5CD55")
    for authorisation_id in ("7XY77", " 5CD55 "):
        response = _delegate(scene, physician_authorisation_id=authorisation_id)
        assert response.status_code == 403, response.json()
        assert response.json()["error"]["code"] == "delegation.not_physician"
    assert not Delegation.objects.exists()
    assert _haemoglobin(scene).status_code == 403


def test_r7_a_physician_known_to_the_platform_or_not_delegates(scene: Scene):
    # The GP on the platform, matched to her user; and the 1813 doctor the
    # platform does not know, taken as stated.
    response = _delegate(scene)
    assert response.status_code == 201, response.json()
    assert Delegation.objects.get(test__code="NPU02319").physician == scene.physician.user
    response = _delegate(
        scene, code="NPU01685", physician_name="Vagtlæge 1813", physician_authorisation_id="3QW45"
    )
    assert response.status_code == 201, response.json()
    assert Delegation.objects.get(test__code="NPU01685").physician is None
    assert _haemoglobin(scene).status_code == 201


def test_r7_a_delegation_on_the_citizens_earlier_visit_does_not_cover_her_follow_up(
    scene: Scene,
):
    """R7: the delegation is recorded on the visit: the same citizen's
    follow-up visit in the same episode needs its own."""
    assert _delegate(scene).status_code == 201
    nurse = Actor.for_membership(scene.nurse)
    visit_complete(visit=scene.visit, outcome="treated_at_home", close_episode=False, actor=nurse)
    other, shift = factories.acute_nurse_on_shift()
    follow_up = visit_plan_follow_up(
        episode=scene.visit.episode,
        shift=shift,
        planned_for=timezone.now(),
        actor=Actor.for_membership(scene.coordinator),
    )
    other_actor = Actor.for_membership(other)
    for step in (visit_accept, visit_set_off, visit_arrive):
        follow_up = step(visit=follow_up, actor=other_actor)
    assert follow_up.citizen_id == scene.citizen.pk

    response = factories.client_for(other).post(
        f"/api/clinical/visits/{follow_up.pk}/results",
        {"results": [{"code": "NPU02319", "value": "7.9", "unit": "mmol/L"}]},
        format="json",
    )
    assert response.status_code == 403, response.json()
    assert response.json()["error"]["code"] == "clinical.delegation_required"
    assert not LabResult.objects.exists()


def test_r8_a_phone_order_in_a_nurses_own_authorisation_id_is_refused(scene: Scene):
    _with_authorisation_id(scene.nurse, "9ZZ99")
    client = factories.client_for(scene.nurse)
    url = f"/api/clinical/visits/{scene.visit.pk}/phone-orders"
    response = client.post(
        url, {**PHONE_ORDER, "ordered_by_authorisation_id": "9ZZ99"}, format="json"
    )
    assert response.status_code == 403, response.json()
    error = response.json()["error"]
    assert (error["code"], error["rule"]) == ("order.not_physician", "R8")
    assert not MedicationOrder.objects.exists()
    assert AuditEntry.objects.filter(
        outcome="denied", reason_code="order.not_physician", citizen_id=scene.citizen.pk
    ).exists()
    # The GP's own id is hers: the order is taken and waits for her confirmation.
    response = client.post(url, PHONE_ORDER, format="json")
    assert response.status_code == 201, response.json()
    assert MedicationOrder.objects.get().ordering_physician == scene.physician.user


def test_r7_the_visit_page_refuses_a_nurses_own_delegation():
    nurse, _shift, visit = _assigned()
    _with_authorisation_id(nurse, "8NU88")
    client = _login(nurse)
    _walk_to_site(client, visit)
    response = client.post(
        f"/nurse/visits/{visit.pk}/delegation/",
        {
            "code": "urine-dipstick",
            "physician_name": "Sygeplejerske",
            "physician_authorisation_id": "8NU88",
            "physician_organisation_name": "Akutfunktionen",
        },
    )
    assert response.status_code == 403
    html = response.content.decode()
    assert 'data-code="delegation.not_physician"' in html
    assert "ikke er læge" in html
    assert not Delegation.objects.filter(visit=visit).exists()
    refused = client.post(f"/nurse/visits/{visit.pk}/procedure/", {"code": "urine-dipstick"})
    assert 'data-code="clinical.delegation_required"' in refused.content.decode()


@pytest.mark.parametrize(
    ("code", "unit", "stored"),
    [
        ("NPU18016", "umol/L", "umol/L"),
        ("NPU18016", "µmol/L", "umol/L"),  # micro sign
        ("NPU18016", "μmol/L", "umol/L"),  # Greek mu
        ("NPU18016", "µmol/l", "umol/L"),
        ("NPU18016", "μmol/l", "umol/L"),
        ("NPU18016", "umol/l", "umol/L"),
        ("NPU03230", "mmol/l", "mmol/L"),
        ("NPU19748", "mg/l", "mg/L"),
    ],
)
def test_r7_a_unit_is_matched_however_micro_and_litre_are_written(
    scene: Scene, code: str, unit: str, stored: str
):
    value = {"NPU18016": "80", "NPU03230": "4,1", "NPU19748": "12"}[code]
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": code, "value": value, "unit": unit}]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert LabResult.objects.get(test__code=code).unit == stored


def test_r7_another_test_s_unit_is_still_refused(scene: Scene):
    for code, unit in (("NPU18016", "mmol/L"), ("NPU03230", "µmol/l"), ("NPU19748", "g/l")):
        response = factories.client_for(scene.nurse).post(
            f"/api/clinical/visits/{scene.visit.pk}/results",
            {"results": [{"code": code, "value": "5", "unit": unit}]},
            format="json",
        )
        assert response.status_code == 400, (code, unit)
        assert response.json()["error"]["code"] == "lab.unit_mismatch"
    assert not LabResult.objects.exists()


def test_r7_a_test_added_by_configuration_takes_its_unit_in_either_case(scene: Scene):
    TestDefinition.objects.create(
        code="NPU01370",
        display="Albumin; plasma",
        kind=TestDefinition.Kind.OBSERVATION,
        predefined=True,
        unit="g/L",
        unit_display="g/L",
        decimals=0,
        plausible_low=Decimal(5),
        plausible_high=Decimal(80),
    )
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": "NPU01370", "value": "38", "unit": "g/l"}]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert LabResult.objects.get(test__code="NPU01370").unit == "g/L"


def test_a_task_delegated_again_on_the_visit_is_a_duplicate_refused_and_audited(scene: Scene):
    """The same task delegated twice on one visit: 409 with its own code on
    the task's field, in Danish, the first delegation kept and the attempt
    on the citizen's log."""
    assert _delegate(scene).status_code == 201
    response = _delegate(scene, physician_name="Anden Læge")
    assert response.status_code == 409, response.json()
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("delegation.exists", "code")
    assert "allerede" in error["message"]
    assert Delegation.objects.filter(test__code="NPU02319").count() == 1
    denied = AuditEntry.objects.filter(outcome="denied", citizen_id=scene.citizen.pk).latest("id")
    assert (denied.reason_code, denied.resource_type) == ("delegation.exists", "Delegation")
