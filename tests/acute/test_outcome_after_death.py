"""A citizen registered dead: her episode ends with the outcome died, on
every door. An outcome that says she lives ("treated at home", "handed back
to home nursing" ...) is refused with ``outcome.contradicts_death``, nothing
written, audited as a denied attempt (R9)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from acute.models import Episode, Outcome, Visit
from consent.audit.models import AuditEntry
from core.models import Citizen
from tests import factories as f
from tests.acute.clinical.conftest import Scene, visit_scene
from tests.acute.test_pages import _login

pytestmark = pytest.mark.django_db


def _registered_dead(scene: Scene) -> None:
    # Registered beside the doors, as a death arriving while the nurse is at
    # the door leaves her visit and the episode open.
    Citizen.objects.filter(pk=scene.citizen.pk).update(
        deceased_at=timezone.now() - dt.timedelta(minutes=10)
    )


@pytest.mark.parametrize("outcome", [Outcome.TREATED_AT_HOME, Outcome.HANDED_BACK])
def test_the_nurse_cannot_end_the_visit_of_a_dead_citizen_as_if_she_lived(outcome: str) -> None:
    scene = visit_scene()
    _registered_dead(scene)

    response = f.client_for(scene.nurse).post(
        f"/api/acute/visits/{scene.visit.pk}/complete", {"outcome": outcome}, format="json"
    )

    assert response.status_code == 412, response.content
    assert response.json()["error"]["code"] == "outcome.contradicts_death"
    assert "registreret død" in response.json()["error"]["message"]
    scene.visit.refresh_from_db()
    assert scene.visit.status == Visit.Status.ON_SITE
    assert Episode.objects.get(pk=scene.visit.episode_id).status == Episode.Status.OPEN
    assert AuditEntry.objects.filter(
        citizen_id=scene.citizen.pk, outcome="denied", reason_code="outcome.contradicts_death"
    ).exists()


def test_the_nurse_ends_it_with_the_outcome_died() -> None:
    scene = visit_scene()
    _registered_dead(scene)

    response = f.client_for(scene.nurse).post(
        f"/api/acute/visits/{scene.visit.pk}/complete", {"outcome": Outcome.DIED}, format="json"
    )

    assert response.status_code == 200, response.content
    episode = Episode.objects.get(pk=scene.visit.episode_id)
    assert (episode.status, episode.outcome) == (Episode.Status.COMPLETED, Outcome.DIED)


def test_the_coordinator_cannot_close_the_episode_of_a_dead_citizen_as_treated_at_home() -> None:
    scene = visit_scene(on_site=False)
    _registered_dead(scene)
    episode_id = scene.referral.episode_id

    refused = f.client_for(scene.coordinator).post(
        f"/api/acute/episodes/{episode_id}/complete",
        {"outcome": Outcome.TREATED_AT_HOME},
        format="json",
    )

    assert refused.status_code == 412, refused.content
    assert refused.json()["error"]["code"] == "outcome.contradicts_death"
    assert Episode.objects.get(pk=episode_id).status == Episode.Status.OPEN
    [denied] = AuditEntry.objects.filter(
        citizen_id=scene.citizen.pk, outcome="denied", reason_code="outcome.contradicts_death"
    )
    assert (denied.resource_type, denied.actor_user_id) == (
        "EpisodeOfCare",
        scene.coordinator.user_id,
    )

    ended = f.client_for(scene.coordinator).post(
        f"/api/acute/episodes/{episode_id}/complete", {"outcome": Outcome.DIED}, format="json"
    )
    assert ended.status_code == 200, ended.content
    assert ended.json()["outcome"] == Outcome.DIED


def _offered(html: str, select_id: str) -> list[str]:
    """The outcome values a page's select offers (the empty choice aside)."""
    select = html.split(f'<select id="{select_id}"', 1)[1].split("</select>", 1)[0]
    return [part.split('"', 1)[0] for part in select.split('<option value="')[1:] if part[0] != '"']


def test_the_visit_page_offers_only_died_for_a_dead_citizen_and_says_why() -> None:
    """The nurse's visit page (the tablet's form, sent again offline as it
    is) offers what the platform takes: for a citizen registered dead, died
    alone, with the reason in Danish; for the living, every outcome."""
    scene = visit_scene()
    page = _login(scene.nurse)
    living = page.get(f"/nurse/visits/{scene.visit.pk}/").content.decode()
    assert set(_offered(living, "outcome")) == set(Outcome.values)
    assert "data-registered-dead" not in living

    _registered_dead(scene)
    html = page.get(f"/nurse/visits/{scene.visit.pk}/").content.decode()

    assert _offered(html, "outcome") == [Outcome.DIED]
    assert "Borgeren er registreret død: forløbet kan kun afsluttes med udfaldet død." in html


def test_the_pages_closing_an_episode_offer_only_died_for_a_dead_citizen() -> None:
    """Closing the episode without a visit (the nurse's page, before she is
    at the door) and from the referral's page (the coordinator) offer died
    alone too."""
    scene = visit_scene(on_site=False)
    _registered_dead(scene)

    nurse_html = _login(scene.nurse).get(f"/nurse/visits/{scene.visit.pk}/").content.decode()
    coordinator_html = (
        _login(scene.coordinator)
        .get(f"/coordinator/referrals/{scene.referral.pk}/")
        .content.decode()
    )

    assert _offered(nurse_html, "episode-outcome") == [Outcome.DIED]
    assert _offered(coordinator_html, "episode-outcome") == [Outcome.DIED]
    assert "registreret død: forløbet kan kun afsluttes med udfaldet død" in coordinator_html
