"""R9: a refused search of the audit log is an attempt like any other, and is
recorded as a refused search of every other type is (the value the base
refuses and the values AuditEvent alone reads alike)."""

from __future__ import annotations

import pytest

from consent.audit.models import AuditEntry
from tests import factories as f
from tests.consent.conftest import World, issue_code


@pytest.mark.parametrize(
    "query",
    [
        "date=2026-02-30",  # no such day
        "date=lt2020-01-01&date=gt2021-01-01",  # ends before it begins
        "outcome=2",  # neither permitted nor denied
        "outcome=urn:other|0",
        "as-of=AuditEvent/abc",
        "agent=Practitioner/x",
    ],
)
def test_r9_a_refused_audit_event_search_is_recorded(world: World, query: str) -> None:
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = f.client_for(world.auditor).get(f"/fhir/AuditEvent?{query}")
    assert response.status_code == 400, response.content
    code = issue_code(response)
    refused = AuditEntry.objects.filter(id__gt=before).get()
    assert (refused.action, refused.outcome, refused.resource_type, refused.reason_code) == (
        "search",
        "denied",
        "AuditEvent",
        code,
    )
    assert refused.actor_user_id == world.auditor.user_id
