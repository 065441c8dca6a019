"""R10: the coordinator acknowledges a deadline warning on the board, as the
API's ``POST /api/acute/warnings/<id>/acknowledge`` does. The board listed
the warnings with no way to acknowledge them: they stayed on it for good,
and every referral with one stayed "at risk"."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from acute.models import DeadlineWarning
from core.models import Role
from tests import factories

pytestmark = pytest.mark.django_db


def _login(membership) -> Client:
    client = Client()
    assert factories.log_in(client, membership).status_code == 302
    return client


def _warned():
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    referral = factories.acute_referral(urgency="next_day", by=coordinator)
    warning = DeadlineWarning.objects.create(
        referral=referral, kind=DeadlineWarning.Kind.AT_RISK, raised_at=timezone.now()
    )
    return coordinator, referral, warning


def _row(html: str, referral) -> str:
    at = html.index(f"/coordinator/referrals/{referral.pk}/")
    return html[html.rindex("<tr", 0, at) : html.index("</tr>", at)]


def test_r10_the_coordinator_acknowledges_a_warning_on_the_board() -> None:
    coordinator, referral, warning = _warned()
    client = _login(coordinator)
    live = client.get("/coordinator/live/").content.decode()
    action = f"/coordinator/warnings/{warning.pk}/acknowledge/"
    assert action in live and "Kvittér" in live
    assert "I fare" in _row(live, referral)
    response = client.post(action)
    assert response.status_code == 302 and response["Location"] == "/coordinator/"
    warning.refresh_from_db()
    assert warning.acknowledged_at is not None
    assert warning.acknowledged_by_id == coordinator.user_id
    board = client.get("/coordinator/").content.decode()
    assert "Der er kvitteret for advarslen." in board
    live = client.get("/coordinator/live/").content.decode()
    assert action not in live
    assert "I fare" not in _row(live, referral)
    # A second coordinator's click on the same warning changes nothing.
    again = client.post(action)
    assert again.status_code == 302
    assert "allerede kvitteret" in client.get("/coordinator/").content.decode()


def test_r10_only_a_coordinator_acknowledges_and_only_a_warning_that_exists() -> None:
    _coordinator, _referral, warning = _warned()
    nurse, _shift = factories.acute_nurse_on_shift()
    refused = _login(nurse).post(f"/coordinator/warnings/{warning.pk}/acknowledge/")
    assert refused.status_code == 403
    warning.refresh_from_db()
    assert warning.acknowledged_at is None
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    unknown = _login(coordinator).post(f"/coordinator/warnings/{warning.pk + 999}/acknowledge/")
    assert unknown.status_code == 403
    assert (
        _login(coordinator).get(f"/coordinator/warnings/{warning.pk}/acknowledge/").status_code
        == 405
    )


def test_r9_another_acute_functions_warning_is_refused_and_recorded_on_both_doors() -> None:
    """A warning about a citizen of a municipality only another acute function
    serves is not this coordinator's to clear: the page and the API refuse it
    alike, leave it on the other board, and each attempt is on the citizen's
    log as denied (R9)."""
    from consent.audit.models import AuditEntry

    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    other = factories.organisation("acute_function", "Anden Akutfunktion")
    other.serves.add(factories.municipality("101", participates=True))
    referral = factories.acute_referral(
        person=factories.citizen(municipality_code="101"),
        urgency="next_day",
        by=factories.staff(Role.COORDINATOR, other),
    )
    warning = DeadlineWarning.objects.create(
        referral=referral, kind=DeadlineWarning.Kind.AT_RISK, raised_at=timezone.now()
    )
    page = _login(coordinator).post(f"/coordinator/warnings/{warning.pk}/acknowledge/")
    api = factories.client_for(coordinator).post(f"/api/acute/warnings/{warning.pk}/acknowledge")
    assert page.status_code == 403
    assert api.status_code in (403, 404) and api.json()["error"]["code"] == "not_found"
    warning.refresh_from_db()
    assert warning.acknowledged_at is None
    denied = AuditEntry.objects.filter(outcome="denied", resource_type="Flag")
    assert [(e.citizen_id, e.actor_user_id, e.resource_id) for e in denied] == [
        (referral.citizen_id, coordinator.user_id, str(warning.pk))
    ] * 2
