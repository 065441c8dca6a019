"""A logout made on the tablet without a connection (docs/decisions/0013):
the tablet remembers it in a cookie naming her opaque owner, and the server
ends her session at the tablet's next request, before anything is answered
under it, recorded once as her sign-out (R9)."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from consent.audit.models import AuditEntry
from core.context_processors import device_owner
from core.middleware import SESSION_SEEN_KEY, SIGN_OUT_PENDING_COOKIE
from core.models import Role
from tests import factories as f

pytestmark = pytest.mark.django_db


def _sign_outs() -> list[tuple[int | None, str, str]]:
    entries = AuditEntry.objects.filter(resource_type="Session", reason_code__startswith="signout")
    return [(e.actor_user_id, e.actor_role, e.reason_code) for e in entries.order_by("id")]


def _signed_in_nurse(client: Client):
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function())
    assert f.log_in(client, nurse).status_code == 302
    assert client.get("/nurse/visits/").status_code == 200
    return nurse


def _logged_out_offline(client: Client, user_id: int) -> None:
    client.cookies[SIGN_OUT_PENDING_COOKIE] = device_owner(user_id)


def _marker_deleted(response) -> bool:
    cookie = response.cookies.get(SIGN_OUT_PENDING_COOKIE)
    return cookie is not None and cookie.value == "" and str(cookie["max-age"]) == "0"


def test_the_tablets_next_request_ends_a_session_she_logged_out_of_offline(client) -> None:
    nurse = _signed_in_nurse(client)
    session_key = client.session.session_key
    _logged_out_offline(client, nurse.user_id)

    response = client.get("/nurse/visits/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert _marker_deleted(response)
    assert not Session.objects.filter(session_key=session_key).exists()
    assert _sign_outs() == [(nurse.user_id, Role.ACUTE_NURSE, "signout")]
    # The session cookie opens nothing any more, and nothing more is recorded.
    assert client.get("/nurse/visits/").status_code == 302
    assert client.get("/").status_code == 302
    assert _sign_outs() == [(nurse.user_id, Role.ACUTE_NURSE, "signout")]


def test_the_service_worker_asking_first_gets_nothing_under_her_session(client) -> None:
    nurse = _signed_in_nurse(client)
    _logged_out_offline(client, nurse.user_id)

    # The worker keeping her visits asks by itself (X-Background).
    response = client.get("/nurse/visits/", HTTP_X_BACKGROUND="1")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.required"
    assert _marker_deleted(response)
    assert _sign_outs() == [(nurse.user_id, Role.ACUTE_NURSE, "signout")]


def test_the_logout_posted_when_the_connection_returns_is_recorded_once(client) -> None:
    nurse = _signed_in_nurse(client)
    _logged_out_offline(client, nurse.user_id)

    response = client.post("/logout/")

    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'
    assert _marker_deleted(response)
    assert _sign_outs() == [(nurse.user_id, Role.ACUTE_NURSE, "signout")]


def test_a_logout_arriving_after_the_idle_limit_is_still_hers(client) -> None:
    nurse = _signed_in_nurse(client)
    session = client.session
    session[SESSION_SEEN_KEY] = time.time() - settings.SESSION_IDLE_SECONDS - 30
    session.save()
    _logged_out_offline(client, nurse.user_id)

    assert client.get("/").status_code == 302
    assert _sign_outs() == [(nurse.user_id, Role.ACUTE_NURSE, "signout")]


def test_a_pending_logout_naming_another_user_ends_nothing(client) -> None:
    nurse = _signed_in_nurse(client)
    earlier = f.staff(Role.ACUTE_NURSE, f.acute_function())
    _logged_out_offline(client, earlier.user_id)

    response = client.get("/nurse/visits/")

    assert response.status_code == 200
    assert _marker_deleted(response)
    assert _sign_outs() == []
    assert client.get("/nurse/visits/").status_code == 200
    assert nurse.user_id != earlier.user_id


def test_a_pending_logout_with_nobody_signed_in_lets_the_login_page_show(client) -> None:
    client.cookies[SIGN_OUT_PENDING_COOKIE] = "0" * 32
    response = client.get("/login/")
    assert response.status_code == 200
    assert _marker_deleted(response)
    assert _sign_outs() == []
