"""A password login is in the audit log like a sign-in through an identity
provider, whichever door it came by: refused — for earlier failures (too
many wrong passwords or codes), a wrong username, password or code — and
succeeded."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from consent.audit.models import AuditEntry, Outcome
from core.models import Role, User
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


def test_every_password_login_and_each_refusal_is_recorded_as_a_sign_in(client, settings) -> None:
    """A sign-in through an identity provider was in the audit log, allowed or
    refused; a password login was not, nor a wrong password or code short of
    the lockout: an auditor asking who signed in to the platform, or whether
    someone was guessing a nurse's password, saw half of it."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function(), username="nurse-audit")
    f.totp_device(nurse.user)
    wrong = client.post(
        "/login/", {"username": "nurse-audit", "password": "guess"}, REMOTE_ADDR="10.1.2.4"
    )
    assert wrong.status_code == 400
    unknown = client.post("/login/", {"username": "nobody-here", "password": "guess"})
    assert unknown.status_code == 400
    refused = AuditEntry.objects.filter(reason_code="auth.invalid_credentials").order_by("id")
    assert [(e.outcome, e.resource_type, e.detail["username"]) for e in refused] == [
        (Outcome.DENIED, "Session", "nurse-audit"),
        (Outcome.DENIED, "Session", "nobody-here"),
    ]
    assert refused[0].detail["client_address"] == "10.1.2.4"

    assert (
        client.post("/login/", {"username": "nurse-audit", "password": f.PASSWORD}).status_code
        == 302
    )
    assert client.post("/login/code/", {"otp": "000000"}).status_code == 400
    code = AuditEntry.objects.get(reason_code="auth.otp_invalid")
    assert (code.outcome, code.detail["username"]) == (Outcome.DENIED, "nurse-audit")
    assert not AuditEntry.objects.filter(reason_code="signin.password").exists()

    user = User.objects.get(username="nurse-audit")
    assert client.post("/login/code/", {"otp": f.totp_code(user)}).status_code == 302
    entry = AuditEntry.objects.get(reason_code="signin.password")
    assert entry.outcome == Outcome.PERMITTED
    assert (entry.actor_user_id, entry.actor_role) == (user.pk, Role.ACUTE_NURSE)
    assert entry.detail["door"] == "page"


def test_a_token_login_is_recorded_and_a_code_sent_twice_is_a_recorded_refusal(api_client) -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function(), username="coord-token")
    code = f.totp_code(coordinator.user)
    login = {"username": "coord-token", "password": f.PASSWORD, "otp": code}
    assert api_client.post("/api/auth/token", login, format="json").status_code == 201
    entry = AuditEntry.objects.get(reason_code="signin.password")
    assert (entry.actor_user_id, entry.actor_role, entry.detail["door"]) == (
        coordinator.user_id,
        Role.COORDINATOR,
        "api",
    )
    again = api_client.post("/api/auth/token", login, format="json")
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "auth.otp_invalid"
    assert AuditEntry.objects.get(reason_code="auth.otp_invalid").outcome == Outcome.DENIED
    assert AuditEntry.objects.filter(reason_code="signin.password").count() == 1


def test_the_admin_login_is_recorded_and_a_non_administrators_password_as_a_wrong_one(
    client,
) -> None:
    from tests.core.test_auth import _admin, _admin_login

    admin_user = _admin("admin-audit")
    assert (
        _admin_login(client, "admin-audit", f.PASSWORD, f.totp_code(admin_user)).status_code == 302
    )
    entry = AuditEntry.objects.get(reason_code="signin.password")
    assert (entry.actor_user_id, entry.actor_role, entry.detail["door"]) == (
        admin_user.pk,
        Role.ADMINISTRATOR,
        "admin",
    )
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function(), username="nurse-not-admin")
    f.totp_device(nurse.user)
    other = Client()
    assert _admin_login(other, "nurse-not-admin", f.PASSWORD, "000000").status_code == 200
    refused = AuditEntry.objects.get(reason_code="auth.invalid_credentials")
    assert (refused.outcome, refused.detail["username"]) == (Outcome.DENIED, "nurse-not-admin")
    assert AuditEntry.objects.filter(reason_code="signin.password").count() == 1


def _sign_outs() -> list[tuple[int | None, str, str, str]]:
    entries = AuditEntry.objects.filter(resource_type="Session", reason_code__startswith="signout")
    return [
        (e.actor_user_id, e.actor_role, e.reason_code, e.detail.get("door", ""))
        for e in entries.order_by("id")
    ]


def test_every_logout_is_recorded_as_a_sign_out_by_whoever_signed_out(client, api_client) -> None:
    """Every sign-in was in the audit log but no logout, by any door: an
    auditor could not tell when a tablet's session had ended, nor whether a
    token was still in use when its holder said she had left."""
    from tests.core.test_auth import _admin, _admin_login

    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function(), username="nurse-out")
    assert f.log_in(client, nurse).status_code == 302
    assert client.post("/logout/").status_code == 302
    # Logging out with no one signed in ends nothing and records nothing.
    assert client.post("/logout/").status_code == 302

    coordinator = f.staff(Role.COORDINATOR, f.acute_function(), username="coord-out")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {f.token_for(coordinator)}")
    assert api_client.post("/api/auth/logout").status_code == 204

    admin_user = _admin("admin-out")
    admin = Client()
    assert _admin_login(admin, "admin-out", f.PASSWORD, f.totp_code(admin_user)).status_code == 302
    assert admin.post("/admin/logout/").status_code == 302

    assert _sign_outs() == [
        (nurse.user_id, Role.ACUTE_NURSE, "signout", "page"),
        (coordinator.user_id, Role.COORDINATOR, "signout", "api"),
        (admin_user.pk, Role.ADMINISTRATOR, "signout", "admin"),
    ]
    entry = AuditEntry.objects.filter(reason_code="signout").first()
    assert entry is not None
    assert (entry.outcome, entry.purpose, entry.citizen_id) == (
        Outcome.PERMITTED,
        "operations",
        None,
    )


def test_a_session_ended_by_the_idle_timeout_is_recorded_as_hers(client) -> None:
    """The tablet left untouched was logged out quietly: the audit log showed
    her signed in and never signed out."""
    import time

    from core.middleware import SESSION_SEEN_KEY

    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function(), username="nurse-idle")
    assert f.log_in(client, nurse).status_code == 302
    assert client.get("/").status_code == 200
    assert _sign_outs() == []
    session = client.session
    session[SESSION_SEEN_KEY] = time.time() - settings.SESSION_IDLE_SECONDS - 30
    session.save()
    assert client.get("/").status_code == 302
    assert _sign_outs() == [(nurse.user_id, Role.ACUTE_NURSE, "signout.idle", "")]
    idle = AuditEntry.objects.get(reason_code="signout.idle")
    assert idle.detail["idle_seconds"] >= settings.SESSION_IDLE_SECONDS
    # Back at the login page nothing more is ended, nor recorded.
    assert client.get("/").status_code == 302
    assert AuditEntry.objects.filter(reason_code__startswith="signout").count() == 1
