"""Logging in: tokens, sessions, Argon2, throttling of repeated failures."""

import base64
import datetime as dt
import re
import time

import pytest
from django.conf import settings
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

import config.settings as configured
from core.models import ApiToken, LoginAttempt, Role, User
from tests import factories as f

pytestmark = pytest.mark.django_db


def _token(client, username: str, password: str, **extra: object):
    """A token login; a known user gives the current code from the tests'
    TOTP key unless the test gives its own ``otp``."""
    user = User.objects.filter(username=username).first()
    if user is not None and "otp" not in extra:
        extra["otp"] = f.totp_code(user)
    extra = {key: value for key, value in extra.items() if value is not None}
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
        "error": {
            "code": "auth.invalid_credentials",
            "message": "Forkert brugernavn eller adgangskode.",
        }
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
    # As configured for every process (the tests hash at Argon2's cheapest, tests/hashers.py).
    assert configured.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


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


def test_token_and_role_refusals_read_in_danish_for_a_danish_reader(api_client) -> None:
    """REST framework's refusals worded by the platform — a token refused, a
    role not admitted — stayed English for a client asking for Danish, on
    /api/ and /fhir/, while a service's refusals were Danish."""
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function())
    membership = f.staff(Role.COORDINATOR, f.acute_function())
    danish = {"HTTP_ACCEPT_LANGUAGE": "da"}

    def error(path: str, token: str, **headers: str) -> dict:
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = api_client.get(path, **headers)
        assert response.status_code in (401, 403), response.content
        body = response.json()
        return body["error"] if "error" in body else body["issue"][0]

    role = error("/api/consent/analyses", f.token_for(nurse), **danish)
    assert (role["code"], role["message"]) == (
        "auth.forbidden",
        "Din rolle må ikke bruge dette endepunkt.",
    )
    unknown = error("/api/auth/whoami", "no-such-token", **danish)
    assert unknown["message"] == "Tokenet er ukendt, udløbet eller tilbagekaldt."
    outcome = error("/fhir/Patient/1", "no-such-token", **danish)
    assert outcome["diagnostics"] == "Tokenet er ukendt, udløbet eller tilbagekaldt."
    membership.is_active = False
    membership.save()
    ended = error("/api/auth/whoami", f.token_for(membership), **danish)
    assert ended["message"] == "Tokenets rolle er ikke længere aktiv."
    # Danish also to a client that does not say (docs/api.md); English when asked for.
    assert error("/api/auth/whoami", "no-such-token")["message"] == (
        "Tokenet er ukendt, udløbet eller tilbagekaldt."
    )
    assert error("/api/auth/whoami", "no-such-token", HTTP_ACCEPT_LANGUAGE="en")["message"] == (
        "The token is unknown, expired or revoked."
    )


def test_a_role_changed_in_place_ends_the_tokens_issued_in_the_old_one(api_client) -> None:
    """A membership's role changed in the admin kept its tokens working, now
    in the new role: a coordinator's token became an auditor's without anyone
    signing in as auditor. A change of anything else keeps them."""
    membership = f.staff(Role.COORDINATOR, f.acute_function())
    raw = f.token_for(membership)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api_client.get("/api/auth/whoami").json()["role"] == "coordinator"
    membership.is_default = False
    membership.save()
    assert api_client.get("/api/auth/whoami").status_code == 200
    membership.role = Role.AUDITOR
    membership.save()
    response = api_client.get("/api/auth/whoami")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.required"
    # A token issued in the new role works.
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {f.token_for(membership)}")
    assert api_client.get("/api/auth/whoami").json()["role"] == "auditor"


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
    f.totp_device(User.objects.get(username="coord-page"))
    response = client.post("/login/", {"username": "coord-page", "password": f.PASSWORD})
    # The password is right, but the code from the TOTP app is still to come.
    assert response.status_code == 302
    assert response["Location"] == "/login/code/"
    assert client.get("/").status_code == 302
    wrong = client.post("/login/code/", {"otp": "000000"})
    assert wrong.status_code == 400
    assert 'role="alert"' in wrong.content.decode()
    assert client.get("/").status_code == 302
    time.sleep(1.1)  # after a wrong code the device waits a second before the next
    user = User.objects.get(username="coord-page")
    response = client.post("/login/code/", {"otp": f.totp_code(user)})
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
    assert "Forkert brugernavn eller adgangskode." in response.content.decode()


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


