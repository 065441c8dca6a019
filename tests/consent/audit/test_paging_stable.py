"""R9: an auditor pages through a search on every door (API, FHIR, pages)
while the log grows — her own reading of each page is recorded on the very
citizen she searches, and staff keep working — and sees each entry once,
none left out: the paging links carry the newest entry the first page
found (``as_of``), and the pages after it are counted from there."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from consent.audit import pages
from consent.audit.models import AuditEntry
from consent.audit.services import Action, Purpose, audit_record
from core.actors import Actor
from core.models import Role
from tests.factories import acute_function, citizen, client_for, log_in, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    org = acute_function()
    nurse = staff(Role.ACUTE_NURSE, org)
    auditor = staff(Role.AUDITOR, org)
    person = citizen()
    for i in range(5):
        _nurse_reads(nurse, person.pk, i)
    before = list(AuditEntry.objects.filter(citizen_id=person.pk).order_by("-recorded_at", "-id"))
    return {"nurse": nurse, "auditor": auditor, "person": person, "before": before}


def _nurse_reads(nurse, citizen_id: int, n: int) -> None:
    audit_record(
        actor=Actor.for_membership(nurse),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=citizen_id,
        resource_type="Condition",
        resource_id=str(n),
    )


def _expected(world) -> list[int]:
    return [e.id for e in world["before"]]


def test_api_pages_stay_put_while_entries_arrive(world) -> None:
    client = client_for(world["auditor"])
    page = client.get(f"/api/audit/entries?citizen={world['person'].pk}&limit=2").json()
    seen = [r["id"] for r in page["results"]]
    while page["next"]:
        _nurse_reads(world["nurse"], world["person"].pk, 99)
        page = client.get(page["next"]).json()
        seen += [r["id"] for r in page["results"]]

    assert seen == _expected(world)


def test_fhir_pages_stay_put_while_entries_arrive(world) -> None:
    client = client_for(world["auditor"])
    bundle = client.get(f"/fhir/AuditEvent?patient=Patient/{world['person'].pk}&_count=2").json()
    seen = [int(e["resource"]["id"]) for e in bundle["entry"]]
    while True:
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            break
        _nurse_reads(world["nurse"], world["person"].pk, 99)
        bundle = client.get(following[0]).json()
        seen += [int(e["resource"]["id"]) for e in bundle.get("entry", [])]

    assert seen == _expected(world)
    # The way back is the same search: the first page as it was.
    first = next(link["url"] for link in bundle["link"] if link["relation"] == "first")
    again = client.get(first).json()
    assert [int(e["resource"]["id"]) for e in again["entry"]] == _expected(world)[:2]


def test_the_search_page_pages_stay_put_while_entries_arrive(world, monkeypatch) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    client = Client()
    assert log_in(client, world["auditor"]).status_code == 302
    answer = client.get(f"/audit/?citizen={world['person'].pk}")
    seen: list[int] = []
    while True:
        html = answer.content.decode()
        seen += [int(i) for i in re.findall(r'href="/audit/entries/(\d+)"', html)]
        older = re.search(r'href="\?([^"]*offset=[^"]*)"', html)
        if older is None:
            break
        _nurse_reads(world["nurse"], world["person"].pk, 99)
        answer = client.get("/audit/?" + older.group(1).replace("&amp;", "&"))

    assert list(dict.fromkeys(seen)) == seen
    assert seen == _expected(world)


def test_a_pin_naming_no_entry_is_refused_on_every_door(world) -> None:
    client = client_for(world["auditor"])
    api = client.get("/api/audit/entries?as_of=999999999")
    assert (api.status_code, api.json()["error"]["code"]) == (400, "audit.param_invalid")
    assert api.json()["error"]["field"] == "as_of"
    fhir = client.get("/fhir/AuditEvent?as-of=AuditEvent/999999999")
    assert fhir.status_code == 400
    assert fhir.json()["issue"][0]["details"]["coding"][0]["code"] == "search.param_invalid"
    browser = Client()
    assert log_in(browser, world["auditor"]).status_code == 302
    page = browser.get("/audit/?as_of=999999999")
    assert page.status_code == 400
    assert "internt id" in page.content.decode()
