"""R6 on the API: running an analysis spends an analyst's privacy budget, so
it is a POST of the question, answered 201 with where the answer is read
again; a GET — a crawler, a prefetch, a proxy's retry, a browser's back —
runs nothing and spends nothing (405). The answer is read again by a GET of
its run, only by an analyst who was given it: anyone else is told it does not
exist, and every attempt is recorded (R9)."""

from __future__ import annotations

from typing import Any

import pytest

from consent.audit.models import AuditEntry
from consent.models import AnalysisRelease, PrivacyBudgetEntry
from core.models import Role
from tests import factories as f
from tests.consent.conftest import World

RUN = "/api/consent/analyses/diagnosis-and-service"
QUESTION = {"diagnosis": "E11", "service": "home-nursing"}


def _run(client: Any, question: dict[str, Any] = QUESTION, url: str = RUN, **extra: Any) -> Any:
    return client.post(url, question, format="json", **extra)


def _spent(world: World) -> int:
    return PrivacyBudgetEntry.objects.filter(analyst=world.analyst.user).count()


def _analysis_entries(membership: Any) -> Any:
    return AuditEntry.objects.filter(actor_user_id=membership.user_id, purpose="analysis")


def _code(response: Any) -> str:
    return str(response.json()["error"]["code"])


@pytest.mark.parametrize(
    "url",
    [
        RUN + "?diagnosis=E11&service=home-nursing",
        RUN,
        RUN + "/csv?diagnosis=E11&service=home-nursing",
        "/api/consent/analyses/contacts-around-acute-episode?days=30",
        "/api/consent/analyses/contacts-around-acute-episode/csv",
    ],
)
def test_r6_a_get_of_a_run_runs_nothing_and_spends_nothing(world: World, url: str) -> None:
    client = f.client_for(world.analyst)

    answer = client.get(url)
    head = client.head(url)

    assert answer.status_code == 405, answer.content
    assert _code(answer) == "request.method_not_allowed"
    assert head.status_code == 405
    assert not AnalysisRelease.objects.exists() and _spent(world) == 0
    assert not _analysis_entries(world.analyst).exists()


def test_r6_a_run_is_a_post_answered_201_where_the_answer_is_read_again(world: World) -> None:
    client = f.client_for(world.analyst)

    run = _run(client)

    assert run.status_code == 201, run.content
    release = AnalysisRelease.objects.get()
    assert run.json()["id"] == release.pk
    assert run["Location"] == f"http://testserver/api/consent/analyses/runs/{release.pk}"
    assert run.json()["privacy"]["epsilon_spent"] == 0.5
    read = client.get(run["Location"])
    assert read.status_code == 200
    again = read.json()
    assert (again["id"], again["rows"], again["total"]) == (
        release.pk,
        run.json()["rows"],
        run.json()["total"],
    )
    assert again["privacy"]["epsilon_spent"] == 0 and again["privacy"]["reused"] is True
    csv = client.get(run["Location"] + "/csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert _spent(world) == 1
    # The run, the read and the export: each recorded, each naming the answer.
    entries = _analysis_entries(world.analyst).order_by("id")
    assert [(e.action, e.outcome, e.detail["release"]) for e in entries] == [
        ("search", "permitted", release.pk),
        ("read", "permitted", release.pk),
        ("export", "permitted", release.pk),
    ]


def test_r6_the_same_question_posted_again_is_the_answer_given_at_no_cost(
    world: World,
) -> None:
    """As on the analyst's page: asked again, the answer she was given is
    hers again, at no cost; nothing new is created (200, not 201)."""
    client = f.client_for(world.analyst)
    first = _run(client)

    again = _run(client, {"service": "home-nursing", "diagnosis": " e11 "})

    assert again.status_code == 200, again.content
    assert again["Location"] == first["Location"]
    assert again.json()["privacy"]["epsilon_spent"] == 0
    assert again.json()["privacy"]["reused"] is True
    assert again.json()["rows"] == first.json()["rows"]
    assert _spent(world) == 1 and AnalysisRelease.objects.count() == 1


def test_r6_a_run_sent_again_with_its_idempotency_key_is_told_where_its_answer_is(
    world: World,
) -> None:
    client = f.client_for(world.analyst)
    key = {"HTTP_IDEMPOTENCY_KEY": "run-e11-home-nursing-1"}
    first = _run(client, **key)

    replayed = _run(client, **key)

    assert first.status_code == 201
    assert replayed.status_code == 409 and _code(replayed) == "request.already_received"
    assert replayed["Location"] == first["Location"]
    assert _spent(world) == 1


def test_r6_every_role_but_analyst_is_refused_a_run_and_recorded(world: World) -> None:
    for membership in world.by_role().values():
        if membership.role == Role.ANALYST:
            continue
        refused = _run(f.client_for(membership))
        assert refused.status_code == 403, membership.role
        error = refused.json()["error"]
        assert (error["code"], error["rule"]) == ("analysis.role", "R6")
        entry = _analysis_entries(membership).latest("id")
        assert (entry.outcome, entry.reason_code, entry.resource_id) == (
            "denied",
            "role_not_permitted",
            "diagnosis-and-service",
        )
    assert _run(f.client_for(None)).status_code == 401
    assert not AnalysisRelease.objects.exists()


def test_r6_an_answer_is_read_only_by_an_analyst_who_was_given_it(world: World) -> None:
    """Another analyst, or any other role, is told the answer does not exist,
    exactly as of an id no answer has; each attempt is recorded (R9)."""
    run = _run(f.client_for(world.analyst))
    location = run["Location"]
    missing = location.rsplit("/", 1)[0] + f"/{run.json()['id'] + 1000}"
    colleague = f.staff(Role.ANALYST, world.analyst.organisation)
    nobody = f.client_for(world.analyst).get(missing)
    assert nobody.status_code == 404
    for membership in [colleague, *world.by_role().values()]:
        if membership == world.analyst:
            continue
        client = f.client_for(membership)
        for url in (location, location + "/csv"):
            refused = client.get(url)
            assert refused.status_code == 404, (membership.role, url)
            assert refused.json() == nobody.json()
        entry = _analysis_entries(membership).latest("id")
        assert (entry.outcome, entry.action) == ("denied", "export")
        assert entry.reason_code in ("role_not_permitted", "release_not_given_to_analyst")
    assert f.client_for(None).get(location).status_code == 401
    # Nobody else was given the answer, nor paid for it.
    assert PrivacyBudgetEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("question", "code", "field"),
    [
        ({**QUESTION, "days": 30}, "analysis.param_unknown", "days"),
        ({**QUESTION, "diagnosis": "F20"}, "analysis.diagnosis_invalid", "diagnosis"),
        ({**QUESTION, "diagnosis": None}, "analysis.diagnosis_invalid", "diagnosis"),
        ({**QUESTION, "diagnosis": 11}, "write.not_text", "diagnosis"),
        ({**QUESTION, "servise": "home-help"}, "write.field_unknown", "servise"),
        ({**QUESTION, "id": 1}, "write.field_unknown", "id"),
    ],
)
def test_r6_a_question_the_analysis_does_not_take_is_refused_and_recorded(
    world: World, question: dict[str, Any], code: str, field: str
) -> None:
    refused = _run(f.client_for(world.analyst), question)

    assert refused.status_code == 400, refused.content
    assert (_code(refused), refused.json()["error"]["field"]) == (code, field)
    entry = _analysis_entries(world.analyst).latest("id")
    assert (entry.outcome, entry.reason_code) == ("denied", code)
    assert not AnalysisRelease.objects.exists() and _spent(world) == 0