def test_a_password_alone_gets_no_token_for_a_role_that_reads_citizen_data(api_client) -> None:
    f.staff(Role.ACUTE_NURSE, f.acute_function(), username="nurse-otp")
    f.totp_device(User.objects.get(username="nurse-otp"))
    response = _token(api_client, "nurse-otp", f.PASSWORD, otp=None)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.otp_required"
    assert response.json()["error"]["field"] == "otp"
    wrong = _token(api_client, "nurse-otp", f.PASSWORD, otp="000000")
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "auth.otp_invalid"
    assert not ApiToken.objects.exists()


def test_a_code_is_accepted_once(api_client) -> None:
    f.staff(Role.COORDINATOR, f.acute_function(), username="coord-otp")
    code = f.totp_code(User.objects.get(username="coord-otp"))
    assert _token(api_client, "coord-otp", f.PASSWORD, otp=code).status_code == 201
    replayed = _token(api_client, "coord-otp", f.PASSWORD, otp=code)
    assert replayed.status_code == 401
    assert replayed.json()["error"]["code"] == "auth.otp_invalid"


def test_wrong_codes_count_towards_the_limit_and_the_password_does_not_reset_it(
    api_client, settings
) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    # The device's own pause after a wrong code (django-otp) is tested below.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    f.staff(Role.AUDITOR, f.acute_function(), username="aud-otp")
    f.totp_device(User.objects.get(username="aud-otp"))
    for _ in range(3):
        assert _token(api_client, "aud-otp", f.PASSWORD, otp="000000").status_code == 401
    response = _token(api_client, "aud-otp", f.PASSWORD)
    assert response.status_code == 429


def test_a_right_code_typed_while_the_device_pauses_is_told_to_wait_not_called_wrong(
    api_client, client
) -> None:
    """After a wrong code the device checks no code for a while (1, 2, 4 …
    seconds). A right code typed meanwhile was answered "the code is wrong or
    used" (auth.otp_invalid), on the API and the login page alike; it is a
    429 saying to wait, with Retry-After, in Danish for a Danish reader."""
    user = f.staff(Role.COORDINATOR, f.acute_function(), username="coord-pause").user
    device = f.totp_device(user)
    wrong = _token(api_client, "coord-pause", f.PASSWORD, otp="000000")
    assert wrong.json()["error"]["code"] == "auth.otp_invalid"
    right = f.totp_code(user)
    paused = api_client.post(
        "/api/auth/token",
        {"username": "coord-pause", "password": f.PASSWORD, "otp": right},
        format="json",
        HTTP_ACCEPT_LANGUAGE="da",
    )
    assert paused.status_code == 429
    assert paused.json()["error"]["code"] == "auth.otp_throttled"
    assert paused.json()["error"]["message"] == (
        "For mange forkerte koder i træk. Vent lidt, før du skriver den næste kode."
    )
    assert 1 <= int(paused["Retry-After"]) <= 2
    assert not ApiToken.objects.exists()
    # The code was not checked, so it is neither used up nor counted as a failure.
    assert LoginAttempt.objects.filter(username="coord-pause", succeeded=False).count() == 1
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - dt.timedelta(seconds=5)
    )
    assert _token(api_client, "coord-pause", f.PASSWORD, otp=right).status_code == 201

    # The login page says the same.
    assert (
        client.post("/login/", {"username": "coord-pause", "password": f.PASSWORD})["Location"]
        == "/login/code/"
    )
    assert client.post("/login/code/", {"otp": "000000"}).status_code == 400
    page = client.post("/login/code/", {"otp": f.totp_code(user)})
    assert page.status_code == 429
    assert "For mange forkerte koder i træk" in page.content.decode()


def test_code_refusals_read_in_danish_on_the_api_for_a_danish_reader(api_client) -> None:
    """The token login's refusals of the second factor were English for a
    client asking for Danish, unlike the password's."""
    f.staff(Role.AUDITOR, f.acute_function(), username="aud-da")
    f.totp_device(User.objects.get(username="aud-da"))

    def message(otp: str | None) -> str:
        body = {"username": "aud-da", "password": f.PASSWORD}
        if otp is not None:
            body["otp"] = otp
        response = api_client.post(
            "/api/auth/token", body, format="json", HTTP_ACCEPT_LANGUAGE="da"
        )
        return response.json()["error"]["message"]

    assert message(None) == "Angiv koden fra din kodeapp som otp."
    assert message("000000") == "Koden er forkert eller allerede brugt."


