"""A login refused for earlier failures — too many wrong passwords or
codes — is in the audit log, whichever door it came by."""

from __future__ import annotations

import pytest
from django.conf import settings

from consent.audit.models import AuditEntry, Outcome
from core.models import Role
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_a_locked_out_token_login_is_recorded_with_whom_and_whence(api_client) -> None:
    """Someone guessing a nurse's password was held back (429) and counted
    in the login table, but the audit log an auditor reads said nothing."""
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function(), username="nurse-locked")
    f.totp_device(nurse.user)
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        wrong = {"username": "nurse-locked", "password": "guess"}
        assert api_client.post("/api/auth/token", wrong, format="json").status_code == 401
    assert not AuditEntry.objects.filter(reason_code="auth.throttled").exists()
    right = {"username": "nurse-locked", "password": f.PASSWORD, "otp": f.totp_code(nurse.user)}
    refused = api_client.post("/api/auth/token", right, format="json", REMOTE_ADDR="10.1.2.3")
    assert refused.status_code == 429
    entry = AuditEntry.objects.get(reason_code="auth.throttled")
    assert entry.outcome == Outcome.DENIED
    assert entry.resource_type == "Session"
    assert entry.detail["username"] == "nurse-locked"
    assert entry.detail["client_address"] == "10.1.2.3"


def test_a_code_app_paused_after_wrong_codes_is_recorded_on_the_login_page(client) -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function(), username="coord-codes")
    f.totp_device(coordinator.user)
    first = client.post("/login/", {"username": "coord-codes", "password": f.PASSWORD})
    assert first["Location"] == "/login/code/"
    assert client.post("/login/code/", {"otp": "000000"}).status_code == 400
    paused = client.post("/login/code/", {"otp": f.totp_code(coordinator.user)})
    assert paused.status_code == 429
    entry = AuditEntry.objects.get(reason_code="auth.otp_throttled")
    assert entry.outcome == Outcome.DENIED
    assert entry.detail["username"] == "coord-codes"
