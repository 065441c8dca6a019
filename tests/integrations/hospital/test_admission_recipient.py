"""R3 for the admission hand-off: it goes to the hospital serving the
citizen's municipality, never to a hospital that has nothing to do with her.
When none serves her, nobody is sent it: the coordinator is told on the board
to phone it through, and the withheld disclosure is audited."""

from __future__ import annotations

import pytest

from acute.models import DeadlineWarning, Outcome
from consent.audit.models import AuditEntry
from core.models import Organisation, Role
from integrations.messages import Event
from integrations.models import OutboundMessage, Partner
from tests import factories as f
from tests.acute.clinical.conftest import Scene, visit_scene

pytestmark = pytest.mark.django_db


def _hospital(*, serves: str | None, is_active: bool = True) -> Partner:
    hospital = f.organisation(Organisation.Kind.HOSPITAL, f"Hospital for {serves or 'ingen'}")
    if serves is not None:
        hospital.serves.add(f.municipality(serves))
    return f.integration_partner(Partner.Kind.HOSPITAL, hospital, is_active=is_active)


def _admit_through_the_api(scene: Scene) -> None:
    response = f.client_for(scene.nurse).post(
        f"/api/acute/visits/{scene.visit.pk}/complete",
        {"outcome": Outcome.ADMITTED, "note": "Pneumoni"},
        format="json",
    )
    assert response.status_code == 200, response.content


def _admission_warnings(scene: Scene) -> list[dict]:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    response = f.client_for(coordinator).get("/api/acute/warnings")
    assert response.status_code == 200, response.content
    return [
        w for w in response.json()["results"] if w["kind"] == DeadlineWarning.Kind.ADMISSION_UNSENT
    ]


@pytest.mark.parametrize("other_hospitals", ["unrelated", "another_municipality"])
def test_r3_no_hospital_serving_the_citizen_sends_the_hand_off_to_nobody(
    other_hospitals: str,
) -> None:
    scene = visit_scene()
    assert scene.citizen.municipality.municipality_code == "157"
    # Hospitals are configured, but none serves the citizen's municipality.
    if other_hospitals == "unrelated":
        _hospital(serves=None)
    _hospital(serves="159")

    _admit_through_the_api(scene)

    assert not OutboundMessage.objects.filter(event=Event.ADMISSION_HANDOFF).exists()
    [warning] = _admission_warnings(scene)
    assert warning["referral"] == scene.referral.pk
    assert warning["detail"] == {
        "episode": scene.visit.episode_id,
        "visit": scene.visit.pk,
        "municipality": "157",
    }
    [denied] = AuditEntry.objects.filter(
        citizen_id=scene.citizen.pk,
        reason_code="no_recipient",
        detail__event=Event.ADMISSION_HANDOFF,
    )
    assert (denied.action, denied.outcome) == ("disclose", "denied")
    assert denied.actor_user_id == scene.nurse.user_id
    assert denied.detail["event"] == Event.ADMISSION_HANDOFF


def test_r3_a_switched_off_serving_hospital_is_not_replaced_by_another() -> None:
    scene = visit_scene()
    _hospital(serves="159")
    _hospital(serves="157", is_active=False)

    _admit_through_the_api(scene)

    assert not OutboundMessage.objects.filter(event=Event.ADMISSION_HANDOFF).exists()
    assert len(_admission_warnings(scene)) == 1


def test_r3_the_hospital_serving_the_citizen_gets_the_hand_off_and_nothing_is_raised() -> None:
    scene = visit_scene()
    _hospital(serves="159")
    own = _hospital(serves="157")

    _admit_through_the_api(scene)

    [message] = OutboundMessage.objects.filter(event=Event.ADMISSION_HANDOFF)
    assert message.partner == own
    assert _admission_warnings(scene) == []
    assert not AuditEntry.objects.filter(
        reason_code="no_recipient", detail__event=Event.ADMISSION_HANDOFF
    ).exists()
