"""The end of an acute episode on the pages, and R1 as it ends.

The coordinator closes an episode from the referral's page, a nurse from her
own active visit's page (nobody opened, the referral lapsed); both through
the service the API uses, so the hand-back reaches the citizen's home nursing
and the referrer hears the outcome (R11), the note is screened (R2), and
every nurse's access to the citizen ends with the episode (R1) on every door:
the API, FHIR read and search, and the pages. Every other role is refused
and the attempt is on the citizen's log (R9)."""

from __future__ import annotations

import pytest

from acute import services
from acute.models import DeadlineWarning, Episode, Outcome, Visit
from consent.audit.models import AuditEntry
from consent.audit.services import Purpose
from consent.services import consent_create
from core.actors import Actor
from core.models import Membership, Role
from integrations.models import OutboundMessage, Partner
from tests import factories as f
from tests.acute.test_pages import _login, _walk_to_site
from tests.consent import bodies

pytestmark = pytest.mark.django_db


def _scene(*, max_load: int = 3) -> tuple[Membership, Membership, Visit]:
    """A referral from the citizen's GP, accepted and assigned to a nurse;
    the citizen's home nursing and the referrer reachable electronically."""
    nurse, shift = f.acute_nurse_on_shift(max_load=max_load)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(by=coordinator)
    visit = services.visit_assign(
        referral=referral, shift=shift, actor=Actor.for_membership(coordinator)
    )
    return nurse, coordinator, visit


def _home_nursing_partner(visit: Visit) -> Partner:
    municipality = visit.citizen.municipality.municipality_code
    return f.integration_partner(
        Partner.Kind.HOME_NURSING,
        f.home_nursing(municipality),
        endpoint_url="http://127.0.0.1:8649/in",
    )


def _nurse_sees_nothing(nurse: Membership, visit: Visit) -> None:
    """R1: every door to the citizen is shut for her, and says so as "not found"."""
    api = f.client_for(nurse)
    assert api.get(f"/api/acute/visits/{visit.pk}").status_code == 404
    assert api.get(f"/fhir/Patient/{visit.citizen_id}").status_code == 404
    assert api.get(f"/fhir/Patient/{visit.citizen_id}/$everything").status_code == 404
    found = api.get("/fhir/Condition", {"patient": f"Patient/{visit.citizen_id}"})
    assert found.status_code in (200, 404)
    if found.status_code == 200:
        assert found.json().get("total", 0) == 0 and not found.json().get("entry")
    assert api.get("/api/acute/visits").json()["results"] == []
    page = _login(nurse)
    response = page.get(f"/nurse/visits/{visit.pk}/")
    assert response.status_code in (403, 404)
    assert visit.citizen.family_name not in response.content.decode()


# --- the coordinator's page -------------------------------------------------------


