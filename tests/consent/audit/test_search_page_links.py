"""R9: the auditor's search and export pages take what their own links
carry and refuse the rest, as ``/api/audit/`` does: a misspelt filter read as
no filter searched and exported the whole log, and an offset that is no
whole number was read as the first page (or, too large, failed with a 500)."""

from __future__ import annotations

import pytest
from django.test import Client

from consent.audit.models import AuditEntry
from consent.audit.services import Action, Purpose, audit_record
from core.actors import Actor
from core.models import Role
from tests.factories import acute_function, citizen, log_in, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    org = acute_function()
    nurse = staff(Role.ACUTE_NURSE, org)
    auditor = staff(Role.AUDITOR, org)
    person, other = citizen(), citizen()
    for who in (person, other):
        audit_record(
            actor=Actor.for_membership(nurse),
            action=Action.READ,
            purpose=Purpose.TREATMENT,
            citizen_id=who.pk,
            resource_type="Condition",
            resource_id="1",
        )
    browser = Client()
    assert log_in(browser, auditor).status_code == 302
    return {"auditor": auditor, "person": person, "browser": browser}


def _auditors_entries(world) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(actor_user_id=world["auditor"].user_id))


@pytest.mark.parametrize("path", ["/audit/", "/audit/export.csv"])
def test_a_misspelt_filter_is_refused_not_read_as_the_whole_log(world, path: str) -> None:
    answer = world["browser"].get(f"{path}?citzen={world['person'].pk}")

    assert answer.status_code == 400
    assert "Søgeparameter understøttes ikke: citzen." in answer.content.decode()
    assert answer["Content-Type"].startswith("text/html")
    # Nobody's log was read: the refusal alone is recorded (R9), on no citizen.
    assert [
        (e.outcome, e.citizen_id, e.reason_code)
        for e in _auditors_entries(world)
        if e.purpose == "audit"
    ] == [("denied", None, "search.param_unknown")]


def test_the_links_the_pages_make_are_taken(world) -> None:
    browser = world["browser"]
    person = world["person"].pk

    assert browser.get(f"/audit/?citizen={person}&offset=0").status_code == 200
    assert browser.get("/audit/flagged").status_code == 200
    export = browser.get(f"/audit/export.csv?citizen={person}&outcome=permitted")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize("offset", ["abc", "-1", "1" + "0" * 30])
def test_the_search_page_refuses_an_offset_that_is_no_whole_number(world, offset: str) -> None:
    page = world["browser"].get(f"/audit/?citizen={world['person'].pk}&offset={offset}")

    assert page.status_code == 400
    assert "helt tal" in page.content.decode()
