"""A visit step the nurse cannot take — out of order, taken twice, on a
colleague's visit — is refused with a precise 4xx, changes nothing, and is a
denied attempt on the citizen's record (R9). What staff write on a visit or an
episode is bounded on every door alike, so a page does not take what the API
refuses, and the hand-back (R11) carries no text without end."""

from __future__ import annotations

import pytest

from acute import services
from acute.models import Episode, Visit, VisitNote
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.errors import Conflict, NotFoundOrNotAllowed
from tests import factories as f
from tests.acute.clinical.conftest import visit_scene
from tests.acute.test_pages import _login

pytestmark = pytest.mark.django_db

LIMIT = 10000


def _denied(visit: Visit, reason: str, step: str) -> list[AuditEntry]:
    return [
        entry
        for entry in AuditEntry.objects.filter(
            citizen_id=visit.citizen_id, outcome="denied", reason_code=reason
        )
        if entry.detail.get("step") == step and entry.resource_id == f"visit-{visit.pk}"
    ]


def test_r9_arriving_before_accepting_is_a_409_that_changes_nothing_and_is_audited():
    scene = visit_scene(on_site=False)
    response = f.client_for(scene.nurse).post(
        f"/api/acute/visits/{scene.visit.pk}/on-site", format="json"
    )
    assert response.status_code == 409, response.json()
    assert response.json()["error"]["code"] == "visit.transition_not_allowed"
    scene.visit.refresh_from_db()
    assert scene.visit.status == Visit.Status.ASSIGNED
    assert scene.visit.on_site_at is None
    assert len(_denied(scene.visit, "visit.transition_not_allowed", "on_site")) == 1


def test_r9_completing_a_visit_twice_is_refused_and_audited_and_the_first_outcome_stays():
    scene = visit_scene()
    nurse = Actor.for_membership(scene.nurse)
    services.visit_complete(
        visit=scene.visit, outcome="treated_at_home", close_episode=False, actor=nurse
    )
    with pytest.raises(Conflict) as refused:
        services.visit_complete(visit=scene.visit, outcome="admitted", actor=nurse)
    assert refused.value.code == "visit.transition_not_allowed"
    scene.visit.refresh_from_db()
    assert scene.visit.outcome == "treated_at_home"
    assert Episode.objects.get(pk=scene.visit.episode_id).status == Episode.Status.OPEN
    assert len(_denied(scene.visit, "visit.transition_not_allowed", "completed")) == 1


def test_r9_a_step_on_a_colleagues_visit_is_refused_as_not_found_and_audited():
    scene = visit_scene(on_site=False)
    colleague, _shift = f.acute_nurse_on_shift()
    with pytest.raises(NotFoundOrNotAllowed):
        services.visit_accept(visit=scene.visit, actor=Actor.for_membership(colleague))
    with pytest.raises(NotFoundOrNotAllowed):
        services.visit_decline(visit=scene.visit, actor=Actor.for_membership(colleague))
    scene.visit.refresh_from_db()
    assert scene.visit.status == Visit.Status.ASSIGNED
    assert len(_denied(scene.visit, "not_found", "accepted")) == 1
    assert len(_denied(scene.visit, "not_found", "declined")) == 1


def _refused_writes(visit: Visit, reason: str, resource_type: str) -> int:
    return AuditEntry.objects.filter(
        citizen_id=visit.citizen_id,
        outcome="denied",
        action="create",
        reason_code=reason,
        resource_type=resource_type,
    ).count()


