"""Logging in: tokens, sessions, Argon2, throttling of repeated failures."""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from core.models import ApiToken, LoginAttempt, Role
from tests import factories as f

pytestmark = pytest.mark.django_db


def _token(client, username: str, password: str, **extra: object):
    return client.post(
        "/api/auth/token", {"username": username, "password": password, **extra}, format="json"
    )


def test_token_login_returns_a_bearer_token_that_works(api_client) -> None:
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function(), username="nurse-a")
    response = _token(api_client, "nurse-a", f.PASSWORD)
    assert response.status_code == 201
    token = response.json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    me = api_client.get("/api/auth/whoami")
    assert me.status_code == 200
    assert me.json()["role"] == "acute_nurse"
    assert me.json()["organisation"]["id"] == nurse.organisation_id
    # Only a hash of the token is stored.
    assert not ApiToken.objects.filter(key_hash=token).exists()


def test_wrong_password_is_refused_with_a_clear_error(api_client) -> None:
    f.staff(Role.COORDINATOR, f.acute_function(), username="coord")
    response = _token(api_client, "coord", "wrong")
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "auth.invalid_credentials", "message": "Wrong username or password."}
    }


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(api_client) -> None:
    response = _token(api_client, "nobody", "whatever")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.invalid_credentials"


def test_missing_fields_are_named(api_client) -> None:
    response = api_client.post("/api/auth/token", {"username": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "request.invalid"
    assert "password" in response.json()["error"]["fields"]


def test_repeated_failures_are_throttled_even_with_the_right_password(api_client) -> None:
    f.staff(Role.AUDITOR, f.acute_function(), username="aud")
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert _token(api_client, "aud", "guess").status_code == 401
    response = _token(api_client, "aud", f.PASSWORD)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "auth.throttled"
    assert int(response["Retry-After"]) == settings.LOGIN_FAILURE_WINDOW_SECONDS


def test_the_failure_limit_comes_from_settings(api_client, settings) -> None:
    settings.LOGIN_FAILURE_LIMIT = 2
    f.staff(Role.AUDITOR, f.acute_function(), username="aud2")
    _token(api_client, "aud2", "guess")
    _token(api_client, "aud2", "guess")
    assert _token(api_client, "aud2", f.PASSWORD).status_code == 429


def test_old_failures_fall_out_of_the_window(api_client) -> None:
    f.staff(Role.AUDITOR, f.acute_function(), username="aud3")
    long_ago = timezone.now() - dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS + 5)
    LoginAttempt.objects.bulk_create(
        [
            LoginAttempt(username="aud3", succeeded=False, at=long_ago)
            for _ in range(settings.LOGIN_FAILURE_LIMIT)
        ]
    )
    assert _token(api_client, "aud3", f.PASSWORD).status_code == 201


def test_passwords_are_hashed_with_argon2() -> None:
    membership = f.staff(Role.PHYSICIAN, f.gp_practice())
    membership.user.set_password("a new password for the doctor")
    membership.user.save()
    assert membership.user.password.startswith("argon2$")
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_expired_and_revoked_tokens_are_refused(api_client) -> None:
    membership = f.staff(Role.COORDINATOR, f.acute_function())
    raw = f.token_for(membership)
    token = ApiToken.objects.get(membership=membership)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api_client.get("/api/auth/whoami").status_code == 200
    token.expires_at = timezone.now() - dt.timedelta(seconds=1)
    token.save()
    response = api_client.get("/api/auth/whoami")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    token.expires_at = timezone.now() + dt.timedelta(hours=1)
    token.revoked_at = timezone.now()
    token.save()
    assert api_client.get("/api/auth/whoami").status_code == 401


def test_logout_revokes_the_token(api_client) -> None:
    membership = f.staff(Role.COORDINATOR, f.acute_function())
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {f.token_for(membership)}")
    assert api_client.post("/api/auth/logout").status_code == 204
    assert api_client.get("/api/auth/whoami").status_code == 401


def test_a_user_with_several_roles_must_choose_one(api_client) -> None:
    gp = f.gp_practice()
    helpline = f.organisation("helpline_1813", "1813")
    membership = f.staff(Role.PHYSICIAN, gp, username="doc")
    membership.is_default = False
    membership.save()
    from core.models import Membership

    Membership.objects.create(user=membership.user, organisation=helpline, role=Role.PHYSICIAN)
    assert (
        _token(api_client, "doc", f.PASSWORD).json()["error"]["code"] == "auth.membership_required"
    )
    response = _token(api_client, "doc", f.PASSWORD, organisation=helpline.pk)
    assert response.status_code == 201
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    assert api_client.get("/api/auth/whoami").json()["organisation"]["id"] == helpline.pk


def test_page_login_sets_the_role_and_logout_ends_it(client) -> None:
    f.staff(Role.COORDINATOR, f.acute_function(), username="coord-page")
    assert client.get("/").status_code == 302  # to the login page
    response = client.post("/login/", {"username": "coord-page", "password": f.PASSWORD})
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert "Coordinator" in home.content.decode()
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_page_login_with_wrong_password_says_so(client) -> None:
    f.staff(Role.COORDINATOR, f.acute_function(), username="coord-page2")
    response = client.post("/login/", {"username": "coord-page2", "password": "nope"})
    assert response.status_code == 400
    assert "Wrong username or password." in response.content.decode()


def test_the_token_query_compiled_once_loads_what_the_orm_loads() -> None:
    """Every request authenticates through a query compiled once per process: it
    must give the very token, membership, user and organisation the ORM gives."""
    from django.forms.models import model_to_dict

    from core.auth import token_with_membership
    from core.models import hash_token

    membership = f.staff(Role.ACUTE_NURSE, f.acute_function())
    key = hash_token(f.token_for(membership))
    for _ in range(3):  # the first, and the prepared statement after it
        fast = token_with_membership(key)
        assert fast is not None
        orm = ApiToken.objects.select_related("membership__user", "membership__organisation").get(
            key_hash=key
        )
        for mine, theirs in (
            (fast, orm),
            (fast.membership, orm.membership),
            (fast.membership.user, orm.membership.user),
            (fast.membership.organisation, orm.membership.organisation),
        ):
            assert model_to_dict(mine) == model_to_dict(theirs)
            assert mine.pk == theirs.pk and not mine._state.adding
    assert token_with_membership(hash_token("no such token")) is None


def test_an_api_view_reached_without_an_actor_is_refused_as_unauthenticated() -> None:
    """R9's "who": every API view learns who calls through ``core.api.actor_of``.
    A request that reaches one without a staff actor (a view whose permission
    forgot to ask) is refused as 401 ``auth.required``, in Danish too, and
    never answered or failed with a 500."""
    from django.utils import translation
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from core.api import actor_of
    from core.errors import Unauthenticated

    request = Request(APIRequestFactory().get("/api/acute/visits"), authenticators=())
    with pytest.raises(Unauthenticated) as refused:
        actor_of(request)
    assert refused.value.code == "auth.required"
    with translation.override("da"), pytest.raises(Unauthenticated) as refused_da:
        actor_of(request)
    assert refused_da.value.message == "Log ind først."
