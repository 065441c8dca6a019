"""R11, R12: the hospital's HospitalNotification of a death ends the
citizen's open episode with the outcome died, as any episode ends: the
referrer is still told (here by phone, nobody receiving it), and nothing
contradicting the death is taken afterwards."""

from __future__ import annotations

import pytest
from django.test import Client

from acute.models import DeadlineWarning, Episode, Outcome, Visit
from consent.audit.models import AuditEntry
from core.models import Citizen, Role
from integrations.models import Partner
from tests import factories as f
from tests.acute.clinical.conftest import visit_scene
from tests.integrations.medcom.test_hospital_notification import (
    MORS,
    STIN,
    _ack,
    _dead,
    _example,
    _post,
    _sent_anew,
)

pytestmark = pytest.mark.django_db


def test_r12_a_death_reported_by_the_hospital_ends_the_open_episode_as_died(
    hospital: Partner, citizen: Citizen
) -> None:
    referral = f.acute_referral(person=citizen, accepted=False)
    _post(hospital, _example(STIN))

    status, body = _post(hospital, _example(MORS))

    assert (status, _ack(body)[0]) == (200, "ok")
    episode = Episode.objects.get(pk=referral.episode_id)
    assert (episode.status, episode.outcome) == (Episode.Status.COMPLETED, Outcome.DIED)
    assert not Episode.objects.filter(citizen=citizen, status=Episode.Status.OPEN).exists()
    # R11: the referrer is still told; nobody speaks for this GP, so the
    # coordinator phones them with the outcome.
    [untold] = DeadlineWarning.objects.filter(kind=DeadlineWarning.Kind.REFERRER_UNTOLD)
    assert untold.referral_id == referral.pk


def test_r12_a_death_while_a_nurse_is_at_the_door_leaves_the_episode_to_her(
    hospital: Partner, citizen: Citizen
) -> None:
    scene = visit_scene()
    # The citizen of MedCom's example is the one the nurse is with.
    cpr = citizen.cpr
    Citizen.objects.filter(pk=citizen.pk).delete()
    Citizen.objects.filter(pk=scene.citizen.pk).update(cpr=cpr)

    status, body = _post(hospital, _example(MORS))

    assert (status, _ack(body)[0]) == (200, "ok")
    scene.visit.refresh_from_db()
    assert scene.visit.status == Visit.Status.ON_SITE
    assert Episode.objects.get(pk=scene.visit.episode_id).status == Episode.Status.OPEN
    refused = f.client_for(scene.nurse).post(
        f"/api/acute/visits/{scene.visit.pk}/complete",
        {"outcome": Outcome.TREATED_AT_HOME},
        format="json",
    )
    assert refused.status_code == 412
    assert refused.json()["error"]["code"] == "outcome.contradicts_death"


def test_r11_a_death_withdrawn_by_the_hospital_warns_the_coordinator_whom_to_correct(
    hospital: Partner, citizen: Citizen
) -> None:
    """The referrer was told "died" and the home nursing got a hand-back
    saying so: once the hospital withdraws the death as reported in error,
    the coordinator's board says so and whom to correct it with, in Danish;
    raising it and acknowledging it are on the citizen's log (R9)."""
    referral = f.acute_referral(person=citizen, accepted=False)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    _post(hospital, _example(STIN))
    _post(hospital, _example(MORS))
    assert not DeadlineWarning.objects.filter(kind=DeadlineWarning.Kind.DEATH_WITHDRAWN).exists()

    status, body = _post(hospital, _sent_anew(_example(STIN), deceasedBoolean=False))

    assert (status, _ack(body)[0]) == (200, "ok"), body
    [warning] = DeadlineWarning.objects.filter(kind=DeadlineWarning.Kind.DEATH_WITHDRAWN)
    assert warning.referral_id == referral.pk and warning.acknowledged_at is None
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, detail__step="death_withdrawn_warning"
    ).exists()
    client = f.client_for(coordinator)
    shown = client.get("/api/acute/warnings", HTTP_ACCEPT_LANGUAGE="da")
    assert warning.pk in [w["id"] for w in shown.json()["results"]]
    board = Client()
    f.log_in(board, coordinator)
    html = board.get("/coordinator/").content.decode()
    assert "Borgerens dødsfald er trukket tilbage som fejlregistreret" in html
    assert "henviser og borgerens hjemmesygepleje" in html
    assert "death_withdrawn" not in html

    acknowledged = client.post(f"/api/acute/warnings/{warning.pk}/acknowledge")

    assert acknowledged.status_code == 200, acknowledged.content
    warning.refresh_from_db()
    assert warning.acknowledged_by_id == coordinator.user_id
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, reason_code="warning_acknowledged", resource_id=str(warning.pk)
    ).exists()


def test_r11_a_death_the_hospital_corrects_before_any_episode_ended_raises_nothing(
    hospital: Partner, citizen: Citizen
) -> None:
    """No episode told anyone "died": nothing to correct, no warning."""
    _dead(citizen)

    status, body = _post(hospital, _sent_anew(_example(STIN), deceasedBoolean=False))

    assert (status, _ack(body)[0]) == (200, "ok"), body
    assert not DeadlineWarning.objects.filter(kind=DeadlineWarning.Kind.DEATH_WITHDRAWN).exists()
