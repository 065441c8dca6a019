"""R9: a role that may not search the audit log and asks for one citizen's
entries all the same made an attempt on her log. The refusal is recorded on
her (``citizen_id``), by every door that searches or exports the log — FHIR
``AuditEvent?patient=`` (GET and POST), ``/api/audit/entries`` and
``/api/audit/export`` with ``citizen=``, and the auditor's pages — so that it
is found where her log is searched and shown in her insight report (R5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from consent.audit.models import AuditEntry
from core.models import Membership
from core.permissions import session_membership_set
from tests import factories as f
from tests.consent.conftest import World

pytestmark = pytest.mark.django_db

Ask = Callable[[Membership, int], Any]


def _page(member: Membership, path: str) -> Any:
    client = Client()
    response = f.log_in(client, member)
    assert response.status_code == 302, response.content[:300]
    session = client.session
    session_membership_set(session, member)
    session.save()
    return client.get(path)


DOORS: dict[str, Ask] = {
    "fhir search": lambda m, pk: f.client_for(m).get(f"/fhir/AuditEvent?patient=Patient/{pk}"),
    "fhir search by POST": lambda m, pk: f.client_for(m).post(
        "/fhir/AuditEvent/_search",
        f"patient={pk}",
        content_type="application/x-www-form-urlencoded",
    ),
    "api search": lambda m, pk: f.client_for(m).get(f"/api/audit/entries?citizen={pk}"),
    "api export": lambda m, pk: f.client_for(m).get(f"/api/audit/export?citizen={pk}"),
    "page search": lambda m, pk: _page(m, f"/audit/?citizen={pk}"),
    "page export": lambda m, pk: _page(m, f"/audit/export.csv?citizen={pk}"),
}


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("role", ["acute_nurse", "coordinator", "physician", "analyst"])
def test_r9_a_refused_search_of_her_log_is_recorded_on_her(
    world: World, door: str, role: str
) -> None:
    member = world.by_role()[role]
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = DOORS[door](member, world.person.pk)
    assert response.status_code == 403, response.content[:300]
    refused = AuditEntry.objects.filter(
        id__gt=before, actor_user_id=member.user_id, resource_type="AuditEvent"
    ).get()
    assert (refused.outcome, refused.reason_code) == ("denied", "role_not_permitted")
    assert refused.citizen_id == world.person.pk
    # The entry's resource is the log, not an entry whose id is hers.
    assert refused.resource_id == ""


def test_r9_a_refused_search_naming_no_one_citizen_is_recorded_on_none(world: World) -> None:
    """``citizen=5&citizen=7`` names no one citizen: the refusal is recorded,
    on neither."""
    other = f.citizen()
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = f.client_for(world.nurse).get(
        f"/api/audit/entries?citizen={world.person.pk}&citizen={other.pk}"
    )
    assert response.status_code == 403
    refused = AuditEntry.objects.filter(id__gt=before, actor_user_id=world.nurse.user_id).get()
    assert (refused.outcome, refused.citizen_id) == ("denied", None)
