"""R6 with R9: an analysis run the platform refuses before counting — no
analysis of that name, a question out of range — is recorded in the audit
log as a denied run (about no citizen, with the refusal's code and the field
that was wrong), by the API and the page alike. Unknown parameters are
refused too, and so is one given twice: read as left out (or as its last
value), a misspelt question was answered and paid for from the budget."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from consent.audit.models import AuditEntry
from consent.models import AnalysisRelease, PrivacyBudgetEntry
from tests import factories as f
from tests.consent.analysis_api import run
from tests.consent.conftest import World

CPR = "0101701234"


def _last(world: World) -> AuditEntry:
    return AuditEntry.objects.filter(actor_user_id=world.analyst.user_id).latest("id")


def _denied(entry: AuditEntry) -> tuple[str, str, str, int | None, str]:
    return (entry.purpose, entry.action, entry.outcome, entry.citizen_id, entry.reason_code)


def test_r9_an_unknown_analysis_asked_through_the_api_is_recorded(world: World) -> None:
    client = f.client_for(world.analyst)

    refused = run(client, "no-such-analysis", days=30)

    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "analysis.unknown"
    entry = _last(world)
    assert _denied(entry) == ("analysis", "search", "denied", None, "analysis.unknown")
    assert (entry.resource_type, entry.resource_id) == ("Analysis", "no-such-analysis")
    assert not AuditEntry.objects.filter(outcome="permitted", purpose="analysis").exists()


def test_r9_a_question_out_of_range_is_recorded_with_its_field(world: World) -> None:
    client = f.client_for(world.analyst)
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        ("contacts-around-acute-episode", {"days": 366}, "analysis.days_invalid", "days"),
        (
            "diagnosis-and-service",
            {"diagnosis": "F20", "service": "home-nursing"},
            "analysis.diagnosis_invalid",
            "diagnosis",
        ),
        (
            "diagnosis-and-service",
            {"diagnosis": "E11", "service": "cleaning"},
            "analysis.service_invalid",
            "service",
        ),
    ]
    for name, question, code, field in cases:
        refused = run(client, name, **question)
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, code), question
        entry = _last(world)
        assert _denied(entry) == ("analysis", "search", "denied", None, code), question
        assert entry.detail["field"] == field, question
    assert not AuditEntry.objects.filter(outcome="permitted", purpose="analysis").exists()


def test_r9_refused_runs_on_the_page_are_recorded(world: World) -> None:
    client = Client()
    assert f.log_in(client, world.analyst).status_code == 302

    unknown = client.post("/analyses/run", {"analysis": "no-such-analysis"})
    assert unknown.status_code == 403  # the page's one "not available"
    assert _denied(_last(world)) == ("analysis", "search", "denied", None, "analysis.unknown")

    days = {"analysis": "contacts-around-acute-episode", "days": "0", "export": "1"}
    out_of_range = client.post("/analyses/run", days)
    assert out_of_range.status_code == 400
    entry = _last(world)
    assert _denied(entry) == ("analysis", "export", "denied", None, "analysis.days_invalid")
    assert entry.detail["field"] == "days"


def test_r9_what_was_typed_is_not_kept_and_a_cpr_number_never(world: World) -> None:
    client = Client()
    assert f.log_in(client, world.analyst).status_code == 302

    client.post("/analyses/run", {"analysis": f"patient {CPR}"})
    client.post(
        "/analyses/run",
        {"analysis": "diagnosis-and-service", "diagnosis": CPR, "service": "home-nursing"},
    )

    entries = list(AuditEntry.objects.filter(actor_user_id=world.analyst.user_id, outcome="denied"))
    assert [e.reason_code for e in entries] == ["analysis.unknown", "analysis.diagnosis_invalid"]
    assert all(CPR not in f"{e.resource_id} {e.detail}" for e in entries)


@pytest.mark.parametrize(
    ("name", "body", "code", "field"),
    [
        # A misspelt days was answered as the default 30 days, and paid for.
        ("contacts-around-acute-episode", '{"dyas": 7}', "write.field_unknown", "dyas"),
        (
            "contacts-around-acute-episode",
            '{"days": 30, "colour": "blue"}',
            "write.field_unknown",
            "colour",
        ),
        # Another analysis's parameter is not this one's.
        (
            "diagnosis-and-service",
            '{"diagnosis": "E11", "service": "home-nursing", "days": 7}',
            "analysis.param_unknown",
            "days",
        ),
        # Given twice, it was answered for its last value alone.
        ("contacts-around-acute-episode", '{"days": 7, "days": 365}', "request.duplicate_key", ""),
    ],
)
def test_r6_a_parameter_the_analysis_does_not_take_or_given_twice_is_refused(
    world: World, name: str, body: str, code: str, field: str
) -> None:
    client = f.client_for(world.analyst)

    refused = client.post(f"/api/consent/analyses/{name}", body, content_type="application/json")

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == code
    assert refused.json()["error"].get("field", "") == field
    entry = _last(world)
    assert _denied(entry) == ("analysis", "search", "denied", None, code)
    assert not AnalysisRelease.objects.exists()
    assert not PrivacyBudgetEntry.objects.exists()
    budget = client.get("/api/consent/analyses").json()["privacy_budget"]
    assert budget["budget_spent"] == 0


def test_r6_the_page_refuses_a_field_the_analysis_does_not_take(world: World) -> None:
    client = Client()
    assert f.log_in(client, world.analyst).status_code == 302

    refused = client.post(
        "/analyses/run",
        {"analysis": "contacts-around-acute-episode", "days": "30", "diagnosis": "E11"},
    )

    assert refused.status_code == 400
    assert "Analysen bruger ikke diagnosis; den bruger days." in refused.content.decode()
    assert _denied(_last(world)) == (
        "analysis",
        "search",
        "denied",
        None,
        "analysis.param_unknown",
    )
    assert not PrivacyBudgetEntry.objects.exists()


def test_r6_the_format_rest_framework_reads_is_no_parameter_of_the_question(
    world: World,
) -> None:
    response = f.client_for(world.analyst).post(
        "/api/consent/analyses/contacts-around-acute-episode?format=json",
        {"days": 30},
        format="json",
    )

    assert response.status_code == 201
    entry = _last(world)
    assert (entry.outcome, entry.reason_code) == ("permitted", "restricted_analysis")
    assert entry.detail["parameters"] == {"days": 30}


@pytest.mark.parametrize("role", ["acute_nurse", "coordinator", "auditor", "physician"])
def test_r9_another_role_refused_the_list_of_analyses_is_recorded(world: World, role: str) -> None:
    """R6/R9: the list of analyses and the analyst's budget, API and page, are
    the analyst's; anyone else is refused, and the attempt is on the audit log
    like a refused run (about no citizen)."""
    member = world.by_role()[role]

    api = f.client_for(member).get("/api/consent/analyses")
    web = Client()
    f.log_in(web, member)
    page = web.get("/analyses/")

    assert (api.status_code, page.status_code) == (403, 403)
    refused = AuditEntry.objects.filter(
        actor_user_id=member.user_id, resource_type="Analysis", outcome="denied"
    )
    assert sorted(refused.values_list("purpose", "action", "citizen_id", "reason_code")) == [
        ("analysis", "search", None, "role_not_permitted"),
        ("analysis", "search", None, "role_not_permitted"),
    ]
