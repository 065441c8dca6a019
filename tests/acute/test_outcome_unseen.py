"""R11: an episode that ends without a nurse seeing the citizen — she was not
found at the door (*borgeren blev ikke truffet*), or the referral lapsed
before anyone saw her (*henvisningen bortfaldt*) — is recorded as what
happened, on every door, not as one of the outcomes of a visit that took
place. Not found raises a warning on the coordinator's board: nobody knows
whether she still needs help."""

from __future__ import annotations

import pytest

from acute.fhir import encounter_resource
from acute.models import DeadlineWarning, Episode, Outcome, Visit
from core.models import Citizen, Role
from tests import factories as f
from tests.acute.test_pages import _assigned, _login, _walk_to_site

pytestmark = pytest.mark.django_db


def _on_site_through_the_api() -> tuple[object, Visit]:
    nurse, _shift, visit = _assigned()
    client = f.client_for(nurse)
    for step in ("accept", "en-route", "on-site"):
        response = client.post(f"/api/acute/visits/{visit.pk}/{step}")
        assert response.status_code == 200, (step, response.content)
    return nurse, visit


def test_r11_a_nurse_ends_her_visit_with_the_citizen_not_found_through_the_api() -> None:
    nurse, visit = _on_site_through_the_api()

    response = f.client_for(nurse).post(
        f"/api/acute/visits/{visit.pk}/complete",
        {"outcome": "citizen_not_found", "note": "Ingen lukker op; naboen ved intet"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "citizen_not_found"
    episode = Episode.objects.get(pk=visit.episode_id)
    assert (episode.status, episode.outcome) == ("completed", Outcome.CITIZEN_NOT_FOUND)
    assert episode.outcome_note == "Ingen lukker op; naboen ved intet"
    # The coordinator is told: nobody has seen her.
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    board = f.client_for(coordinator).get("/api/acute/warnings").json()["results"]
    assert [(w["kind"], w["referral"]) for w in board if w["kind"] == "not_found"] == [
        ("not_found", visit.referral_id)
    ]


def test_r11_the_coordinator_ends_an_episode_whose_referral_lapsed_before_anyone_came() -> None:
    _nurse, _shift, visit = _assigned()
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())

    response = f.client_for(coordinator).post(
        f"/api/acute/episodes/{visit.episode_id}/complete",
        {"outcome": "referral_lapsed", "note": "Egen læge trak henvisningen tilbage"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "id": visit.episode_id,
        "status": "completed",
        "outcome": "referral_lapsed",
    }
    visit.refresh_from_db()
    assert (visit.status, visit.cancel_reason) == ("cancelled", "episode_closed")
    # Nobody is left to look for: the board has no not-found warning.
    assert not DeadlineWarning.objects.filter(kind="not_found").exists()


@pytest.mark.parametrize(
    "outcome, status",
    [("referral_lapsed", "revoked"), ("citizen_not_found", "completed"), ("admitted", "completed")],
)
def test_r11_a_lapsed_referral_reads_revoked_over_fhir_others_completed(
    outcome: str, status: str
) -> None:
    # FHIR's "revoked": terminated before the full completion of the intended
    # actions, which is what a referral that lapsed before anyone came is.
    _nurse, _shift, visit = _assigned()
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    client = f.client_for(coordinator)
    # The citizen's own GP reads the outcome through the gate once it has ended.
    gp = f.gp_practice()
    Citizen.objects.filter(pk=visit.citizen_id).update(gp_practice=gp)
    gp_reads = f.client_for(f.staff(Role.PHYSICIAN, gp))
    ended = client.post(
        f"/api/acute/episodes/{visit.episode_id}/complete", {"outcome": outcome}, format="json"
    )
    assert ended.status_code == 200, ended.content

    read = gp_reads.get(f"/fhir/ServiceRequest/referral-{visit.referral_id}")

    assert read.status_code == 200, read.content
    assert read.json()["status"] == status
    # A declined referral keeps reading revoked.
    declined = f.acute_referral(person=visit.citizen, accepted=False, by=coordinator)
    refused = client.post(
        f"/api/acute/referrals/{declined.pk}/decline", {"reason": "Indlagt"}, format="json"
    )
    assert refused.status_code == 200, refused.content
    read = gp_reads.get(f"/fhir/ServiceRequest/referral-{declined.pk}")
    assert read.status_code == 200, read.content
    assert read.json()["status"] == "revoked"


def test_r11_the_coordinator_can_end_an_episode_with_the_citizen_not_found() -> None:
    _nurse, _shift, visit = _assigned()
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())

    response = f.client_for(coordinator).post(
        f"/api/acute/episodes/{visit.episode_id}/complete",
        {"outcome": "citizen_not_found"},
        format="json",
    )

    assert response.status_code == 200, response.content
    [warning] = DeadlineWarning.objects.filter(kind="not_found")
    assert warning.referral_id == visit.referral_id
    assert warning.detail == {"episode": visit.episode_id}


def test_r11_the_nurses_visit_page_offers_both_outcomes_in_danish_and_takes_them() -> None:
    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    _walk_to_site(client, visit)

    html = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    select = html.split('id="outcome"')[1].split("</select>")[0]
    assert '<option value="citizen_not_found">Borgeren blev ikke truffet</option>' in select
    assert '<option value="referral_lapsed">Henvisningen bortfaldt</option>' in select
    assert "Citizen not found" not in html and "Referral lapsed" not in html

    done = client.post(
        f"/nurse/visits/{visit.pk}/complete/",
        {"outcome": "citizen_not_found", "assessment": "Ingen lukker op"},
    )

    assert done.status_code == 302
    visit.refresh_from_db()
    assert (visit.status, visit.outcome) == ("completed", "citizen_not_found")
    assert Episode.objects.get(pk=visit.episode_id).outcome == "citizen_not_found"


def test_r11_a_visit_ended_as_lapsed_on_the_page_closes_the_episode_as_lapsed() -> None:
    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    _walk_to_site(client, visit)

    done = client.post(
        f"/nurse/visits/{visit.pk}/complete/",
        {"outcome": "referral_lapsed", "assessment": "Naboen oplyser: indlagt med 112 i nat"},
    )

    assert done.status_code == 302
    episode = Episode.objects.get(pk=visit.episode_id)
    assert (episode.status, episode.outcome) == ("completed", "referral_lapsed")


def test_r10_the_board_shows_the_not_found_warning_in_danish_without_its_code() -> None:
    nurse, visit = _on_site_through_the_api()
    assert (
        f.client_for(nurse)
        .post(
            f"/api/acute/visits/{visit.pk}/complete",
            {"outcome": "citizen_not_found"},
            format="json",
        )
        .status_code
        == 200
    )
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    client = _login(coordinator)

    board = client.get("/coordinator/live/").content.decode()

    assert "Borgeren blev ikke truffet: borgeren kan fortsat have brug for hjælp" in board
    assert "not_found" not in board and "citizen_not_found" not in board


def test_the_visit_as_fhir_encounter_carries_the_not_found_outcome() -> None:
    nurse, visit = _on_site_through_the_api()
    client = f.client_for(nurse)
    assert (
        client.post(
            f"/api/acute/visits/{visit.pk}/complete",
            {"outcome": "citizen_not_found", "close_episode": False},
            format="json",
        ).status_code
        == 400
    ), "only treated at home keeps the episode open"
    assert (
        client.post(
            f"/api/acute/visits/{visit.pk}/complete",
            {"outcome": "citizen_not_found"},
            format="json",
        ).status_code
        == 200
    )
    visit.refresh_from_db()

    encounter = encounter_resource(visit)

    assert encounter["status"] == "finished"
    [coding] = encounter["hospitalization"]["dischargeDisposition"]["coding"]
    assert coding["code"] == "citizen_not_found"
    assert coding["system"].endswith("episode-outcome")
