"""A person's bearer token left unused ends, as a page session does
(``API_TOKEN_IDLE_SECONDS``): a tablet's app or a script left signed in is not
open for the rest of its 12 hours to whoever holds it. Every door that takes a
token (``/api/``, ``/fhir/``) reads the same rule; the end is recorded once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from consent.audit.models import AuditEntry
from core.models import ApiToken, Role, SystemClient
from tests import factories as f

pytestmark = pytest.mark.django_db


def _idle(token: ApiToken, seconds: float) -> None:
    ApiToken.objects.filter(pk=token.pk).update(
        last_used_at=timezone.now() - dt.timedelta(seconds=seconds)
    )


def _nurse_client():
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function())
    client = f.client_for(nurse)
    return nurse, client, ApiToken.objects.get(membership=nurse)


@pytest.mark.parametrize("door", ["/api/auth/whoami", "/fhir/Patient?name=Hansen"])
def test_a_token_left_unused_past_the_limit_ends_and_is_recorded_once(door: str) -> None:
    nurse, client, token = _nurse_client()
    assert client.get(door).status_code == 200
    _idle(token, settings.API_TOKEN_IDLE_SECONDS + 5)
    assert client.get(door).status_code == 401
    assert client.get(door).status_code == 401  # ended, not idle again
    token.refresh_from_db()
    assert token.revoked_at is not None
    [ended] = AuditEntry.objects.filter(
        reason_code="signout.idle", actor_user_id=nurse.user_id, outcome="permitted"
    )
    assert ended.detail["door"] == "api"
    assert ended.detail["idle_seconds"] >= settings.API_TOKEN_IDLE_SECONDS


def test_using_the_token_keeps_it_alive_and_a_pages_own_request_does_not() -> None:
    _, client, token = _nurse_client()
    _idle(token, settings.API_TOKEN_IDLE_SECONDS - 120)
    # A request a script makes by itself (X-Background) is not her use.
    before = ApiToken.objects.get(pk=token.pk).last_used_at
    assert client.get("/api/auth/whoami", HTTP_X_BACKGROUND="1").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at == before
    assert client.get("/api/auth/whoami").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert (timezone.now() - token.last_used_at).total_seconds() < 60
    # A use counted a minute ago is not written again (kept to the minute).
    _idle(token, 10)
    before = ApiToken.objects.get(pk=token.pk).last_used_at
    assert client.get("/api/auth/whoami").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at == before


def test_a_token_never_used_since_its_login_is_idle_from_its_issue() -> None:
    _, client, token = _nurse_client()
    ApiToken.objects.filter(pk=token.pk).update(
        created_at=timezone.now() - dt.timedelta(seconds=settings.API_TOKEN_IDLE_SECONDS + 5)
    )
    assert client.get("/api/auth/whoami").status_code == 401


def test_the_limit_comes_from_settings(settings) -> None:
    settings.API_TOKEN_IDLE_SECONDS = 90
    _, client, token = _nurse_client()
    _idle(token, 100)
    assert client.get("/api/auth/whoami").status_code == 401


def test_a_systems_short_lived_token_has_no_idle_limit(settings) -> None:
    settings.API_TOKEN_IDLE_SECONDS = 60
    membership = f.staff(Role.HOME_NURSE, f.home_nursing("157"))
    system = SystemClient.objects.create(
        client_id="sys-idle",
        name="EOJ",
        membership=membership,
        secret_hash="1" * 64,
        scopes="system/Patient.read",
    )
    token = ApiToken.objects.create(
        key_hash="0" * 64,
        membership=membership,
        system_client=system,
        scopes="system/Patient.read",
        created_at=timezone.now() - dt.timedelta(seconds=120),
        expires_at=timezone.now() + dt.timedelta(seconds=180),
    )
    assert token.idle_seconds(timezone.now()) is None
