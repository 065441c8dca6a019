"""What a token or a page session was granted ends with the grant, by
whichever door the grant is changed: one by one, in bulk (a queryset update
sends no signal), a membership's end passing, a password changed."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import Membership, Organisation, Role, User
from tests import factories as f

pytestmark = pytest.mark.django_db


def _bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _refused(client: APIClient) -> bool:
    response = client.get("/api/auth/whoami")
    return response.status_code == 401 and response.json()["error"]["code"] == "auth.required"


def _past() -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=1)


def _future() -> dt.datetime:
    return timezone.now() + dt.timedelta(days=30)


# Each door, as a bulk write that runs no model code and sends no signal.
DOORS: dict[str, Callable[[Membership], object]] = {
    "role changed": lambda m: Membership.objects.filter(pk=m.pk).update(role=Role.AUDITOR),
    "organisation changed": lambda m: Membership.objects.filter(pk=m.pk).update(
        organisation=f.municipality("159")
    ),
    "membership ended": lambda m: Membership.objects.filter(pk=m.pk).update(valid_until=_past()),
    "membership postponed": lambda m: Membership.objects.filter(pk=m.pk).update(
        valid_from=_future()
    ),
    "password changed": lambda m: User.objects.filter(pk=m.user_id).update(
        password="argon2$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$changed"
    ),
    "membership switched off": lambda m: Membership.objects.filter(pk=m.pk).update(is_active=False),
    "user deactivated": lambda m: User.objects.filter(pk=m.user_id).update(is_active=False),
    "organisation deactivated": lambda m: Organisation.objects.filter(pk=m.organisation_id).update(
        is_active=False
    ),
}


def test_every_bulk_change_of_a_grant_ends_the_tokens_issued_under_it() -> None:
    """A coordinator's role changed to auditor by a bulk update (the admin's
    list, a script) went on working with her coordinator's token, now as an
    auditor; likewise a token outlived its membership's end and a password
    change. Each door is tried on a token of its own."""
    untouched = _bearer(f.token_for(f.staff(Role.PHYSICIAN, f.gp_practice())))
    for door, change in DOORS.items():
        membership = f.staff(Role.COORDINATOR, f.acute_function())
        client = _bearer(f.token_for(membership))
        assert client.get("/api/auth/whoami").status_code == 200, door
        change(membership)
        assert _refused(client), door
        assert untouched.get("/api/auth/whoami").status_code == 200, door


def test_a_password_changed_the_ordinary_way_ends_the_tokens_and_a_new_login_works(
    api_client,
) -> None:
    membership = f.staff(Role.ACUTE_NURSE, f.acute_function(), username="nurse-pw")
    f.totp_device(membership.user)
    client = _bearer(f.token_for(membership))
    assert client.get("/api/auth/whoami").status_code == 200
    membership.user.set_password("a new password for the nurse")
    membership.user.save()
    assert _refused(client)
    response = api_client.post(
        "/api/auth/token",
        {
            "username": "nurse-pw",
            "password": "a new password for the nurse",
            "otp": f.totp_code(membership.user),
        },
        format="json",
    )
    assert response.status_code == 201
    assert _bearer(response.json()["token"]).get("/api/auth/whoami").status_code == 200


def test_a_membership_with_an_end_works_until_it_and_no_login_reaches_it_after(
    api_client,
) -> None:
    membership = f.staff(Role.COORDINATOR, f.acute_function(), username="coord-temp")
    f.totp_device(membership.user)
    membership.valid_until = timezone.now() + dt.timedelta(hours=1)
    membership.save()
    client = _bearer(f.token_for(membership))
    assert client.get("/api/auth/whoami").status_code == 200
    Membership.objects.filter(pk=membership.pk).update(valid_until=_past())
    refused = client.get("/api/auth/whoami")
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "Tokenets rolle er ikke længere aktiv."
    response = api_client.post(
        "/api/auth/token",
        {"username": "coord-temp", "password": f.PASSWORD, "otp": f.totp_code(membership.user)},
        format="json",
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.no_membership"


def test_a_membership_that_begins_later_reaches_nothing_before_it_begins(
    api_client, client
) -> None:
    """A nurse hired from next month is given her role today: until it
    begins, no door lets her act in it; from then on she signs in as any other."""
    membership = f.staff(Role.ACUTE_NURSE, f.acute_function(), username="nurse-next-month")
    f.totp_device(membership.user)
    membership.valid_from = _future()
    membership.save()

    def token() -> Any:
        return api_client.post(
            "/api/auth/token",
            {
                "username": "nurse-next-month",
                "password": f.PASSWORD,
                "otp": f.totp_code(membership.user),
            },
            format="json",
        )

    early = token()
    assert early.status_code == 401
    assert early.json()["error"]["code"] == "auth.no_membership"
    page = client.post("/login/", {"username": "nurse-next-month", "password": f.PASSWORD})
    assert page.status_code == 400
    assert client.get("/").status_code == 302  # not logged in
    assert _refused(_bearer(f.token_for(membership)))

    Membership.objects.filter(pk=membership.pk).update(valid_from=_past())
    begun = token()
    assert begun.status_code in (200, 201), begun.content
    assert _bearer(begun.json()["token"]).get("/api/auth/whoami").status_code == 200


def test_a_role_cannot_end_before_it_begins() -> None:
    membership = f.staff(Role.ACUTE_NURSE, f.acute_function())
    membership.valid_from = _future()
    membership.valid_until = _future() - dt.timedelta(days=1)
    with pytest.raises(ValidationError) as refused:
        membership.full_clean()
    assert "Rollen skal ophøre, efter at den er begyndt." in str(refused.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        membership.save()


def test_a_page_session_ends_when_its_membership_ends_or_its_user_is_deactivated(
    client,
) -> None:
    """The tablet's session went on after the nurse's membership had passed
    its end; a user deactivated, or her password changed, ends it too."""
    for change in (
        lambda m: Membership.objects.filter(pk=m.pk).update(valid_until=_past()),
        lambda m: Membership.objects.filter(pk=m.pk).update(valid_from=_future()),
        lambda m: User.objects.filter(pk=m.user_id).update(is_active=False),
        lambda m: Organisation.objects.filter(pk=m.organisation_id).update(is_active=False),
    ):
        client.logout()
        membership = f.staff(Role.COORDINATOR, f.acute_function())
        assert f.log_in(client, membership).status_code == 302
        assert client.get("/").status_code == 200
        change(membership)
        home = client.get("/")
        assert home.status_code == 302 and home["Location"].startswith("/login/")


def test_a_page_session_left_untouched_ends_and_one_in_use_goes_on(client, api_client) -> None:
    """A session lasted its whole twelve hours whether or not anyone used it:
    a tablet put down unlocked at the base or in a citizen's home stayed
    logged in to the shared record for whoever picked it up. Left untouched
    for SESSION_IDLE_SECONDS it ends, by every door; in use it goes on, and
    a bearer token is not a session."""
    from django.conf import settings

    from core.middleware import SESSION_SEEN_KEY

    def untouched_for(seconds: float) -> None:
        session = client.session
        session[SESSION_SEEN_KEY] = time.time() - seconds
        session.save()

    membership = f.staff(Role.COORDINATOR, f.acute_function())
    assert f.log_in(client, membership).status_code == 302
    untouched_for(settings.SESSION_IDLE_SECONDS - 120)
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 200
    old_key = client.session.session_key
    untouched_for(settings.SESSION_IDLE_SECONDS + 1)
    home = client.get("/")
    assert home.status_code == 302 and home["Location"].startswith("/login/")
    assert client.session.session_key != old_key
    assert "_auth_user_id" not in client.session

    assert f.log_in(client, membership).status_code == 302
    assert client.get("/api/auth/whoami").status_code == 200
    untouched_for(settings.SESSION_IDLE_SECONDS + 1)
    api = client.get("/api/auth/whoami")
    assert api.status_code == 401
    assert api.json()["error"]["code"] == "auth.required"

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {f.token_for(membership)}")
    assert api_client.get("/api/auth/whoami").status_code == 200
