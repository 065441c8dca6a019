"""R11: the referrer nobody can send the outcome to is phoned by the
coordinator. Once the episode has ended the referral's page is closed to her,
so the open ``referrer_untold`` warning itself says whom to phone and what to
tell them — and nothing else of the record; showing it is a read of the
citizen's data (R9), and so is marking the referrer told. Other roles are
refused, and the refusal is recorded."""

from __future__ import annotations

import pytest
from django.test import Client

from acute.models import DeadlineWarning, Outcome
from consent.audit.models import AuditEntry
from tests import factories as f
from tests.acute.clinical.conftest import Scene, visit_scene
from tests.core.test_danish_pages import _read

pytestmark = pytest.mark.django_db


def _ended(outcome: str = Outcome.TREATED_AT_HOME) -> Scene:
    """A GP's phone referral, no partner speaks for the practice: the nurse
    ends the episode and the referrer is left untold."""
    scene = visit_scene()
    done = f.client_for(scene.nurse).post(
        f"/api/acute/visits/{scene.visit.pk}/complete",
        {"outcome": outcome, "note": "Ringer igen i morgen ved behov."},
        format="json",
    )
    assert done.status_code == 200, done.content
    return scene


def _untold(scene: Scene) -> dict:
    response = f.client_for(scene.coordinator).get("/api/acute/warnings")
    assert response.status_code == 200, response.content
    [warning] = [
        w for w in response.json()["results"] if w["kind"] == DeadlineWarning.Kind.REFERRER_UNTOLD
    ]
    return warning


def test_r11_the_open_warning_says_whom_to_phone_and_the_outcome() -> None:
    scene = _ended()

    warning = _untold(scene)

    assert warning["referral"] == scene.referral.pk
    assert warning["referrer_to_tell"] == {
        "referrer_name": "Hanne Hansen",
        "referrer_organisation": scene.gp.name,
        "referrer_phone": "+4539000000",
        "outcome": Outcome.TREATED_AT_HOME,
        "outcome_note": "Ringer igen i morgen ved behov.",
    }
    # Nothing else of the record travels with it: no clinical picture, no CPR.
    assert "clinical_picture" not in str(warning) and scene.citizen.cpr not in str(warning)
    # The referral's page itself stays closed to her.
    page = f.client_for(scene.coordinator).get(f"/api/acute/referrals/{scene.referral.pk}")
    assert page.status_code in (403, 404)


def test_r9_showing_whom_to_phone_is_an_audited_read_with_its_purpose() -> None:
    scene = _ended()

    warning = _untold(scene)

    [read] = AuditEntry.objects.filter(
        citizen_id=scene.citizen.pk, reason_code="referrer_untold", action="read"
    )
    assert (read.outcome, read.purpose) == ("permitted", "treatment")
    assert read.actor_user_id == scene.coordinator.user_id
    assert (read.resource_type, read.resource_id) == ("Flag", str(warning["id"]))


def test_other_warnings_carry_nobody_to_phone() -> None:
    scene = visit_scene()
    f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": "NPU03230", "value": "3.1", "unit": "mmol/L"}]},
        format="json",
    )
    response = f.client_for(scene.coordinator).get("/api/acute/warnings")
    [warning] = response.json()["results"]
    assert warning["kind"] == DeadlineWarning.Kind.RESULTS_UNSENT
    assert warning["referrer_to_tell"] is None
    assert not AuditEntry.objects.filter(reason_code="referrer_untold").exists()


def test_r11_marking_the_referrer_told_records_who_and_when_and_is_audited() -> None:
    scene = _ended()
    warning = _untold(scene)

    told = f.client_for(scene.coordinator).post(f"/api/acute/warnings/{warning['id']}/acknowledge")

    assert told.status_code == 200, told.content
    row = DeadlineWarning.objects.get(pk=warning["id"])
    assert row.acknowledged_by_id == scene.coordinator.user_id and row.acknowledged_at
    [entry] = AuditEntry.objects.filter(
        citizen_id=scene.citizen.pk, reason_code="warning_acknowledged"
    )
    assert (entry.action, entry.outcome, entry.resource_id) == (
        "update",
        "permitted",
        str(warning["id"]),
    )
    # Told: it leaves the board, and whom to phone with it.
    response = f.client_for(scene.coordinator).get("/api/acute/warnings")
    assert [w for w in response.json()["results"] if w["kind"] == "referrer_untold"] == []


@pytest.mark.parametrize("role", ["nurse", "physician"])
def test_r9_other_roles_are_refused_the_warnings_and_the_refusal_is_recorded(role: str) -> None:
    scene = _ended()
    member = scene.nurse if role == "nurse" else scene.physician

    response = f.client_for(member).get("/api/acute/warnings")

    assert response.status_code == 403
    assert AuditEntry.objects.filter(
        actor_user_id=member.user_id, resource_type="Flag", outcome="denied"
    ).exists()
    assert not AuditEntry.objects.filter(reason_code="referrer_untold").exists()


def test_r9_the_board_page_refused_to_another_role_is_recorded() -> None:
    scene = _ended()
    client = Client()
    f.log_in(client, scene.nurse)

    response = client.get("/coordinator/")

    assert response.status_code in (403, 404)
    assert AuditEntry.objects.filter(
        actor_user_id=scene.nurse.user_id, resource_type="Flag", outcome="denied"
    ).exists()


def test_the_board_page_says_whom_to_phone_in_danish() -> None:
    scene = _ended(Outcome.HANDED_BACK)
    client = Client()
    f.log_in(client, scene.coordinator)

    response = client.get("/coordinator/", HTTP_ACCEPT_LANGUAGE="da")

    assert response.status_code == 200
    text, _links = _read(response.content.decode())
    assert "Ring til Hanne Hansen" in text
    assert "tlf. +4539000000" in text
    assert "Overdraget til hjemmesygeplejen" in text
    assert "Henviser har fået besked" in text
    assert "referrer_untold" not in text and "handed_back" not in text
    assert AuditEntry.objects.filter(
        citizen_id=scene.citizen.pk, reason_code="referrer_untold"
    ).exists()