def test_r11_the_coordinator_closes_the_episode_from_the_referral_page():
    nurse, coordinator, visit = _scene()
    own = _home_nursing_partner(visit)
    client = _login(coordinator)
    html = client.get(f"/coordinator/referrals/{visit.referral_id}/").content.decode()
    assert f'action="/coordinator/referrals/{visit.referral_id}/episode/"' in html
    assert "Afslut forløbet" in html

    response = client.post(
        f"/coordinator/referrals/{visit.referral_id}/episode/",
        {"outcome": Outcome.DECLINED_BY_CITIZEN, "note": "Ønsker ikke besøg; ringer selv til læge"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    episode = Episode.objects.get(pk=visit.episode_id)
    assert (episode.status, episode.outcome) == (Episode.Status.COMPLETED, "declined_by_citizen")
    assert episode.outcome_note == "Ønsker ikke besøg; ringer selv til læge"
    assert episode.closed_by_id == coordinator.user_id
    visit.refresh_from_db()
    assert (visit.status, visit.cancel_reason) == ("cancelled", Visit.CancelReason.EPISODE_CLOSED)
    # R11: the hand-back to the citizen's own home nursing is on its way.
    assert OutboundMessage.objects.filter(partner=own).exists()
    # She lands on her board, where what could not be sent is shown; the
    # referral's page, and its form, are closed to her with the episode (R1).
    assert response["Location"] == "/coordinator/"
    assert client.get(f"/coordinator/referrals/{visit.referral_id}/").status_code == 403
    # R1: the nurse whose visit it cancelled sees the citizen nowhere.
    _nurse_sees_nothing(nurse, visit)


def test_r11_r4_the_coordinator_is_not_told_a_withheld_hand_back_is_on_its_way():
    """The citizen refused disclosure to her home nursing (R4) and the GP
    referred her by phone, with no electronic address: neither the hand-back
    nor the outcome goes. The coordinator lands on her board, which shows
    both (the referral's page is closed to her with the episode, R1), and is
    not told that a hand-back is on its way."""
    _nurse, coordinator, visit = _scene()
    own = _home_nursing_partner(visit)
    admin = Actor.for_membership(f.staff(Role.ADMINISTRATOR, f.acute_function()))
    consent_create(
        actor=admin,
        data=bodies.refusal(visit.citizen_id, organisations=[own.organisation_id]),
        purpose=Purpose.OPERATIONS,
    )
    client = _login(coordinator)

    response = client.post(
        f"/coordinator/referrals/{visit.referral_id}/episode/",
        {"outcome": Outcome.DECLINED_BY_CITIZEN},
        follow=True,
    )

    assert response.redirect_chain == [("/coordinator/", 302)]
    assert response.status_code == 200
    html = response.content.decode()
    assert "Tilbagemeldingen er på vej" not in html
    # Her own board, not "the coordinator's": she is the coordinator.
    assert "der ikke kan sendes, vises på tavlen." in html
    assert "vagthavendes tavle" not in html
    [handback] = OutboundMessage.objects.filter(partner=own)
    assert handback.status == OutboundMessage.Status.WITHHELD
    assert own.organisation.name in html
    assert "giv henviseren besked" in html


def test_r11_a_lapsed_referral_closed_by_its_nurse_promises_no_hand_back():
    """Nobody reached the citizen: no hand-back goes (R11), and the nurse who
    closes the episode from her visit is not told one is on its way."""
    nurse, _coordinator, visit = _scene()
    own = _home_nursing_partner(visit)
    client = _login(nurse)

    response = client.post(
        f"/nurse/visits/{visit.pk}/episode/", {"outcome": Outcome.REFERRAL_LAPSED}, follow=True
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Tilbagemeldingen er på vej" not in html
    assert "Forløbet er afsluttet." in html
    assert not OutboundMessage.objects.filter(partner=own).exists()


def test_the_coordinators_form_refuses_in_danish_and_closes_nothing():
    _nurse, coordinator, visit = _scene()
    client = _login(coordinator)
    url = f"/coordinator/referrals/{visit.referral_id}/episode/"

    unknown = client.post(url, {"outcome": "gone_fishing"})
    assert unknown.status_code == 400
    assert 'data-code="episode.outcome_unknown"' in unknown.content.decode()
    assert "Ukendt udfald." in unknown.content.decode()

    # R2: the note goes to home nursing and the referrer; a psychiatric code does not.
    coded = client.post(url, {"outcome": Outcome.TREATED_AT_HOME, "note": "Kendt med F32.1"})
    assert coded.status_code == 400
    assert 'data-code="record.psychiatric_code_in_text"' in coded.content.decode()
    assert AuditEntry.objects.filter(
        citizen_id=visit.citizen_id,
        outcome="denied",
        reason_code="record.psychiatric_code_in_text",
    ).exists()

    assert Episode.objects.get(pk=visit.episode_id).status == Episode.Status.OPEN
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ASSIGNED


def test_the_coordinators_form_without_its_csrf_token_is_refused():
    _nurse, coordinator, visit = _scene()
    client = _login(coordinator)
    client.handler.enforce_csrf_checks = True
    response = client.post(
        f"/coordinator/referrals/{visit.referral_id}/episode/",
        {"outcome": Outcome.REFERRAL_LAPSED},
    )
    assert response.status_code == 403
    assert Episode.objects.get(pk=visit.episode_id).status == Episode.Status.OPEN


# --- the nurse's page -------------------------------------------------------------


def test_r11_the_nurse_closes_the_episode_from_her_active_visit_citizen_not_found():
    nurse, _coordinator, visit = _scene()
    own = _home_nursing_partner(visit)
    client = _login(nurse)
    assert client.post(f"/nurse/visits/{visit.pk}/step/", {"step": "accept"}).status_code == 302
    html = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert f'action="/nurse/visits/{visit.pk}/episode/"' in html

    response = client.post(
        f"/nurse/visits/{visit.pk}/episode/",
        {"outcome": Outcome.CITIZEN_NOT_FOUND, "note": "Ingen lukkede op kl. 14"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == "/nurse/visits/"
    episode = Episode.objects.get(pk=visit.episode_id)
    assert (episode.status, episode.outcome) == (Episode.Status.COMPLETED, "citizen_not_found")
    assert episode.closed_by_id == nurse.user_id
    # Nobody met her: the coordinator is told on the board, home nursing in the hand-back.
    assert DeadlineWarning.objects.filter(
        referral__episode_id=visit.episode_id, kind=DeadlineWarning.Kind.CITIZEN_NOT_FOUND
    ).exists()
    assert OutboundMessage.objects.filter(partner=own).exists()
    _nurse_sees_nothing(nurse, visit)


def test_the_nurse_with_the_citizen_finishes_her_visit_instead():
    nurse, _coordinator, visit = _scene()
    client = _login(nurse)
    _walk_to_site(client, visit)
    html = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert f'action="/nurse/visits/{visit.pk}/episode/"' not in html
    response = client.post(
        f"/nurse/visits/{visit.pk}/episode/", {"outcome": Outcome.REFERRAL_LAPSED}
    )
    assert response.status_code == 409
    assert 'data-code="episode.visit_on_site"' in response.content.decode()
    assert Episode.objects.get(pk=visit.episode_id).status == Episode.Status.OPEN


def test_another_nurse_may_not_close_the_episode_and_is_audited():
    _nurse, _coordinator, visit = _scene()
    other, _shift = f.acute_nurse_on_shift()
    response = _login(other).post(
        f"/nurse/visits/{visit.pk}/episode/", {"outcome": Outcome.REFERRAL_LAPSED}
    )
    assert response.status_code in (403, 404)
    assert Episode.objects.get(pk=visit.episode_id).status == Episode.Status.OPEN
    assert AuditEntry.objects.filter(
        actor_user_id=other.user_id, citizen_id=visit.citizen_id, outcome="denied"
    ).exists()


def test_a_nurse_whose_visit_was_declined_may_not_close_the_episode():
    nurse, _coordinator, visit = _scene()
    client = _login(nurse)
    assert client.post(f"/nurse/visits/{visit.pk}/decline/", {"reason": ""}).status_code == 302
    response = client.post(
        f"/nurse/visits/{visit.pk}/episode/", {"outcome": Outcome.REFERRAL_LAPSED}
    )
    assert response.status_code in (403, 404)
    assert Episode.objects.get(pk=visit.episode_id).status == Episode.Status.OPEN


@pytest.mark.parametrize(
    "role",
    [
        Role.PHYSICIAN,
        Role.HOME_NURSE,
        Role.MEDICINE_OFFICER,
        Role.AUDITOR,
        Role.ANALYST,
        Role.ADMINISTRATOR,
        Role.ACUTE_NURSE,
    ],
)
def test_every_other_role_is_refused_on_the_coordinators_form_and_audited(role):
    """R9: a refused role's attempt is on the citizen's log; nothing closes."""
    _nurse, _coordinator, visit = _scene()
    org = {
        Role.PHYSICIAN: f.gp_practice,
        Role.HOME_NURSE: f.home_nursing,
    }.get(role, f.acute_function)()
    member = f.staff(role, org)
    response = _login(member).post(
        f"/coordinator/referrals/{visit.referral_id}/episode/",
        {"outcome": Outcome.REFERRAL_LAPSED},
    )
    assert response.status_code in (403, 404)
    assert Episode.objects.get(pk=visit.episode_id).status == Episode.Status.OPEN
    assert AuditEntry.objects.filter(
        actor_user_id=member.user_id, citizen_id=visit.citizen_id, outcome="denied"
    ).exists()


@pytest.mark.parametrize(
    "role",
    [
        Role.COORDINATOR,
        Role.PHYSICIAN,
        Role.HOME_NURSE,
        Role.MEDICINE_OFFICER,
        Role.AUDITOR,
        Role.ANALYST,
        Role.ADMINISTRATOR,
    ],
)
def test_every_other_role_is_refused_on_the_nurses_form_and_audited(role):
    _nurse, _coordinator, visit = _scene()
    org = {
        Role.PHYSICIAN: f.gp_practice,
        Role.HOME_NURSE: f.home_nursing,
    }.get(role, f.acute_function)()
    member = f.staff(role, org)
    response = _login(member).post(
        f"/nurse/visits/{visit.pk}/episode/", {"outcome": Outcome.REFERRAL_LAPSED}
    )
    assert response.status_code in (403, 404)
    assert Episode.objects.get(pk=visit.episode_id).status == Episode.Status.OPEN
    assert AuditEntry.objects.filter(
        actor_user_id=member.user_id, citizen_id=visit.citizen_id, outcome="denied"
    ).exists()


# --- R1: when a nurse's visit ends, her access ends -------------------------------


def test_r1_a_declined_visit_ends_the_nurses_access_on_every_door():
    nurse, _coordinator, visit = _scene()
    api = f.client_for(nurse)
    assert api.get(f"/fhir/Patient/{visit.citizen_id}").status_code == 200
    assert api.post(f"/api/acute/visits/{visit.pk}/decline", {}, format="json").status_code == 200
    _nurse_sees_nothing(nurse, visit)


def test_r1_a_reassigned_visit_ends_the_first_nurses_access_on_every_door():
    first, coordinator, visit = _scene()
    second, shift = f.acute_nurse_on_shift()
    assert f.client_for(first).get(f"/fhir/Patient/{visit.citizen_id}").status_code == 200
    response = _login(coordinator).post(
        f"/coordinator/referrals/{visit.referral_id}/assign/", {"shift_id": str(shift.pk)}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    _nurse_sees_nothing(first, visit)
    assert f.client_for(second).get(f"/fhir/Patient/{visit.citizen_id}").status_code == 200


def test_r1_a_visit_completed_with_a_follow_up_planned_ends_her_access():
    nurse, _coordinator, visit = _scene()
    client = _login(nurse)
    _walk_to_site(client, visit)
    response = f.client_for(nurse).post(
        f"/api/acute/visits/{visit.pk}/complete",
        {"outcome": "treated_at_home", "close_episode": False},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert Episode.objects.get(pk=visit.episode_id).status == Episode.Status.OPEN
    _nurse_sees_nothing(nurse, visit)
