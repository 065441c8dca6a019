"""The login pages against a hostile link or browser: where ``next`` may
send her, the session's key at each step, forms from elsewhere, logout by a
link."""

import pytest
from django.test import Client

from core.models import Role, User
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_code_pause(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


@pytest.mark.parametrize(
    "next_url",
    [
        "//evil.example/",
        "/\\evil.example/",
        "/\t/evil.example/",
        "\\\\evil.example/",
        "https://evil.example/",
        "javascript:alert(1)",
        "///evil.example/",
    ],
)
def test_a_next_that_leaves_the_platform_is_dropped(client, next_url) -> None:
    """A path a browser reads as another host (a backslash or a tab after the
    first slash) was kept, escaped, in the redirect after login."""
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function())
    answer = f.log_in(client, nurse, next_url=next_url)
    assert answer.status_code == 302
    assert answer["Location"] == "/"


def test_a_next_on_the_platform_is_kept_through_a_wrong_password(client) -> None:
    """A wrong password lost where she was going: the form sent again took her
    to the start page."""
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function(), username="nurse-next")
    # The login form posts to /login/ itself, carrying next as a field.
    wrong = client.post("/login/", {"username": "nurse-next", "password": "no", "next": "/help/"})
    assert wrong.status_code == 400
    assert 'name="next" value="/help/"' in wrong.content.decode()
    hostile = client.get("/login/", {"next": "//evil.example/"})
    assert "evil.example" not in hostile.content.decode()
    assert f.log_in(client, nurse, next_url="/help/?tab=1")["Location"] == "/help/?tab=1"


def test_the_session_key_is_renewed_after_the_password_and_again_at_login(client) -> None:
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function(), username="nurse-key")
    f.totp_device(nurse.user)
    client.get("/login/")
    client.session.save()
    planted = client.session.session_key
    client.post("/login/", {"username": "nurse-key", "password": f.PASSWORD})
    after_password = client.session.session_key
    assert after_password != planted
    client.post("/login/code/", {"otp": f.totp_code(User.objects.get(username="nurse-key"))})
    assert client.session.session_key not in (planted, after_password)
    assert client.get("/").status_code == 200


def test_forms_from_elsewhere_and_logout_by_a_link_are_refused() -> None:
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function(), username="nurse-csrf")
    f.totp_device(nurse.user)
    strict = Client(enforce_csrf_checks=True)
    refused = strict.post("/login/", {"username": "nurse-csrf", "password": f.PASSWORD})
    assert refused.status_code == 403
    assert "_auth_user_id" not in strict.session

    client = Client()
    assert f.log_in(client, nurse).status_code == 302
    assert client.get("/logout/").status_code == 405
    assert client.get("/admin/logout/").status_code in (302, 405)
    assert client.get("/").status_code == 200  # still logged in
    outsider = Client(enforce_csrf_checks=True)
    outsider.cookies = client.cookies
    assert outsider.post("/logout/").status_code == 403
    assert client.get("/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302
