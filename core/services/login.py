"""The password check of a login, and the limit on failed logins that
comes before it (per username and per address)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import authenticate
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_noop as _

from core.errors import Throttled, Unauthenticated
from core.models import LoginAttempt, User
from core.services.signals import login_locked_out, login_refusal_send


def _failures_since_last_success(
    *, username: str, client_address: str | None, now: dt.datetime
) -> tuple[int, int]:
    window_start = now - dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    last_success = LoginAttempt.objects.filter(username=username, succeeded=True).aggregate(
        at=Max("at")
    )["at"]
    since = max(window_start, last_success) if last_success else window_start
    by_user = LoginAttempt.objects.filter(username=username, succeeded=False, at__gt=since).count()
    by_address = 0
    if client_address:
        by_address = LoginAttempt.objects.filter(
            client_address=client_address, succeeded=False, at__gt=window_start
        ).count()
    return by_user, by_address


def refuse_when_throttled(*, username: str, client_address: str | None, now: dt.datetime) -> None:
    """Refuse a login, before its password or code is checked, once too many
    failed recently; the refusal is a lockout in the audit log."""
    limit = settings.LOGIN_FAILURE_LIMIT
    by_user, by_address = _failures_since_last_success(
        username=username, client_address=client_address, now=now
    )
    if by_user >= limit or by_address >= limit * 10:
        login_locked_out.send(
            sender=None,
            username=username[:150],
            code="auth.throttled",
            client_address=client_address,
        )
        raise Throttled(
            "auth.throttled",
            _("Too many failed logins. Wait a while before trying again."),
            retry_after=settings.LOGIN_FAILURE_WINDOW_SECONDS,
        )


def login_verify(
    *, username: str, password: str, client_address: str | None, complete: bool = True
) -> User:
    """Check a username and password, refusing after too many recent failures.

    The refusal comes before the password is even checked, so guessing gains
    nothing once the limit is reached. Addresses get a wider limit than one
    username, since many staff may share a base's address.

    ``complete=False`` when a second factor is still to come: the right
    password then records nothing, so that it does not reset the count of
    failed codes (:func:`second_factor_verify` records the login's outcome).
    """
    now = timezone.now()
    refuse_when_throttled(username=username, client_address=client_address, now=now)
    user = authenticate(username=username, password=password)
    if user is None or complete:
        LoginAttempt.objects.create(
            username=username[:150],
            client_address=client_address,
            succeeded=user is not None,
            at=now,
        )
    if user is None or not user.is_active:
        login_refusal_send(
            username=username, code="auth.invalid_credentials", client_address=client_address
        )
        raise Unauthenticated("auth.invalid_credentials", _("Wrong username or password."))
    assert isinstance(user, User)
    return user
