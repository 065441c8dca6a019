"""R11, R12: the hospital's HospitalNotification of a death ends the
citizen's open episode with the outcome died, as any episode ends: the
referrer is still told (here by phone, nobody receiving it), and nothing
contradicting the death is taken afterwards."""

from __future__ import annotations

import pytest

from acute.models import DeadlineWarning, Episode, Outcome, Visit
from core.models import Citizen
from integrations.models import Partner
from tests import factories as f
from tests.acute.clinical.conftest import visit_scene
from tests.integrations.medcom.test_hospital_notification import MORS, STIN, _ack, _example, _post

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
