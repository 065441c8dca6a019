"""The auditor's pages: auditors only; searches recorded; review beside the log."""

from __future__ import annotations

import pytest
from django.test import Client

from consent.audit.flags import flags_scan
from consent.audit.models import AuditEntry, EntryReview
from consent.audit.services import Action, Outcome, Purpose, audit_record
from core.actors import Actor
from core.models import Role
from tests import factories

pytestmark = pytest.mark.django_db

PAGES = ["/audit/", "/audit/flagged", "/audit/entries/1", "/audit/export.csv", "/audit/verify"]


def _logged_in(membership) -> Client:
    client = Client()
    response = factories.log_in(client, membership)
    assert response.status_code == 302
    return client


@pytest.mark.parametrize("role", [r for r in factories.ALL_ROLES if r != Role.AUDITOR])
def test_other_roles_are_refused(role: str) -> None:
    client = _logged_in(factories.staff(role, factories.acute_function()))
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    assert client.post("/audit/entries/1/review", {"comment": "x"}).status_code == 403


def test_auditor_searches_reviews_exports_and_verifies() -> None:
    team = factories.acute_function()
    nurse = factories.staff(Role.ACUTE_NURSE, team)
    auditor = factories.staff(Role.AUDITOR, team)
    person = factories.citizen()
    denied = audit_record(
        actor=Actor.for_membership(nurse),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        outcome=Outcome.DENIED,
        reason_code="no_care_relationship",
    )
    flags_scan()
    client = _logged_in(auditor)
    page = client.get(f"/audit/?citizen={person.pk}")
    assert page.status_code == 200 and nurse.user.username in page.content.decode()
    assert person.cpr not in page.content.decode()
    assert AuditEntry.objects.filter(
        actor_user_id=auditor.user_id, purpose=Purpose.AUDIT, citizen_id=person.pk
    ).exists()
    bad = client.get("/audit/?from=not-a-date")
    assert bad.status_code == 400
    flagged = client.get("/audit/flagged").content.decode()
    assert f"/audit/entries/{denied.id}" in flagged
    assert client.get(f"/audit/entries/{denied.id}").status_code == 200
    response = client.post(f"/audit/entries/{denied.id}/review", {"comment": "Checked."})
    assert response.status_code == 302
    assert EntryReview.objects.get(entry_id=denied.id).comment == "Checked."
    assert f"/audit/entries/{denied.id}" not in client.get("/audit/flagged").content.decode()
    export = client.get(f"/audit/export.csv?citizen={person.pk}")
    assert export["Content-Type"].startswith("text/csv")
    assert "OK: " in client.get("/audit/verify").content.decode()


def test_entries_are_shown_in_the_auditors_language() -> None:
    """Danish by default, English on request; the log itself keeps its codes."""
    team = factories.acute_function()
    nurse = factories.staff(Role.ACUTE_NURSE, team)
    auditor = factories.staff(Role.AUDITOR, team)
    person = factories.citizen()
    audit_record(
        actor=Actor.for_membership(nurse),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        outcome=Outcome.DENIED,
        reason_code="no_care_relationship",
    )
    client = _logged_in(auditor)
    danish = client.get(f"/audit/?citizen={person.pk}").content.decode()
    assert "<td>Læst</td>" in danish and "<td>Behandling</td>" in danish and "Afvist" in danish
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.get(f"/audit/?citizen={person.pk}").content.decode()
    assert "<td>Read</td>" in english and "<td>Treatment</td>" in english and "Denied" in english
