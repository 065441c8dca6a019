"""R9 and the CPR rule on every ``/fhir/`` door: a CPR number in a URL's
query is refused before the view reads it, never echoed (not in the answer,
not in a paging link), and the refused attempt is audited naming no citizen.
The Patient search's own answer (``search.use_post``) is
``test_patient_search.py``'s."""

from __future__ import annotations

import pytest

from consent.audit.models import AuditEntry
from tests import factories as f
from tests.consent.conftest import World, issue_code


def _urls(world: World) -> list[tuple[str, str, str, str]]:
    """(method, url, resource type, audited action), each with the CPR number in its query."""
    cpr = str(world.person.cpr)
    pid, rid = world.person.pk, world.diagnosis.pk
    return [
        ("get", f"/fhir/Condition?patient={cpr}", "Condition", "search"),
        ("get", f"/fhir/Condition?code={cpr[:6]}-{cpr[6:]}", "Condition", "search"),
        ("get", f"/fhir/Condition?patient=Patient/{pid}&note={cpr}", "Condition", "search"),
        ("get", f"/fhir/Encounter?patient=Patient/{pid}&{cpr}=x", "Encounter", "search"),
        ("get", f"/fhir/Observation?patient=Patient/{cpr}", "Observation", "search"),
        ("get", f"/fhir/Consent?patient={cpr}", "Consent", "search"),
        ("get", f"/fhir/Condition/{rid}?x={cpr}", "Condition", "read"),
        ("get", f"/fhir/Patient/{pid}?x={cpr}", "Patient", "read"),
        ("get", f"/fhir/Patient/{pid}/$everything?x={cpr}", "", "read"),
        ("get", f"/fhir/Condition/{rid}/_history/1?x={cpr}", "", "read"),
        ("post", f"/fhir/Condition?x={cpr}", "Condition", "create"),
    ]


@pytest.mark.django_db
def test_r9_a_cpr_number_in_any_fhir_query_is_refused_unechoed_and_audited(world: World) -> None:
    client = f.client_for(world.nurse)
    cpr = str(world.person.cpr)
    for method, url, resource_type, action in _urls(world):
        before = AuditEntry.objects.latest("id").pk
        if method == "get":
            response = client.get(url)
        else:
            response = client.post(url, data="{}", content_type="application/fhir+json")
        assert response.status_code == 400, url
        assert issue_code(response) == "request.cpr_in_url", url
        text = response.content.decode()
        assert cpr not in text and cpr[6:] not in text, url
        entry = AuditEntry.objects.filter(pk__gt=before).get()
        assert (entry.action, entry.outcome, entry.reason_code) == (action, "denied", "cpr_in_url")
        assert entry.resource_type == resource_type, url
        assert entry.citizen_id is None and cpr not in str(entry.detail)


@pytest.mark.django_db
def test_r9_the_auditors_audit_event_search_refuses_a_cpr_number_in_the_url(world: World) -> None:
    cpr = str(world.person.cpr)
    response = f.client_for(world.auditor).get(f"/fhir/AuditEvent?patient={cpr}")
    assert response.status_code == 400 and issue_code(response) == "request.cpr_in_url"
    assert cpr not in response.content.decode()


@pytest.mark.django_db
def test_a_search_without_a_cpr_number_is_answered_as_before(world: World) -> None:
    response = f.client_for(world.nurse).get(f"/fhir/Condition?patient=Patient/{world.person.pk}")
    assert response.status_code == 200
    assert [e["resource"]["id"] for e in response.json()["entry"]] == [str(world.diagnosis.pk)]
