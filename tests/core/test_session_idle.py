"""A page session ends when the person leaves it, not when the page stops
asking: the board's refresh, the tablet's position reports and the offline
queue's replays are not her use of the platform. Once the session has ended a
page's own request is sent to the login page as a whole page, and the end is
in the audit log once."""

from __future__ import annotations

import datetime as dt
import time
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.utils import timezone

from consent.audit.models import AuditEntry
from core.middleware import SESSION_SEEN_KEY, SessionIdleMiddleware
from core.models import ApiToken, Role
from tests import factories as f

pytestmark = pytest.mark.django_db

BACKGROUND = {"HTTP_X_BACKGROUND": "1"}
HTMX_POLL = {"HTTP_HX_REQUEST": "true", "HTTP_X_BACKGROUND": "1"}


def _untouched_for(client: Client, seconds: float) -> float:
    session = client.session
    seen = time.time() - seconds
    session[SESSION_SEEN_KEY] = seen
    session.save()
    return seen


def _seen(client: Client) -> float:
    return client.session[SESSION_SEEN_KEY]


def _idle_sign_outs() -> int:
    return AuditEntry.objects.filter(reason_code="signout.idle").count()


def test_the_boards_refresh_does_not_keep_the_session_alive(client) -> None:
    """The board asks every ten seconds; the coordinator's desktop left at
    the base stayed signed in with citizens on screen for the whole shift."""
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    assert f.log_in(client, coordinator).status_code == 302
    seen = _untouched_for(client, settings.SESSION_IDLE_SECONDS - 120)
    assert client.get("/coordinator/live/", **HTMX_POLL).status_code == 200
    assert _seen(client) == seen
    # Her own click counts.
    assert client.get("/coordinator/live/", HTTP_HX_REQUEST="true").status_code == 200
    assert _seen(client) > seen


def test_the_tablets_position_reports_and_queue_replays_do_not_keep_it_alive(client) -> None:
    """R9 (R1's tablet): the nurse's tablet reports its position every minute;
    put down in a citizen's home it stayed signed in to the shared record."""
    nurse, shift = f.acute_nurse_on_shift()
    assert f.log_in(client, nurse).status_code == 302
    seen = _untouched_for(client, settings.SESSION_IDLE_SECONDS - 120)
    shift.position_at = timezone.now() - dt.timedelta(minutes=5)
    shift.save(update_fields=["position_at"])
    reported = client.post(
        "/nurse/shift/position/",
        {"latitude": "55.741000", "longitude": "12.531000"},
        HTTP_X_REQUESTED_WITH="fetch",
        **BACKGROUND,
    )
    assert reported.status_code == 200
    assert client.get("/", HTTP_X_OFFLINE_REPLAY="1").status_code == 200
    assert _seen(client) == seen


def test_an_ended_session_sends_the_board_to_the_login_page_and_is_recorded_once(client) -> None:
    """When the session ended, htmx was answered with the login page, and
    swapped the login form into the board's box: the board's frame stayed on
    screen and the next refresh did the same."""
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    assert f.log_in(client, coordinator).status_code == 302
    _untouched_for(client, settings.SESSION_IDLE_SECONDS + 1)
    headers = {**HTMX_POLL, "HTTP_HX_CURRENT_URL": "http://testserver/coordinator/"}
    for _ in range(2):
        poll = client.get("/coordinator/live/", **headers)
        assert poll.status_code == 401
        assert poll["HX-Redirect"] == "/login/?next=/coordinator/"
        error = poll.json()["error"]
        assert (error["code"], error["location"]) == ("auth.required", "/login/?next=/coordinator/")
        assert "_auth_user_id" not in client.session
    assert _idle_sign_outs() == 1
    # A click of hers on the same page goes to the login page the same way.
    click = client.get("/coordinator/live/", HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="/x/")
    assert (click.status_code, click["HX-Redirect"]) == (401, "/login/?next=/x/")
    # A page of another site is never where the login sends her back to.
    elsewhere = client.get(
        "/coordinator/live/", **HTMX_POLL, HTTP_HX_CURRENT_URL="https://evil.example/coordinator/"
    )
    assert elsewhere["HX-Redirect"] == "/login/?next=/coordinator/live/"
    # Opened as a page, it is the login page as before.
    page = client.get("/coordinator/")
    assert (page.status_code, page["Location"]) == (302, "/login/?next=/coordinator/")


def test_an_ended_session_stops_the_tablets_position_reports(client) -> None:
    nurse, _shift = f.acute_nurse_on_shift()
    assert f.log_in(client, nurse).status_code == 302
    _untouched_for(client, settings.SESSION_IDLE_SECONDS + 1)
    reported = client.post(
        "/nurse/shift/position/",
        {"latitude": "55.741000", "longitude": "12.531000"},
        HTTP_X_REQUESTED_WITH="fetch",
        HTTP_REFERER="http://testserver/nurse/visits/",
        **BACKGROUND,
    )
    assert reported.status_code == 401
    assert reported.json()["error"]["location"] == "/login/?next=/nurse/visits/"
    assert _idle_sign_outs() == 1


def test_an_idle_session_asked_twice_at_once_is_ended_and_recorded_once(client) -> None:
    """The board's refresh and a click arriving together both read the idle
    session before either ended it: each recorded its end."""
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    assert f.log_in(client, coordinator).status_code == 302
    _untouched_for(client, settings.SESSION_IDLE_SECONDS + 1)
    key = client.session.session_key
    store = import_module(settings.SESSION_ENGINE).SessionStore

    def arriving() -> HttpRequest:
        request = RequestFactory().get("/coordinator/live/", **HTMX_POLL)
        request.session = store(key)
        assert request.session.get("_auth_user_id") is not None  # read before either ends it
        AuthenticationMiddleware(lambda r: HttpResponse()).process_request(request)
        return request

    first, second = arriving(), arriving()
    idle = SessionIdleMiddleware(lambda r: HttpResponse())
    idle(first)
    idle(second)
    assert _idle_sign_outs() == 1
    assert not first.user.is_authenticated and not second.user.is_authenticated


def test_a_token_lasts_its_lifetime_and_no_longer(api_client, settings) -> None:
    """A bearer token is not a session: it ends API_TOKEN_TTL_SECONDS after
    its login, whoever uses it meanwhile."""
    settings.API_TOKEN_TTL_SECONDS = 600
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function())
    f.totp_device(nurse.user)
    issued = api_client.post(
        "/api/auth/token",
        {"username": nurse.user.username, "password": f.PASSWORD, "otp": f.totp_code(nurse.user)},
        format="json",
    )
    assert issued.status_code == 201
    token = ApiToken.objects.get(membership=nurse)
    assert token.expires_at - token.created_at == dt.timedelta(seconds=600)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.json()['token']}")
    assert api_client.get("/api/auth/whoami").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    refused = api_client.get("/api/auth/whoami")
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "auth.required")
