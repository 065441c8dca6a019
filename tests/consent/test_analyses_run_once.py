"""R6: a run of an analysis on the page is sent once and answered on its own
page (post/redirect/get). A double tap, a reload of the answer or back and
send again runs nothing and records no second run; the answer's page, and
its CSV, belong to the analyst who was given it — another analyst or another
role is refused and recorded (R9) — and reading it again spends nothing."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from consent.audit.models import AuditEntry
from consent.models import PrivacyBudgetEntry
from core.models import Role
from tests import factories as f
from tests.consent.analysis_api import run
from tests.consent.conftest import World

RUN = {"analysis": "diagnosis-and-service", "diagnosis": "E11", "service": "home-nursing"}


def _page_client(membership) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def _form_ref(client: Client) -> str:
    html = client.get("/analyses/").content.decode()
    form = html[
        html.index('<input type="hidden" name="analysis" value="diagnosis-and-service"') - 400 :
    ]
    return re.search(r'name="form_ref" value="([0-9a-f]{32})"', form).group(1)


def _runs(analyst) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            actor_user_id=analyst.user_id,
            purpose="analysis",
            action="search",
            outcome="permitted",
        )
    )


def test_r6_a_run_sends_the_analyst_to_its_answer_and_a_reload_runs_nothing(
    world: World,
) -> None:
    client = _page_client(world.analyst)

    sent = client.post("/analyses/run", {**RUN, "form_ref": _form_ref(client)})

    assert sent.status_code == 302
    entry = PrivacyBudgetEntry.objects.get(analyst=world.analyst.user)
    assert sent["Location"] == f"/analyses/runs/{entry.release_id}/#result"
    page = client.get(sent["Location"], HTTP_ACCEPT_LANGUAGE="da")
    assert page.status_code == 200
    assert 'id="result"' in page.content.decode() and "Svaret kostede" in page.content.decode()
    # A reload reads the answer again: no run, nothing spent, the read recorded.
    assert client.get(sent["Location"]).status_code == 200
    assert len(_runs(world.analyst)) == 1
    assert PrivacyBudgetEntry.objects.filter(analyst=world.analyst.user).count() == 1
    reads = AuditEntry.objects.filter(
        actor_user_id=world.analyst.user_id, purpose="analysis", action="read"
    )
    assert reads.count() == 2
    assert all(e.detail["release"] == entry.release_id for e in reads)
    # Its CSV is read the same way.
    csv = client.get(f"/analyses/runs/{entry.release_id}/csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert PrivacyBudgetEntry.objects.filter(analyst=world.analyst.user).count() == 1


def test_r6_the_same_form_sent_twice_runs_once(world: World) -> None:
    client = _page_client(world.analyst)
    form = {**RUN, "form_ref": _form_ref(client)}

    first = client.post("/analyses/run", form)
    second = client.post("/analyses/run", form, HTTP_ACCEPT_LANGUAGE="da")

    assert second.status_code == 302 and second["Location"] == first["Location"]
    assert len(_runs(world.analyst)) == 1
    shown = client.get(second["Location"], HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert "allerede sendt" in shown


def test_r6_a_refused_run_frees_the_form_for_the_corrected_question(world: World) -> None:
    client = _page_client(world.analyst)
    ref = _form_ref(client)

    bad = client.post("/analyses/run", {**RUN, "diagnosis": "F20", "form_ref": ref})
    good = client.post("/analyses/run", {**RUN, "form_ref": ref})

    assert bad.status_code == 400
    assert good.status_code == 302 and good["Location"].startswith("/analyses/runs/")
    assert len(_runs(world.analyst)) == 1


def test_r6_the_answer_is_the_analyst_s_own(world: World) -> None:
    client = _page_client(world.analyst)
    where = client.post("/analyses/run", RUN)["Location"].split("#")[0]

    # Another analyst of the same organisation, never given it.
    colleague = f.staff(Role.ANALYST, world.analyst.organisation)
    other = _page_client(colleague)
    for path in (where, f"{where}csv"):
        assert other.get(path).status_code == 403
    refused = AuditEntry.objects.filter(
        actor_user_id=colleague.user_id, outcome="denied", purpose="analysis"
    )
    assert refused.count() == 2
    assert {e.reason_code for e in refused} == {"release_not_given_to_analyst"}
    assert not PrivacyBudgetEntry.objects.filter(analyst=colleague.user).exists()


@pytest.mark.parametrize("role", [Role.ACUTE_NURSE, Role.AUDITOR, Role.COORDINATOR])
def test_r6_another_role_is_refused_the_answer_and_recorded(world: World, role: str) -> None:
    where = _page_client(world.analyst).post("/analyses/run", RUN)["Location"].split("#")[0]
    member = world.by_role()[role]

    response = _page_client(member).get(where)

    assert response.status_code == 403
    entry = AuditEntry.objects.filter(actor_user_id=member.user_id).latest("id")
    assert (entry.purpose, entry.outcome, entry.reason_code) == (
        "analysis",
        "denied",
        "role_not_permitted",
    )


def test_r6_the_api_run_sent_again_gives_the_same_answer_and_spends_once(world: World) -> None:
    """The API's run is a POST: sent again without a key (a retry after a
    lost answer), it is answered with the answer already given, at no cost."""
    client = f.client_for(world.analyst)
    question = {"diagnosis": "E11", "service": "home-nursing"}

    first = run(client, "diagnosis-and-service", **question).json()
    retried = run(client, "diagnosis-and-service", **question).json()

    assert (retried["rows"], retried["total"]) == (first["rows"], first["total"])
    assert retried["privacy"]["epsilon_spent"] == 0
    assert PrivacyBudgetEntry.objects.filter(analyst=world.analyst.user).count() == 1