def test_a_code_in_other_digits_than_ascii_is_wrong_on_the_page_as_on_the_api(
    client, api_client, settings
) -> None:
    """The login page took the code typed in Arabic-Indic or full-width digits
    (which Python reads as the same number) while the API refused them: one
    code, one rule on every door."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function(), username="nurse-digits")
    f.totp_device(nurse.user)
    code = f.totp_code(nurse.user)
    arabic = "".join(chr(0x660 + int(d)) for d in code)
    full_width = "".join(chr(0xFF10 + int(d)) for d in code)
    client.post("/login/", {"username": "nurse-digits", "password": f.PASSWORD})
    for typed in (arabic, full_width):
        refused = client.post("/login/code/", {"otp": typed})
        assert refused.status_code == 400
        assert "_auth_user_id" not in client.session
    assert client.post("/login/code/", {"otp": code}).status_code == 302


def test_first_password_login_sets_up_the_code_app_with_a_qr_code_drawn_here(client) -> None:
    f.staff(Role.ACUTE_NURSE, f.acute_function(), username="nurse-new")
    response = client.post("/login/", {"username": "nurse-new", "password": f.PASSWORD})
    assert response["Location"] == "/login/code/enrol/"
    page = client.get("/login/code/enrol/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html and "<script" not in html.split("</head>")[1]
    assert "style=" not in html  # the page's CSP forbids inline style
    secret = _found(re.search(r'id="totp-secret">([A-Z2-7]+)<', html))
    assert client.get("/").status_code == 302
    code = f"{TOTP(base64.b32decode(secret)).token():06d}"
    assert client.post("/login/code/enrol/", {"otp": "000000"}).status_code == 400
    time.sleep(1.1)
    assert client.post("/login/code/enrol/", {"otp": code}).status_code == 302
    assert client.get("/").status_code == 200
    assert TOTPDevice.objects.get(user__username="nurse-new").confirmed


def test_the_code_step_needs_the_password_step_first(client) -> None:
    assert client.get("/login/code/")["Location"] == "/login/"
    assert client.post("/login/code/", {"otp": "123456"})["Location"] == "/login/"


def _found(match: re.Match[str] | None) -> str:
    assert match is not None
    return match[1]


def test_wrong_codes_without_end_pause_the_code_app_for_half_a_minute_at_most(api_client) -> None:
    """The pause doubled with every wrong code in a row and ended only with a
    right one: someone who knew a nurse's password could lock her out of her
    code app for days, a wrong code every quarter of an hour."""
    user = f.staff(Role.ACUTE_NURSE, f.acute_function(), username="nurse-pause").user
    device = f.totp_device(user)
    # Forty wrong codes in a row, spread over days under the platform's own
    # limit; the last one twenty minutes ago.
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=40,
        throttling_failure_timestamp=timezone.now() - dt.timedelta(minutes=20),
    )
    assert _token(api_client, "nurse-pause", f.PASSWORD, otp=f.totp_code(user)).status_code == 201
    # And the next run of wrong codes pauses her code app no longer than that.
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=40, throttling_failure_timestamp=timezone.now()
    )
    paused = _token(api_client, "nurse-pause", f.PASSWORD, otp=f.totp_code(user))
    assert paused.status_code == 429
    assert int(paused["Retry-After"]) <= 32
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - dt.timedelta(seconds=33)
    )
    assert _token(api_client, "nurse-pause", f.PASSWORD, otp=f.totp_code(user)).status_code == 201


def test_the_bearer_scheme_is_read_in_any_case_and_the_token_only_from_the_header(
    api_client,
) -> None:
    """The scheme of ``Authorization`` is case-insensitive (RFC 7235), and the
    OAuth endpoint answers ``token_type: bearer``: a client sending the token
    as it was told to was refused "log in first". A token in the query
    string is never taken."""
    from rest_framework.test import APIClient

    membership = f.staff(Role.COORDINATOR, f.acute_function())
    raw = f.token_for(membership)
    for header in (f"bearer {raw}", f"BEARER {raw}", f"Bearer\t{raw}", f"Bearer   {raw} "):
        api_client.credentials(HTTP_AUTHORIZATION=header)
        assert api_client.get("/api/auth/whoami").status_code == 200, repr(header[:8])
    api_client.credentials(HTTP_AUTHORIZATION=f"bearer {raw}x")
    refused = api_client.get("/api/auth/whoami")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "auth.required"
    for name in ("access_token", "token", "bearer"):
        response = APIClient().get(f"/api/auth/whoami?{name}={raw}")
        assert response.status_code == 401, name
        assert response.json()["error"]["code"] == "auth.required"


def test_a_session_does_not_follow_its_role_changed_in_place(client) -> None:
    """A coordinator's role changed in the admin while she was logged in on
    the pages: her session went on in the new role (here an auditor's, with
    the audit log's pages) without anyone signing in as auditor. Like a
    token, the session ends with the role it was signed in to."""
    membership = f.staff(Role.COORDINATOR, f.acute_function())
    assert f.log_in(client, membership).status_code == 302
    assert client.get("/").status_code == 200
    membership.is_default = False
    membership.save()
    assert client.get("/").status_code == 200  # anything else changed keeps it
    membership.role = Role.AUDITOR
    membership.save()
    home = client.get("/")
    assert home.status_code == 302 and home["Location"].startswith("/login/")
    assert client.get("/api/auth/whoami").status_code in (401, 403)
    # Signing in again acts in the new role.
    assert f.log_in(client, membership).status_code == 302
    assert client.get("/api/auth/whoami").json()["role"] == "auditor"
    # An organisation changed in place ends it the same way.
    membership.organisation = f.municipality("159")
    membership.save()
    assert client.get("/").status_code == 302


def _admin(username: str = "admin-x") -> User:
    from core.models import Membership

    user = User.objects.create_superuser(username, password=f.PASSWORD)
    Membership.objects.create(
        user=user, organisation=f.acute_function(), role=Role.ADMINISTRATOR, is_default=True
    )
    f.totp_device(user)
    return user


def _admin_login(client, username: str, password: str, code: str):
    device = TOTPDevice.objects.filter(user__username=username).first()
    return client.post(
        "/admin/login/",
        {
            "username": username,
            "password": password,
            "otp_device": device.persistent_id if device else "",
            "otp_token": code,
        },
    )


def test_the_admin_login_counts_and_limits_failures_as_every_login_does(client, settings) -> None:
    """The admin's own login page checked the password itself: guesses there
    were never counted or limited, and after the limit was reached on the
    login page and the API the admin page still let the right password in."""
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    admin_user = _admin()
    for _ in range(3):
        response = _admin_login(client, "admin-x", "wrong", "000000")
        assert response.status_code == 200
        assert "Forkert brugernavn eller adgangskode." in response.content.decode()
    assert LoginAttempt.objects.filter(username="admin-x", succeeded=False).count() == 3
    blocked = _admin_login(client, "admin-x", f.PASSWORD, f.totp_code(admin_user))
    assert blocked.status_code == 200
    assert "_auth_user_id" not in client.session
    from rest_framework.test import APIClient

    api = APIClient().post(
        "/api/auth/token",
        {"username": "admin-x", "password": f.PASSWORD, "otp": f.totp_code(admin_user)},
        format="json",
    )
    assert api.status_code == 429


def test_the_admin_login_takes_a_code_once_and_tells_nothing_of_a_non_staff_password(
    client, settings
) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    admin_user = _admin()
    code = f.totp_code(admin_user)
    wrong_code = _admin_login(client, "admin-x", f.PASSWORD, "000000")
    assert wrong_code.status_code == 200
    assert LoginAttempt.objects.filter(username="admin-x", succeeded=False).count() == 1
    response = _admin_login(client, "admin-x", f.PASSWORD, code)
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    client.post("/admin/logout/")
    replayed = _admin_login(client, "admin-x", f.PASSWORD, code)
    assert replayed.status_code == 200
    assert "_auth_user_id" not in client.session
    # A member of staff who is no administrator: the right password reads as a wrong one.
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function(), username="nurse-adm")
    f.totp_device(nurse.user)
    right = _admin_login(client, "nurse-adm", f.PASSWORD, f.totp_code(nurse.user))
    wrong = _admin_login(client, "nurse-adm", "wrong", "000000")
    assert right.status_code == wrong.status_code == 200
    assert "Forkert brugernavn eller adgangskode." in right.content.decode()
    assert "Forkert brugernavn eller adgangskode." in wrong.content.decode()


@pytest.mark.postgres  # SQLite has no row locks
@pytest.mark.django_db(transaction=True)
def test_one_code_sent_twice_at_the_same_moment_is_accepted_once(settings, monkeypatch) -> None:
    """Two logins with one code at the same moment (the page and the API, or a
    code read over a shoulder) both read the device's last used step before
    either wrote it, and both got in. The check of the code is held here until
    both requests have reached it, if they can."""
    import contextlib
    import threading

    from django.db import connection
    from django_otp import oath
    from rest_framework.test import APIClient

    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    f.staff(Role.COORDINATOR, f.acute_function(), username="coord-race")
    code = f.totp_code(User.objects.get(username="coord-race"))
    both_checking = threading.Barrier(2, timeout=3)
    verify = oath.TOTP.verify

    def verify_when_both_check(self, *args, **kwargs):
        # Broken when the other request waits for the device's row: go on alone.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checking.wait()
        return verify(self, *args, **kwargs)

    monkeypatch.setattr(oath.TOTP, "verify", verify_when_both_check)
    answers: list[int] = []

    def log_in() -> None:
        try:
            answers.append(_token(APIClient(), "coord-race", f.PASSWORD, otp=code).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=log_in) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [201, 401]
    assert ApiToken.objects.count() == 1
