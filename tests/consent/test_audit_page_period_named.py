"""A period the auditor's search cannot read is refused under the field the
form shows ("Fra", "Til"), named as the form names it — never by the link's
parameter ``from`` or ``to``, nor as an "ISO" date, which is the API's word —
on the search, the flagged entries and the export alike."""

from __future__ import annotations

import pytest
from django.test import Client

from core.models import Role
from tests import factories

pytestmark = pytest.mark.django_db


def _auditor() -> Client:
    client = Client()
    factories.log_in(client, factories.staff(Role.AUDITOR, factories.acute_function()))
    return client


@pytest.mark.parametrize("path", ["/audit/", "/audit/export.csv"])
def test_an_impossible_date_is_refused_under_fra_by_its_label(path: str) -> None:
    client = _auditor()

    response = client.get(path, {"from": "2026-02-30"}, HTTP_ACCEPT_LANGUAGE="da")

    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-code="audit.param_invalid"' in html
    said = "Fra er ikke en gyldig dato; vælg dagen i kalenderen."
    assert f'<p class="field-error" id="err-from">{said}</p>' in html
    assert "ISO" not in html and "from skal" not in html
    assert 'value="2026-02-30"' in html


@pytest.mark.parametrize("path", ["/audit/", "/audit/export.csv"])
def test_a_period_that_ends_before_it_starts_names_both_fields_by_their_labels(
    path: str,
) -> None:
    client = _auditor()

    response = client.get(
        path, {"from": "2026-03-01", "to": "2026-02-01"}, HTTP_ACCEPT_LANGUAGE="da"
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert '<p class="field-error" id="err-from">Fra skal ligge før Til.</p>' in html
    assert 'value="2026-03-01"' in html and 'value="2026-02-01"' in html
    assert "Ingen poster passer" not in html


def test_a_refused_period_on_the_flagged_list_says_why_and_not_that_none_wait() -> None:
    client = _auditor()

    response = client.get("/audit/flagged", {"to": "2026-13-01"}, HTTP_ACCEPT_LANGUAGE="da")

    assert response.status_code == 400
    html = response.content.decode()
    assert "Til er ikke en gyldig dato" in html and "ISO" not in html
    assert "Ingen markerede poster venter" not in html and "<table" not in html


def test_a_choice_not_on_the_list_names_the_list_and_its_choices() -> None:
    client = _auditor()

    response = client.get("/audit/", {"purpose": "gossip"}, HTTP_ACCEPT_LANGUAGE="da")

    assert response.status_code == 400
    html = response.content.decode()
    assert '<p class="field-error" id="err-purpose">Formål skal være en af behandling,' in html
    assert "Et søgefelt er ikke gyldigt." not in html


def test_the_api_keeps_its_own_wording_for_the_same_date() -> None:
    api = factories.client_for(factories.staff(Role.AUDITOR, factories.acute_function()))

    response = api.get("/api/audit/entries?from=2026-02-30", HTTP_ACCEPT_LANGUAGE="da")

    assert response.status_code == 400
    said = "from skal være en ISO-dato eller et ISO-tidspunkt."
    assert response.json()["error"]["message"] == said
