"""The analyst's analyses page (R6): analysts only, the answer with its hidden
counts shown and explained, the budget stated, every run and refusal audited."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client, override_settings

from consent.audit.models import AuditEntry
from core.models import Role
from tests import factories as f
from tests.consent.conftest import World
from tests.consent.test_analyses import NOISELESS, _people

RUN = {"analysis": "diagnosis-and-service", "diagnosis": "E11", "service": "home-nursing"}


def _page_client(membership) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def test_r6_only_analysts_see_the_page_and_a_refused_run_is_recorded(world: World) -> None:
    for membership in world.by_role().values():
        client = _page_client(membership)
        listing = client.get("/analyses/")
        run = client.post("/analyses/run", RUN)
        if membership.role == Role.ANALYST:
            # The run sends her on to its answer's page (post/redirect/get).
            assert (listing.status_code, run.status_code) == (200, 302), membership.role
            continue
        assert (listing.status_code, run.status_code) == (403, 403), membership.role
        entry = AuditEntry.objects.filter(actor_user_id=membership.user_id).latest("id")
        assert (entry.purpose, entry.outcome, entry.reason_code) == (
            "analysis",
            "denied",
            "role_not_permitted",
        )
    assert Client().get("/analyses/").status_code in (302, 403)


@NOISELESS
def test_r6_the_answer_shows_hidden_counts_as_hidden_and_says_why(world: World) -> None:
    for code in ("157", "159", "173", "230"):
        f.municipality(code)
    _people(world, 6, "E11", "157", "home-nursing")
    _people(world, 7, "E11", "157", None)
    _people(world, 2, "E11", "159", "home-nursing")
    _people(world, 8, "E11", "159", None)
    client = _page_client(world.analyst)

    html = client.post(
        "/analyses/run", RUN, HTTP_ACCEPT_LANGUAGE="da", follow=True
    ).content.decode()

    gentofte = html.split("Gentofte Kommune</th>")[1].split("</tr>")[0]
    assert '<td class="num">6</td><td class="num">7</td><td class="num">13</td>' in gentofte
    gladsaxe = html.split("Gladsaxe Kommune</th>")[1].split("</tr>")[0]
    assert gladsaxe.count('<td class="suppressed">skjult</td>') == 2  # 2 < 5, and 10 - 8
    assert 'id="suppression-note"' in html and "under 5" in html
    assert "støj" in html  # the noise is stated
    assert "Svaret kostede" in html
    run = AuditEntry.objects.filter(actor_user_id=world.analyst.user_id, action="search").get()
    assert (run.purpose, run.outcome) == ("analysis", "permitted")
    # Its page read is recorded too (R9), as a read of the answer.
    entry = AuditEntry.objects.filter(actor_user_id=world.analyst.user_id).latest("id")
    assert (entry.purpose, entry.outcome, entry.action) == ("analysis", "permitted", "read")
    # The same question again: the same answer, at no cost.
    again = client.post(
        "/analyses/run", RUN, HTTP_ACCEPT_LANGUAGE="da", follow=True
    ).content.decode()
    assert "det samme svar vises igen" in again and "Svaret kostede" not in again
    csv = client.post("/analyses/run", {**RUN, "export": "1"}, follow=True)
    exported = csv.content.decode()
    assert csv["Content-Type"].startswith("text/csv") and ",skjult" in exported
    assert "<5" not in exported


def test_r6_a_bad_question_marks_the_field_and_keeps_what_was_typed(world: World) -> None:
    client = _page_client(world.analyst)
    bad = client.post("/analyses/run", {**RUN, "diagnosis": "F20"}, HTTP_ACCEPT_LANGUAGE="da")
    html = bad.content.decode()
    assert bad.status_code == 400
    assert 'data-code="analysis.diagnosis_invalid"' in html
    assert 'value="F20" aria-invalid="true" aria-describedby="err-diagnosis"' in html
    assert 'class="field-error" id="err-diagnosis"' in html
    assert not AuditEntry.objects.filter(
        actor_user_id=world.analyst.user_id, outcome="permitted", purpose="analysis"
    ).exists()


@pytest.mark.django_db
def test_r6_a_used_up_budget_is_explained_on_the_page(world: World) -> None:
    client = _page_client(world.analyst)
    with override_settings(CONSENT_ANALYSIS_EPSILON_BUDGET=Decimal("0")):
        refused = client.post("/analyses/run", RUN, HTTP_ACCEPT_LANGUAGE="da")
    assert refused.status_code == 403
    assert 'data-code="analysis.budget_exhausted"' in refused.content.decode()
