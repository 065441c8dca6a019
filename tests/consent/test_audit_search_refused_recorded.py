"""R9: an auditor's search or export of the log refused for what it asks (a
parameter unknown, given twice or malformed) is an attempt like any other,
recorded as denied on every door — the API, the auditor's pages — as a
refused ``/fhir/AuditEvent`` search is: purpose ``audit``, the refusal's
code, on the citizen the search names, never what was typed."""

from __future__ import annotations

import pytest

from consent.audit.models import AuditEntry
from tests import factories as f
from tests.consent.conftest import World
from tests.consent.test_insight import _page_client

pytestmark = pytest.mark.django_db


def _new_entries(before: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(id__gt=before).order_by("id"))


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.mark.parametrize(
    ("door", "url", "action", "code"),
    [
        ("api", "/api/audit/entries?citizen={c}&from=2026-13-01", "search", "audit.param_invalid"),
        ("api", "/api/audit/entries?citizen={c}&limit=0", "search", "audit.param_invalid"),
        ("api", "/api/audit/entries?citizen={c}&citzen=3", "search", "search.param_unknown"),
        ("api", "/api/audit/entries?citizen={c}&outcome=x", "search", "audit.param_invalid"),
        ("api", "/api/audit/export?citizen={c}&as=xls", "export", "audit.param_invalid"),
        ("api", "/api/audit/export?citizen={c}&to=2026-01-01&from=2026-02-01", "export", None),
        ("page", "/audit/?citizen={c}&from=2026-10-25T02:30", "search", None),
        ("page", "/audit/?citizen={c}&offset=x", "search", "audit.param_invalid"),
        ("page", "/audit/export.csv?citizen={c}&outcome=x", "export", "audit.param_invalid"),
        ("page", "/audit/export.csv?citizen={c}&citizen={c}", "export", "search.param_repeated"),
    ],
)
def test_r9_a_refused_search_of_the_log_is_recorded_on_her_log(
    world: World, door: str, url: str, action: str, code: str | None
) -> None:
    client = f.client_for(world.auditor) if door == "api" else _page_client(world.auditor)
    before = _last_id()

    response = client.get(url.format(c=world.person.pk))

    assert response.status_code == 400, response.content
    [refused] = _new_entries(before)
    assert (refused.actor_user_id, refused.action, refused.outcome, refused.purpose) == (
        world.auditor.user_id,
        action,
        "denied",
        "audit",
    )
    # On her log; given twice, she is not the one the search was about.
    named = world.person.pk if url.count("citizen=") == 1 else None
    assert (refused.citizen_id, refused.resource_type) == (named, "AuditEvent")
    if door == "api":
        assert refused.reason_code == response.json()["error"]["code"]
    if code is not None:
        assert refused.reason_code == code


def test_r9_a_refused_search_naming_no_known_citizen_is_on_no_citizens_log(world: World) -> None:
    before = _last_id()
    response = f.client_for(world.auditor).get("/api/audit/entries?citizen=99999999&limit=0")
    assert response.status_code == 400
    [refused] = _new_entries(before)
    assert (refused.citizen_id, refused.outcome, refused.detail) == (
        None,
        "denied",
        {"field": "limit"},
    )


def test_r9_a_cpr_number_mistyped_in_the_search_form_is_recorded_without_it(world: World) -> None:
    before = _last_id()
    response = _page_client(world.auditor).post("/audit/", {"cpr": "0203411"})
    assert response.status_code == 400
    [refused] = _new_entries(before)
    assert (refused.action, refused.outcome, refused.citizen_id) == ("search", "denied", None)
    assert "0203411" not in str(refused.detail) + refused.resource_id
