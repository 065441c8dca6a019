"""The follow-up figures page refuses a period it cannot read, in words a
coordinator understands, beside the field she typed it in, and shows no
figures for a period she did not ask for."""

from __future__ import annotations

import pytest
from django.test import Client

from consent.audit.models import AuditEntry, Outcome
from core.models import Membership, Role
from tests import factories

pytestmark = pytest.mark.django_db


def _coordinator() -> tuple[Client, Membership]:
    client = Client()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    factories.log_in(client, coordinator)
    return client, coordinator


def _no_figures(html: str) -> bool:
    return "data-empty" not in html and '<svg class="chart"' not in html


@pytest.mark.parametrize("query", ["from=2026-13-01", "from=2026-01-01&to=2026-01-31"])
def test_a_parameter_the_page_does_not_take_is_refused_not_read_as_the_last_30_days(
    query: str,
) -> None:
    client, coordinator = _coordinator()

    response = client.get(f"/coordinator/figures/?{query}", HTTP_ACCEPT_LANGUAGE="da")

    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-code="figures.param_unknown"' in html
    assert "Adressen indeholder from" in html and "vælg perioden med Fra og Til" in html
    assert _no_figures(html)
    assert AuditEntry.objects.filter(
        actor_user_id=coordinator.user_id,
        resource_type="Figures",
        outcome=Outcome.DENIED,
        reason_code="figures.param_unknown",
    ).exists()


def test_the_api_period_and_output_are_not_taken_by_the_page() -> None:
    client, _ = _coordinator()

    response = client.get("/coordinator/figures/", {"period": "month"})

    assert response.status_code == 400
    assert 'data-code="figures.param_unknown"' in response.content.decode()
    assert _no_figures(response.content.decode())


@pytest.mark.parametrize(
    ("name", "label", "typed"),
    [("start", "Fra", "2026-13-01"), ("end", "Til", "2026-02-30"), ("start", "Fra", "abc")],
)
def test_a_day_no_calendar_has_is_named_by_its_field_without_jargon(
    name: str, label: str, typed: str
) -> None:
    client, _ = _coordinator()

    response = client.get("/coordinator/figures/", {name: typed}, HTTP_ACCEPT_LANGUAGE="da")

    assert response.status_code == 400
    html = response.content.decode()
    said = f"{label} er ikke en gyldig dato; vælg dagen i kalenderen."
    assert f'<p class="field-error" id="err-{name}">{said}</p>' in html
    assert "ÅÅÅÅ" not in html and "ISO" not in html
    assert f'value="{typed}" aria-invalid="true"' in html
    assert _no_figures(html)


def test_the_api_keeps_its_own_wording_for_the_same_refusal() -> None:
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    api = factories.client_for(coordinator)

    response = api.get(
        "/api/acute/figures?start=2026-13-01&end=2026-12-31", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "figures.date_invalid"
    assert response.json()["error"]["message"] == "Dates as YYYY-MM-DD."
