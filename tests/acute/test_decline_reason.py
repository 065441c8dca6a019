"""Triage: the reason for declining a referral goes back to the referrer, so
it is bounded like the referral's own text on every door. A refusal writes
nothing and is a denied attempt on the citizen's record (R9)."""

from __future__ import annotations

import pytest

from acute.models import Referral
from acute.services._common import REFERRAL_TEXT_LIMIT
from consent.audit.models import AuditEntry
from core.models import Role
from integrations.models import OutboundMessage
from tests import factories
from tests.acute.test_pages import _login

pytestmark = pytest.mark.django_db


def _received():
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    return coordinator, factories.acute_referral(accepted=False, by=coordinator)


def _denied(referral: Referral, code: str) -> int:
    return AuditEntry.objects.filter(
        citizen_id=referral.citizen_id,
        outcome="denied",
        resource_type="ServiceRequest",
        reason_code=code,
    ).count()


def _untouched(referral: Referral) -> None:
    referral.refresh_from_db()
    assert referral.status == Referral.Status.RECEIVED
    assert referral.decline_reason == ""


def test_a_decline_reason_too_long_is_refused_on_the_api_and_nothing_is_written() -> None:
    coordinator, referral = _received()
    messages_before = OutboundMessage.objects.count()
    client = factories.client_for(coordinator)
    url = f"/api/acute/referrals/{referral.pk}/decline"

    long = client.post(url, {"reason": "x" * (REFERRAL_TEXT_LIMIT + 1)}, format="json")
    assert long.status_code == 400, long.content
    error = long.json()["error"]
    assert error["code"] == "referral.decline_reason_too_long"
    assert error["field"] == "reason"
    _untouched(referral)
    assert OutboundMessage.objects.count() == messages_before
    assert _denied(referral, "referral.decline_reason_too_long") == 1

    empty = client.post(url, {"reason": "  "}, format="json")
    assert empty.status_code == 400
    assert empty.json()["error"]["code"] == "referral.decline_reason_required"
    assert _denied(referral, "referral.decline_reason_required") == 1
    _untouched(referral)

    at_limit = client.post(url, {"reason": "y" * REFERRAL_TEXT_LIMIT}, format="json")
    assert at_limit.status_code == 200, at_limit.content
    referral.refresh_from_db()
    assert referral.status == Referral.Status.DECLINED


def test_a_decline_reason_too_long_is_refused_on_the_coordinators_page_in_danish() -> None:
    coordinator, referral = _received()
    page = _login(coordinator).post(
        f"/coordinator/referrals/{referral.pk}/triage/",
        {"decision": "decline", "reason": "x" * (REFERRAL_TEXT_LIMIT + 1)},
    )
    assert page.status_code == 400
    html = page.content.decode()
    assert 'data-code="referral.decline_reason_too_long"' in html
    assert "Skriv begrundelsen med højst" in html
    _untouched(referral)
    assert _denied(referral, "referral.decline_reason_too_long") == 1
