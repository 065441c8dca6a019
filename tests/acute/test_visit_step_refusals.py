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
