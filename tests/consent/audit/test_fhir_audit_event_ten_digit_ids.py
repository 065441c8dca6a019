"""The audit log's entry ids reach ten digits at national scale (ADR 0002):
an auditor paging through ``/fhir/AuditEvent`` follows links that carry
``as-of=AuditEvent/<id>``, the newest entry the first page found. Past
999,999,999 entries every one of those links was refused as a CPR number in
the URL (400 ``request.cpr_in_url``), on the first page's ``self`` too, and
so was the same ``as-of`` in a POST search's form: the log could no longer be
paged through by FHIR. The auditor's API and search page page the same way
(``as_of=<id>``) and were refused alike. An id written as ids are is no CPR
number; any other CPR-shaped value stays refused, and the attempt recorded
(R9)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from consent.audit import pages
from consent.audit.models import AuditEntry
from tests import factories as f
from tests.consent.audit.conftest import as_owner
from tests.consent.conftest import World, issue_code
from tests.factories import log_in

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

FIRST_ID = 1234567890


def _past_a_billion(world: World) -> None:
    as_owner("SELECT setval('audit_entry_id_seq', %s, false)", [FIRST_ID], bypass_triggers=False)
    nurse = f.client_for(world.nurse)
    for _ in range(3):
        assert nurse.get(f"/fhir/Condition?patient={world.person.pk}").status_code == 200


def test_r9_every_paging_link_of_a_ten_digit_log_is_followed(world: World) -> None:
    _past_a_billion(world)
    auditor = f.client_for(world.auditor)
    first = auditor.get(f"/fhir/AuditEvent?patient={world.person.pk}&_count=1")
    assert first.status_code == 200, first.content[:300]
    links = {link["relation"]: link["url"] for link in first.json()["link"]}
    assert "as-of=AuditEvent%2F1234567" in links["next"]
    seen = [first.json()["entry"][0]["resource"]["id"]]
    url = links["next"]
    while url:
        page = auditor.get(url.removeprefix("http://testserver"))
        assert page.status_code == 200, (url, page.content[:300])
        seen.extend(e["resource"]["id"] for e in page.json().get("entry", []))
        url = {link["relation"]: link["url"] for link in page.json()["link"]}.get("next")
    assert auditor.get(links["self"].removeprefix("http://testserver")).status_code == 200
    assert len(seen) == len(set(seen))
    assert sum(int(i) >= FIRST_ID for i in seen) >= 3


def test_a_ten_digit_as_of_in_a_post_search_form_is_taken(world: World) -> None:
    _past_a_billion(world)
    newest = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    response = f.client_for(world.auditor).post(
        "/fhir/AuditEvent/_search",
        data=f"patient={world.person.pk}&as-of=AuditEvent/{newest}&_count=1",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.content[:300]
    assert int(response.json()["entry"][0]["resource"]["id"]) <= int(newest or 0)


@pytest.mark.parametrize(
    "query",
    [
        "as-of=AuditEvent/0101801234",  # a leading zero: written as no id is
        "as-of=0101801234",
        "as-of=AuditEvent/010180-1234",
        "agent=1234567890",  # not a parameter that names an entry
    ],
)
def test_r9_any_other_cpr_shaped_value_is_refused_and_recorded(world: World, query: str) -> None:
    auditor = f.client_for(world.auditor)
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = auditor.get(f"/fhir/AuditEvent?patient={world.person.pk}&{query}")
    assert response.status_code == 400, response.content[:300]
    assert issue_code(response) == "request.cpr_in_url"
    assert "0101801234" not in response.content.decode()
    refused = AuditEntry.objects.filter(id__gt=before).get()
    assert (refused.outcome, refused.reason_code) == ("denied", "cpr_in_url")


def test_r9_the_auditors_api_pages_through_a_ten_digit_log(world: World) -> None:
    _past_a_billion(world)
    auditor = f.client_for(world.auditor)
    page = auditor.get(f"/api/audit/entries?citizen={world.person.pk}&limit=1").json()
    assert "as_of=1234567" in page["next"]
    seen = [row["id"] for row in page["results"]]
    while page["next"]:
        answer = auditor.get(page["next"])
        assert answer.status_code == 200, (page["next"], answer.content[:300])
        page = answer.json()
        seen += [row["id"] for row in page["results"]]
    assert len(seen) == len(set(seen))
    assert sum(i >= FIRST_ID for i in seen) >= 3


def test_r9_the_auditors_search_page_pages_through_a_ten_digit_log(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZE", 1)
    _past_a_billion(world)
    client = Client()
    assert log_in(client, world.auditor).status_code == 302
    answer = client.get(f"/audit/?citizen={world.person.pk}")
    older = re.search(r'href="\?([^"]*offset=[^"]*)"', answer.content.decode())
    assert older is not None and "as_of=1234567" in older.group(1)
    following = client.get("/audit/?" + older.group(1).replace("&amp;", "&"))
    assert following.status_code == 200, following.content[:300]


@pytest.mark.parametrize("value", ["0101801234", "010180-1234"])
def test_r9_a_cpr_shaped_as_of_on_the_api_is_still_refused(world: World, value: str) -> None:
    response = f.client_for(world.auditor).get(
        f"/api/audit/entries?citizen={world.person.pk}&as_of={value}"
    )
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["code"] == "request.cpr_in_url"
    assert "0101801234" not in response.content.decode()
