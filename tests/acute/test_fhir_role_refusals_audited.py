"""R9 on ``/fhir/`` for the acute function's resources: a member of staff
whose role may not read a referral (ServiceRequest), an assignment (Task) or
a visit (Encounter) made an attempt on that referral's citizen, and it is
recorded as denied on her trail — as the JSON API records it. An id that
names nothing is refused alike and names no citizen."""

from __future__ import annotations

import pytest

from consent.audit.models import AuditEntry
from core.models import Role
from tests import factories as f
from tests.acute.clinical.conftest import Scene, visit_scene

pytestmark = pytest.mark.django_db

REFUSED_ROLES = (Role.AUDITOR, Role.ANALYST, Role.MEDICINE_OFFICER, Role.ADMINISTRATOR)


def _urls(scene: Scene) -> dict[str, str]:
    return {
        "ServiceRequest": f"/fhir/ServiceRequest/referral-{scene.referral.pk}",
        "Task": f"/fhir/Task/visit-{scene.visit.pk}",
        "Encounter": f"/fhir/Encounter/visit-{scene.visit.pk}",
    }


@pytest.mark.parametrize("resource_type", ["ServiceRequest", "Task", "Encounter"])
@pytest.mark.parametrize("role", REFUSED_ROLES)
def test_a_role_refused_a_read_is_a_denied_attempt_on_the_citizen(role, resource_type):
    scene = visit_scene()
    member = f.staff(role, f.acute_function())
    before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    response = f.client_for(member).get(_urls(scene)[resource_type])

    assert response.status_code == 403
    assert response.json()["resourceType"] == "OperationOutcome"
    entries = AuditEntry.objects.filter(pk__gt=before, actor_user_id=member.user_id)
    assert [
        (e.citizen_id, e.outcome, e.reason_code, e.resource_type, e.action) for e in entries
    ] == [(scene.citizen.pk, "denied", "role_not_permitted", resource_type, "read")]


@pytest.mark.parametrize("resource_id", ["ServiceRequest/referral-999999", "Task/visit-999999"])
def test_an_id_that_names_nothing_is_refused_alike_and_names_no_citizen(resource_id):
    visit_scene()
    member = f.staff(Role.AUDITOR, f.acute_function())

    response = f.client_for(member).get(f"/fhir/{resource_id}")

    assert response.status_code == 403
    entry = AuditEntry.objects.filter(actor_user_id=member.user_id).latest("pk")
    assert (entry.citizen_id, entry.outcome, entry.reason_code) == (
        None,
        "denied",
        "role_not_permitted",
    )
