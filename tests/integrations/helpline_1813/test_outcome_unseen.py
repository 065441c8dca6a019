"""R11, R12: 1813 is told when its citizen was not seen. Not found is a Task
that failed — nobody has seen her, she may still need help, so 1813's
physician may have to act again; a referral that lapsed is a Task cancelled.
Never "completed", as if a nurse had seen her; one message each."""

from __future__ import annotations

from typing import Any

import pytest

from acute import services as acute
from core.actors import Actor
from core.models import Organisation, Role
from integrations.messages import Event
from integrations.models import OutboundMessage, Partner
from tests import factories as f
from tests.integrations.helpers import referral_from_1813

pytestmark = pytest.mark.django_db


def _ended(outcome: str, note: str) -> tuple[Partner, list[dict[str, Any]]]:
    helpline = f.organisation(Organisation.Kind.HELPLINE_1813, "Akuttelefonen 1813")
    partner = f.integration_partner(
        Partner.Kind.HELPLINE_1813, helpline, endpoint_url="http://127.0.0.1:8679/inbox"
    )
    f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("157"))
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    actor = Actor.for_membership(coordinator)
    referral = referral_from_1813(
        f.citizen(municipality_code="157"), helpline, by=actor, external_id="1813-77"
    )
    referral = acute.referral_accept(referral=referral, actor=actor)

    response = f.client_for(coordinator).post(
        f"/api/acute/episodes/{referral.episode_id}/complete",
        {"outcome": outcome, "note": note},
        format="json",
    )
    assert response.status_code == 200, response.content

    tasks = [
        next(e["resource"] for e in m.bundle["entry"] if e["resource"]["resourceType"] == "Task")
        for m in OutboundMessage.objects.filter(
            partner=partner, event=Event.REFERRAL_STATUS
        ).order_by("pk")
    ]
    return partner, tasks


def test_r11_1813_reads_a_citizen_not_found_as_a_failed_task_she_may_still_need_help() -> None:
    _partner, tasks = _ended("citizen_not_found", "Ingen lukker op; naboen ved intet")

    [ended] = [t for t in tasks if t["status"] not in ("accepted", "in-progress")]
    assert ended["status"] == "failed"
    assert ended["businessStatus"]["coding"][0]["code"] == "citizen-not-found"
    assert ended["businessStatus"]["text"] == (
        "Sygeplejersken traf ikke borgeren: ingen har set borgeren, som fortsat kan "
        "have brug for hjælp"
    )
    assert ended["statusReason"]["text"] == "Ingen lukker op; naboen ved intet"
    [output] = ended["output"]
    assert output["valueCodeableConcept"]["coding"][0]["code"] == "citizen_not_found"
    assert output["valueCodeableConcept"]["text"] == "Borgeren blev ikke truffet"
    assert output["type"]["text"] == "Udfald"
    assert ended["focus"]["identifier"]["value"] == "1813-77"


def test_r11_1813_reads_a_lapsed_referral_as_a_cancelled_task() -> None:
    _partner, tasks = _ended("referral_lapsed", "Indlagt via 112 inden besøget")

    [ended] = [t for t in tasks if t["status"] not in ("accepted", "in-progress")]
    assert ended["status"] == "cancelled"
    assert ended["businessStatus"]["coding"][0]["code"] == "referral-lapsed"
    assert ended["businessStatus"]["text"] == (
        "Henvisningen bortfaldt, før en sygeplejerske så borgeren"
    )
    assert ended["statusReason"]["text"] == "Indlagt via 112 inden besøget"
    assert ended["output"][0]["valueCodeableConcept"]["text"] == "Henvisningen bortfaldt"


def test_r11_an_episode_that_ended_with_care_is_still_completed_to_1813() -> None:
    _partner, tasks = _ended("treated_at_home", "Væskebehandlet")

    [ended] = [t for t in tasks if t["status"] not in ("accepted", "in-progress")]
    assert ended["status"] == "completed"
    assert ended["businessStatus"]["coding"][0]["code"] == "completed"
    assert "statusReason" not in ended
