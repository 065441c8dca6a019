"""A result typed wrong is corrected or withdrawn, never edited or deleted:
the wrong one is marked entered in error with who, when and why, the right
value replaces it, the eGFR follows its creatinine, the critical alert for a
value that never was is settled, and every refusal is a denied attempt."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from acute.clinical.models import LabResult, PhysicianAlert
from consent.audit.models import AuditEntry
from core.models import Role
from tests import factories
from tests.acute.clinical.conftest import Scene
from tests.acute.test_pages import _assigned, _login, _walk_to_site

pytestmark = pytest.mark.django_db


def record(scene: Scene, *results: dict[str, object]) -> list[dict]:
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results", {"results": list(results)}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()["results"]


def correct(membership, result_id: int, **body: object):
    return factories.client_for(membership).post(
        f"/api/clinical/results/{result_id}/correct", body, format="json"
    )


def withdraw(membership, result_id: int, **body: object):
    return factories.client_for(membership).post(
        f"/api/clinical/results/{result_id}/withdraw", body, format="json"
    )


def denied(result_id: int, code: str) -> bool:
    return AuditEntry.objects.filter(
        resource_type="Observation",
        resource_id=str(result_id),
        outcome="denied",
        reason_code=code,
    ).exists()


def test_a_wrong_crp_is_corrected_by_a_new_result_that_replaces_it(scene: Scene) -> None:
    [crp] = record(scene, {"code": "NPU19748", "value": "250", "unit": "mg/L"})
    response = correct(scene.nurse, crp["id"], reason="Tastefejl: 25", value="25", unit="mg/L")
    assert response.status_code == 201, response.json()
    old, new = response.json()["results"]
    assert old["id"] == crp["id"] and old["status"] == "entered-in-error"
    assert old["withdrawn_reason"] == "Tastefejl: 25"
    assert new["status"] == "final" and new["value"] == "25" and new["replaces"] == crp["id"]
    assert new["effective_at"] == crp["effective_at"]

    # Nothing was edited in place: the wrong value stays, marked.
    wrong = LabResult.objects.get(pk=crp["id"])
    assert wrong.value == 250
    assert wrong.withdrawn_by == scene.nurse.user
    visit = factories.client_for(scene.nurse).get(f"/api/clinical/visits/{scene.visit.pk}").json()
    assert [(r["value"], r["status"]) for r in visit["results"]] == [
        ("250", "entered-in-error"),
        ("25", "final"),
    ]
    # FHIR shows both: the wrong one entered in error, the right one naming it.
    client = factories.client_for(scene.nurse)
    body = client.get(f"/fhir/Observation/lab-{crp['id']}").json()
    assert body["status"] == "entered-in-error"
    assert "Tastefejl" in body["note"][0]["text"]
    body = client.get(f"/fhir/Observation/lab-{new['id']}").json()
    assert body["status"] == "final"
    assert body["extension"][0]["valueReference"]["reference"] == f"Observation/lab-{crp['id']}"


def test_a_creatinine_corrected_takes_its_egfr_with_it_and_the_egfr_is_not_corrected_alone(
    scene: Scene,
) -> None:
    creatinine, egfr = record(scene, {"code": "NPU18016", "value": "950", "unit": "umol/L"})
    assert egfr["derived_from"] == creatinine["id"]

    refused = correct(scene.nurse, egfr["id"], reason="forkert", value="60", unit="mL/min")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "lab.derived_follows_source"
    assert denied(egfr["id"], "lab.derived_follows_source")

    response = correct(scene.nurse, creatinine["id"], reason="Tastefejl", value="95", unit="umol/L")
    assert response.status_code == 201, response.json()
    results = response.json()["results"]
    assert [r["status"] for r in results] == [
        "entered-in-error",
        "entered-in-error",
        "final",
        "final",
    ]
    new_creatinine, new_egfr = results[2], results[3]
    assert new_egfr["derived_from"] == new_creatinine["id"]
    assert new_egfr["replaces"] == egfr["id"]
    assert float(new_egfr["value"]) > float(egfr["value"])


def test_a_withdrawn_critical_value_settles_its_alert_and_cannot_be_withdrawn_twice(
    scene: Scene,
) -> None:
    [potassium] = record(scene, {"code": "NPU03230", "value": "6.9", "unit": "mmol/L"})
    alert = PhysicianAlert.objects.get(lab_result_id=potassium["id"])
    assert alert.acknowledged_at is None

    response = withdraw(scene.nurse, potassium["id"], reason="Hæmolyseret prøve")
    assert response.status_code == 200, response.json()
    assert [r["status"] for r in response.json()["results"]] == ["entered-in-error"]
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None and alert.acknowledged_by == scene.nurse.user
    physician_view = factories.client_for(scene.physician).get("/api/clinical/alerts").json()
    assert physician_view["alerts"] == []

    again = withdraw(scene.nurse, potassium["id"], reason="igen")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "lab.already_withdrawn"
    assert denied(potassium["id"], "lab.already_withdrawn")


def test_a_corrected_value_that_is_critical_raises_its_own_alert(scene: Scene) -> None:
    [potassium] = record(scene, {"code": "NPU03230", "value": "3.9", "unit": "mmol/L"})
    response = correct(scene.nurse, potassium["id"], reason="Tastefejl", value="6.9", unit="mmol/L")
    assert response.status_code == 201, response.json()
    new = response.json()["results"][1]
    assert PhysicianAlert.objects.filter(lab_result_id=new["id"]).count() == 1


def test_a_reason_is_required_and_nothing_is_written_without_one(scene: Scene) -> None:
    [crp] = record(scene, {"code": "NPU19748", "value": "250", "unit": "mg/L"})
    for response in (
        withdraw(scene.nurse, crp["id"], reason="  "),
        correct(scene.nurse, crp["id"], value="25", unit="mg/L"),
    ):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "lab.withdraw_reason_required"
    assert denied(crp["id"], "lab.withdraw_reason_required")
    assert LabResult.objects.get(pk=crp["id"]).status == "final"
    assert LabResult.objects.count() == 1


def test_an_implausible_or_unchanged_correction_is_refused_whole(scene: Scene) -> None:
    [crp] = record(scene, {"code": "NPU19748", "value": "250", "unit": "mg/L"})
    implausible = correct(scene.nurse, crp["id"], reason="x", value="99999", unit="mg/L")
    assert implausible.status_code == 400
    unchanged = correct(scene.nurse, crp["id"], reason="x", value="250", unit="mg/L")
    assert unchanged.status_code == 400
    assert unchanged.json()["error"]["code"] == "lab.correction_unchanged"
    assert LabResult.objects.get(pk=crp["id"]).status == "final"
    assert LabResult.objects.count() == 1


def test_a_colleague_of_the_acute_function_with_the_care_relationship_may_correct(
    scene: Scene,
) -> None:
    [crp] = record(scene, {"code": "NPU19748", "value": "250", "unit": "mg/L"})
    colleague = factories.staff(Role.ACUTE_NURSE, scene.visit.shift.acute_function)
    # Without a care relationship (R1) of her own: "not found", audited.
    refused = withdraw(colleague, crp["id"], reason="Tastefejl")
    assert refused.status_code == 404
    assert LabResult.objects.get(pk=crp["id"]).status == "final"
    assert AuditEntry.objects.filter(
        resource_type="Observation", resource_id=str(crp["id"]), outcome="denied"
    ).exists()


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.PHYSICIAN])
def test_roles_other_than_the_nurse_are_refused(scene: Scene, role: str) -> None:
    [crp] = record(scene, {"code": "NPU19748", "value": "250", "unit": "mg/L"})
    member = scene.coordinator if role == Role.COORDINATOR else scene.physician
    response = withdraw(member, crp["id"], reason="Tastefejl")
    assert response.status_code == 403
    assert LabResult.objects.get(pk=crp["id"]).status == "final"


def test_a_nurse_without_the_care_relationship_on_another_shift_is_refused(scene: Scene) -> None:
    [crp] = record(scene, {"code": "NPU19748", "value": "250", "unit": "mg/L"})
    stranger, _shift = factories.acute_nurse_on_shift()
    response = withdraw(stranger, crp["id"], reason="Tastefejl")
    assert response.status_code == 404
    assert AuditEntry.objects.filter(
        resource_type="Observation",
        resource_id=str(crp["id"]),
        outcome="denied",
        actor_user_id=stranger.user_id,
    ).exists()
    assert LabResult.objects.get(pk=crp["id"]).status == "final"


def test_a_result_is_corrected_after_the_visit_and_after_the_citizens_death(
    scene: Scene,
) -> None:
    """The record must be right: the corrected value keeps the time it was
    taken, before her death."""
    [crp] = record(scene, {"code": "NPU19748", "value": "250", "unit": "mg/L"})
    citizen = scene.citizen
    citizen.deceased_at = timezone.now() + dt.timedelta(seconds=1)
    citizen.save(update_fields=["deceased_at"])
    response = correct(scene.nurse, crp["id"], reason="Tastefejl", value="25", unit="mg/L")
    assert response.status_code == 201, response.json()


def test_the_nurse_corrects_and_withdraws_on_her_visit_page() -> None:
    """Beside each result on the visit page: a reason (required) and the right
    value; without a value the result is only marked entered in error."""
    nurse, _shift, visit = _assigned()
    client: Client = _login(nurse)
    _walk_to_site(client, visit)
    assert client.post(
        f"/nurse/visits/{visit.pk}/lab/", {"code": "NPU19748", "value": "250", "unit": "mg/L"}
    ).status_code in (200, 302)
    crp = LabResult.objects.get(visit=visit)
    html = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert f"/nurse/visits/{visit.pk}/results/{crp.pk}/fix/" in html

    refused = client.post(f"/nurse/visits/{visit.pk}/results/{crp.pk}/fix/", {"reason": ""})
    assert refused.status_code == 400
    assert 'data-code="lab.withdraw_reason_required"' in refused.content.decode()

    fixed = client.post(
        f"/nurse/visits/{visit.pk}/results/{crp.pk}/fix/", {"reason": "Tastefejl", "value": "25"}
    )
    assert fixed.status_code == 302
    new = LabResult.objects.get(replaces=crp)
    assert new.value == 25
    html = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert f'data-result="{crp.pk}" data-status="entered-in-error"' in html
    assert "Tastefejl" in html

    withdrawn = client.post(
        f"/nurse/visits/{visit.pk}/results/{new.pk}/fix/", {"reason": "Forkert prøve"}
    )
    assert withdrawn.status_code == 302
    new.refresh_from_db()
    assert new.status == LabResult.Status.ENTERED_IN_ERROR
