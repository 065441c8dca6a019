"""R9 as an episode ends (R11): the coordinator's end of an episode refused
— a nurse is with the citizen, or another coordinator ended it a moment
before — left only the gate's "permitted update" on the citizen's log, as
if the episode had been ended, and no denied attempt. Every refusal of the
end is now a denied attempt on her record, on every door (the service is
the one the API, the pages and the nurse's door call), and changes
nothing."""

from __future__ import annotations

import pytest

from acute import services
from acute.models import Episode, Visit
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.errors import Conflict
from core.models import Role
from tests import factories as f
from tests.acute.test_concurrency import race


def _assigned() -> tuple[Actor, Actor, Visit]:
    nurse, shift = f.acute_nurse_on_shift()
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(by=coordinator)
    as_coordinator = Actor.for_membership(coordinator)
    visit = services.visit_assign(referral=referral, shift=shift, actor=as_coordinator)
    return Actor.for_membership(nurse), as_coordinator, visit


def _ends(citizen_id: int, outcome: str) -> list[tuple[str, str]]:
    return list(
        AuditEntry.objects.filter(
            citizen_id=citizen_id, resource_type="EpisodeOfCare", detail__outcome=outcome
        )
        .order_by("pk")
        .values_list("outcome", "reason_code")
    )


@pytest.mark.django_db
def test_r9_the_end_refused_while_a_nurse_is_with_the_citizen_is_a_denied_attempt():
    nurse, coordinator, visit = _assigned()
    services.visit_accept(visit=visit, actor=nurse)
    services.visit_set_off(visit=visit, actor=nurse)
    services.visit_arrive(visit=visit, actor=nurse)
    response = f.client_for(coordinator.membership).post(
        f"/api/acute/episodes/{visit.episode_id}/complete",
        {"outcome": "referral_lapsed"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "episode.visit_on_site"
    assert Episode.objects.get(pk=visit.episode_id).status == Episode.Status.OPEN
    assert ("denied", "episode.visit_on_site") in _ends(visit.citizen_id, "referral_lapsed")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r9_r11_two_coordinators_ending_one_episode_at_once_one_ends_it_one_is_denied():
    _nurse, first, visit = _assigned()
    second = Actor.for_membership(f.staff(Role.COORDINATOR, f.acute_function()))
    episode = Episode.objects.get(pk=visit.episode_id)
    results = race(
        lambda: services.episode_complete(
            episode=episode, outcome="referral_lapsed", note="Afmeldt", actor=first
        ),
        lambda: services.episode_complete(
            episode=episode, outcome="referral_lapsed", note="Afmeldt", actor=second
        ),
    )
    ended = [r for r in results if isinstance(r, Episode)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(ended) == 1 and len(refused) == 1, results
    assert refused[0].code == "episode.closed"
    assert sorted(_ends(visit.citizen_id, "referral_lapsed")) == [
        ("denied", "episode.closed"),
        ("permitted", "acute_function"),
    ]
