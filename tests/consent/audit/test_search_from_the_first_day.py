"""A search of the audit log from the calendar's first day (``from=0001-01-01``):
that day begins in Copenhagen before UTC's year 1, a time the store cannot
keep. Every door the auditor searches by (her page, its CSV, the flagged
entries, the API and its export) refuses it as it refuses any time out of
range (``time.out_of_range``, core.times), never a 500 (R9: the auditor
reviews the log; a search that breaks tells her nothing). The next day, and
the first day as the end of a range, are searched as usual. An id a link
carries that is no id is refused naming the field as the page does."""

from __future__ import annotations

import pytest
from django.test import Client

from core.models import Role
from tests.factories import acute_function, client_for, log_in, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor():
    return staff(Role.AUDITOR, acute_function())


@pytest.mark.parametrize("path", ["/audit/", "/audit/flagged", "/audit/export.csv"])
def test_the_auditors_pages_refuse_the_first_day_in_danish(auditor, path: str) -> None:
    client = Client(raise_request_exception=False)
    assert log_in(client, auditor).status_code == 302

    refused = client.get(f"{path}?from=0001-01-01")

    assert refused.status_code == 400
    page = refused.content.decode()
    assert 'data-code="time.out_of_range"' in page
    assert "Traceback" not in page
    assert client.get(f"{path}?from=0001-01-02").status_code == 200
    assert client.get(f"{path}?to=0001-01-01").status_code == 200


@pytest.mark.parametrize("path", ["/api/audit/entries", "/api/audit/export?as=csv"])
def test_the_api_refuses_the_first_day_with_its_code(auditor, path: str) -> None:
    client = client_for(auditor)
    joiner = "&" if "?" in path else "?"

    refused = client.get(f"{path}{joiner}from=0001-01-01")

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "time.out_of_range"
    assert client.get(f"{path}{joiner}from=0001-01-02").status_code == 200


@pytest.mark.parametrize(
    ("query", "named"),
    [("citizen=abc", "Borger"), ("user=-1", "Hvem"), ("organisation=x", "Organisation")],
)
def test_an_id_in_the_link_that_is_none_is_named_as_the_page_names_it(
    auditor, query: str, named: str
) -> None:
    """A link's id that is no id (altered by hand): the refusal names it as
    the page does, never by the parameter's English name."""
    client = Client()
    assert log_in(client, auditor).status_code == 302

    refused = client.get(f"/audit/?{query}")

    assert refused.status_code == 400
    said = refused.content.decode()
    parameter = query.split("=")[0]
    assert f"{named} skal være et internt id (cifre)" in said
    assert f"{parameter} skal være" not in said
