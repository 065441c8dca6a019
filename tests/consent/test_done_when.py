"""The issue's "Done when": a nurse with a visit reads; without one, a refused
recipient, a wrong purpose and a psychiatric diagnosis are refused — all audited."""

from __future__ import annotations

from consent.audit.models import AuditEntry
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post


def _last(citizen_id: int) -> AuditEntry:
    return AuditEntry.objects.filter(citizen_id=citizen_id).latest("id")


def test_r1_nurse_with_a_visit_reads_her_citizens_record(world: World) -> None:
    response = f.client_for(world.nurse).get(f"/fhir/Condition/{world.diagnosis.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["code"]["coding"][0]["code"] == "I10"
    assert body["meta"]["versionId"] == "1"
    assert response["ETag"] == 'W/"1"'
    assert body["meta"]["tag"][0]["code"] == "somatic-diagnosis"
    source = [e for e in body["extension"] if e["url"].endswith("source-organisation")]
    assert source[0]["valueReference"]["reference"] == f"Organization/{world.acute.pk}"
    entry = _last(world.person.pk)
    assert (entry.action, entry.outcome, entry.reason_code) == (
        "read",
        "permitted",
        "care_relationship",
    )
    assert entry.resource_id == str(world.diagnosis.pk)


def test_r1_the_same_nurse_without_a_visit_is_refused_and_audited(world: World) -> None:
    response = f.client_for(world.other_nurse).get(f"/fhir/Condition/{world.diagnosis.pk}")
    unknown = f.client_for(world.other_nurse).get("/fhir/Condition/99999999")
    assert response.status_code == unknown.status_code == 404
    assert response.json() == unknown.json()  # not found and not allowed look the same
    entry = _last(world.person.pk)
    assert (entry.outcome, entry.reason_code) == ("denied", "no_care_relationship")


def test_r4_a_refused_recipient_is_refused_and_audited(world: World) -> None:
    created = post(
        f.client_for(world.nurse),
        "/fhir/Consent",
        bodies.refusal(world.person.pk, organisations=[world.acute.pk], how="written"),
    )
    assert created.status_code == 201, created.content
    response = f.client_for(world.nurse).get(f"/fhir/Condition/{world.diagnosis.pk}")
    assert response.status_code == 404
    entry = _last(world.person.pk)
    assert (entry.outcome, entry.reason_code) == ("denied", "refused")


def test_r3_a_wrong_purpose_is_refused_and_audited(world: World) -> None:
    response = f.client_for(world.nurse).get(
        f"/fhir/Condition/{world.diagnosis.pk}", HTTP_X_PURPOSE_OF_USE="HRESCH"
    )
    # Refused for the role, before any citizen is looked at: 403, not "not found".
    assert response.status_code == 403 and issue_code(response) == "purpose.not_permitted"
    entry = _last(world.person.pk)
    assert (entry.outcome, entry.reason_code, entry.purpose) == (
        "denied",
        "purpose_not_permitted",
        "analysis",
    )
    bad = f.client_for(world.nurse).get(
        f"/fhir/Condition/{world.diagnosis.pk}", HTTP_X_PURPOSE_OF_USE="curiosity"
    )
    assert bad.status_code == 400 and issue_code(bad) == "purpose.unknown"


def test_r2_a_psychiatric_diagnosis_is_refused_naming_the_rule_and_audited(world: World) -> None:
    before = world.person.record_resources.count()
    for code, system in [("F32.1", bodies.ICD10), ("DF321", "urn:oid:1.2.208.176.2.4")]:
        response = post(
            f.client_for(world.nurse),
            "/fhir/Condition",
            bodies.diagnosis(world.person.pk, code=code, system=system),
        )
        assert response.status_code == 400
        assert issue_code(response) == "record.psychiatric_diagnosis"
        assert "R2" in response.json()["issue"][0]["diagnostics"]
        entry = _last(world.person.pk)
        assert (entry.action, entry.outcome, entry.reason_code) == (
            "create",
            "denied",
            "record.psychiatric_diagnosis",
        )
    assert world.person.record_resources.count() == before