# A value no whole number is refused at the door (request.invalid) or by the
# analysis in its own words (analysis.param_invalid), never read as one.
NO_WHOLE_NUMBER = {"request.invalid", "analysis.param_invalid"}


@pytest.mark.parametrize(
    ("days", "codes"),
    [
        (True, {"request.invalid"}),
        ("\uff13\uff10", {"request.invalid"}),  # full-width 30
        ("x", NO_WHOLE_NUMBER),
        (" 30 ", {"request.invalid"}),  # text JSON writes for a number, never spaced
        ("+30", {"request.invalid"}),
        ("30.", {"request.invalid"}),
        (30.5, NO_WHOLE_NUMBER),
        (None, NO_WHOLE_NUMBER),
        ([30], NO_WHOLE_NUMBER),
        ({"days": 30}, NO_WHOLE_NUMBER | {"write.field_unknown"}),
        (0, {"analysis.days_invalid"}),
    ],
)
def test_r6_days_is_a_whole_number_as_everywhere_else(
    world: World, days: Any, codes: set[str]
) -> None:
    refused = _run(
        f.client_for(world.analyst),
        {"days": days},
        url="/api/consent/analyses/contacts-around-acute-episode",
    )

    assert refused.status_code == 400, refused.content
    assert _code(refused) in codes
    assert _analysis_entries(world.analyst).filter(outcome="denied").exists()
    assert not AnalysisRelease.objects.exists() and _spent(world) == 0


def test_r6_days_as_a_json_number_or_its_digits_is_the_one_question(world: World) -> None:
    client = f.client_for(world.analyst)
    url = "/api/consent/analyses/contacts-around-acute-episode"

    first = _run(client, {"days": 30}, url=url)
    same = _run(client, {"days": "30"}, url=url)
    default = _run(client, {}, url=url)

    assert (first.status_code, same.status_code, default.status_code) == (201, 200, 200)
    assert first.json()["parameters"] == {"days": 30}
    assert _spent(world) == 1


@pytest.mark.parametrize("body", ['["E11"]', '"E11"', "null"])
def test_r6_a_body_that_is_no_object_runs_nothing(world: World, body: str) -> None:
    refused = f.client_for(world.analyst).post(RUN, body, content_type="application/json")

    assert (refused.status_code, _code(refused)) == (400, "request.not_an_object")
    assert not AnalysisRelease.objects.exists() and _spent(world) == 0


def test_r6_a_question_in_the_address_of_a_run_is_refused_and_recorded(world: World) -> None:
    """The question is the body's: one put in the address is no part of it,
    refused rather than run as another question than the one sent."""
    refused = _run(f.client_for(world.analyst), url=RUN + "?days=7")

    assert refused.status_code == 400
    assert (_code(refused), refused.json()["error"]["field"]) == ("write.param_unknown", "days")
    entry = _analysis_entries(world.analyst).latest("id")
    assert (entry.outcome, entry.reason_code) == ("denied", "write.param_unknown")
    assert not AnalysisRelease.objects.exists()
    nurse = _run(f.client_for(world.nurse), url=RUN + "?days=7")
    assert (nurse.status_code, _code(nurse)) == (403, "analysis.role")