def test_r9_a_note_or_vital_signs_before_she_is_at_the_door_are_refused_and_audited():
    """Documenting on a visit she has accepted but not arrived at is refused
    (409), nothing is written, and each attempt is a denied attempt on the
    citizen's record, on the API and the page alike, as a result refused for
    the visit's status is."""
    scene = visit_scene(on_site=False)
    services.visit_accept(visit=scene.visit, actor=Actor.for_membership(scene.nurse))
    api = f.client_for(scene.nurse)
    base = f"/api/acute/visits/{scene.visit.pk}"
    note = api.post(f"{base}/notes", {"text": "Ringet på"}, format="json")
    vitals = api.post(
        f"{base}/vital-signs", {"measurements": [{"code": "8310-5", "value": "37"}]}, format="json"
    )
    for response in (note, vitals):
        assert response.status_code == 409, response.json()
        assert response.json()["error"]["code"] == "visit.not_on_site"
    page = _login(scene.nurse).post(
        f"/nurse/visits/{scene.visit.pk}/vitals/",
        {"vital_8310-5": "37", "client_ref": "vitals-early-01"},
    )
    assert page.status_code == 409
    assert not VisitNote.objects.filter(visit=scene.visit).exists()
    assert not scene.visit.vital_signs.exists()
    assert _refused_writes(scene.visit, "visit.not_on_site", "Encounter") == 1
    assert _refused_writes(scene.visit, "visit.not_on_site", "Observation") == 2


def test_r9_a_vital_sign_no_living_person_has_is_refused_and_audited_as_a_result_is():
    scene = visit_scene()
    response = f.client_for(scene.nurse).post(
        f"/api/acute/visits/{scene.visit.pk}/vital-signs",
        {"measurements": [{"code": "8310-5", "value": "400"}]},
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "vital_signs.value_out_of_range"
    assert not scene.visit.vital_signs.exists()
    assert _refused_writes(scene.visit, "vital_signs.value_out_of_range", "Observation") == 1


def test_a_note_beyond_the_limit_is_refused_on_the_page_as_in_the_api_and_nothing_is_saved():
    scene = visit_scene()
    page = _login(scene.nurse)
    response = page.post(
        f"/nurse/visits/{scene.visit.pk}/note/", {"kind": "note", "text": "x" * (LIMIT + 1)}
    )
    assert response.status_code == 400
    assert "højst 10000 tegn" in response.content.decode()
    assert not VisitNote.objects.filter(visit=scene.visit).exists()
    saved = page.post(
        f"/nurse/visits/{scene.visit.pk}/note/", {"kind": "note", "text": "x" * LIMIT}
    )
    assert saved.status_code == 302
    assert VisitNote.objects.filter(visit=scene.visit).count() == 1


@pytest.mark.parametrize("field", ["assessment", "note"])
def test_an_outcome_beyond_the_limit_is_a_400_and_the_visit_and_episode_stay_open(field):
    scene = visit_scene()
    response = f.client_for(scene.nurse).post(
        f"/api/acute/visits/{scene.visit.pk}/complete",
        {"outcome": "treated_at_home", field: "a" * (LIMIT + 1)},
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "visit.text_too_long"
    assert response.json()["error"]["field"] == field
    scene.visit.refresh_from_db()
    assert scene.visit.status == Visit.Status.ON_SITE
    assert not VisitNote.objects.filter(visit=scene.visit).exists()
    assert Episode.objects.get(pk=scene.visit.episode_id).status == Episode.Status.OPEN


def test_the_coordinators_outcome_note_and_withdrawal_reason_are_bounded_too():
    scene = visit_scene(on_site=False)
    coordinator = f.client_for(scene.coordinator)
    withdrawn = coordinator.post(
        f"/api/acute/visits/{scene.visit.pk}/withdraw",
        {"reason": "r" * (LIMIT + 1)},
        format="json",
    )
    assert withdrawn.status_code == 400, withdrawn.json()
    assert withdrawn.json()["error"]["code"] == "visit.text_too_long"
    closed = coordinator.post(
        f"/api/acute/episodes/{scene.visit.episode_id}/complete",
        {"outcome": "treated_at_home", "note": "n" * (LIMIT + 1)},
        format="json",
    )
    assert closed.status_code == 400, closed.json()
    assert closed.json()["error"]["code"] == "visit.text_too_long"
    scene.visit.refresh_from_db()
    assert scene.visit.status == Visit.Status.ASSIGNED
    assert Episode.objects.get(pk=scene.visit.episode_id).status == Episode.Status.OPEN
