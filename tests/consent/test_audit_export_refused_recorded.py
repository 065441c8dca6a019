"""R9: an auditor's export refused for its size is an attempt all the same:
recorded as a denied export (purpose ``audit``) on the citizen it asked
about, on the API and on the auditor's page alike, and the auditor is told
the largest export and how to narrow hers."""

from __future__ import annotations

import pytest
from django.test import override_settings

from consent.audit.models import AuditEntry
from tests import factories as f
from tests.consent.conftest import World
from tests.consent.test_insight import _page_client

pytestmark = pytest.mark.django_db


def _refused_exports(world: World) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            actor_user_id=world.auditor.user_id, action="export", outcome="denied"
        ).order_by("id")
    )


@override_settings(AUDIT_EXPORT_MAX_ROWS=1)
def test_r9_an_export_refused_for_its_size_is_recorded_on_every_door(world: World) -> None:
    f.client_for(world.nurse).get(f"/fhir/Condition/{world.diagnosis.pk}")
    assert AuditEntry.objects.filter(citizen_id=world.person.pk).count() > 1

    api = f.client_for(world.auditor).get(f"/api/audit/export?as=csv&citizen={world.person.pk}")
    assert api.status_code == 400
    error = api.json()["error"]
    assert error["code"] == "audit.export_too_large"
    assert "1" in error["message"]  # the largest export, in the auditor's words

    page = _page_client(world.auditor).get(f"/audit/export.csv?citizen={world.person.pk}")
    assert page.status_code == 400

    refused = _refused_exports(world)
    assert [
        (e.citizen_id, e.purpose, e.reason_code, e.detail["query"]["citizen"]) for e in refused
    ] == [(world.person.pk, "audit", "audit.export_too_large", str(world.person.pk))] * 2
    assert [e.detail["query"]["as"] for e in refused] == ["csv", "csv"]
    # Nothing left the platform: no entry names another citizen, none is permitted.
    assert not AuditEntry.objects.filter(
        actor_user_id=world.auditor.user_id, action="export", outcome="permitted"
    ).exists()


@override_settings(AUDIT_EXPORT_MAX_ROWS=1)
def test_r9_a_refused_export_about_no_citizen_is_on_no_citizens_log(world: World) -> None:
    f.client_for(world.nurse).get(f"/fhir/Condition/{world.diagnosis.pk}")
    api = f.client_for(world.auditor).get("/api/audit/export?as=fhir&purpose=treatment")
    assert api.status_code == 400
    [entry] = _refused_exports(world)
    assert (entry.citizen_id, entry.detail["query"]) == (
        None,
        {"purpose": "treatment", "as": "fhir"},
    )
