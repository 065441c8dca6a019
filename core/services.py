"""Writes for who-is-who: logging in, tokens, citizens."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core.cpr import cpr_facts, validate_cpr
from core.errors import InvalidInput, Throttled, Unauthenticated
from core.models import ApiToken, Citizen, LoginAttempt, Membership, Organisation, User, hash_token
from core.validation import full_clean_or_raise


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


def login_verify(*, username: str, password: str, client_address: str | None) -> User:
    """Check a username and password, refusing after too many recent failures.

    The refusal comes before the password is even checked, so guessing gains
    nothing once the limit is reached. Addresses get a wider limit than one
    username, since many staff may share a base's address.
    """
    now = timezone.now()
    limit = settings.LOGIN_FAILURE_LIMIT
    by_user, by_address = _failures_since_last_success(
        username=username, client_address=client_address, now=now
    )
    if by_user >= limit or by_address >= limit * 10:
        raise Throttled(
            "auth.throttled",
            "Too many failed logins. Wait a while before trying again.",
            retry_after=settings.LOGIN_FAILURE_WINDOW_SECONDS,
        )
    user = authenticate(username=username, password=password)
    LoginAttempt.objects.create(
        username=username[:150], client_address=client_address, succeeded=user is not None, at=now
    )
    if user is None or not user.is_active:
        raise Unauthenticated("auth.invalid_credentials", "Wrong username or password.")
    assert isinstance(user, User)
    return user


def membership_choose(
    *, user: User, organisation_id: int | None = None, role: str | None = None
) -> Membership:
    """The membership a login acts in: the one asked for, else the default, else the only one."""
    memberships = list(
        Membership.objects.filter(
            user=user, is_active=True, organisation__is_active=True
        ).select_related("organisation")
    )
    if organisation_id is not None or role:
        chosen = [
            m
            for m in memberships
            if (organisation_id is None or m.organisation_id == organisation_id)
            and (not role or m.role == role)
        ]
        if len(chosen) == 1:
            return chosen[0]
        raise InvalidInput("auth.membership_unknown", "You have no such role at that organisation.")
    defaults = [m for m in memberships if m.is_default]
    if defaults:
        return defaults[0]
    if len(memberships) == 1:
        return memberships[0]
    if not memberships:
        raise Unauthenticated(
            "auth.no_membership", "This user has no active role at any organisation."
        )
    raise InvalidInput(
        "auth.membership_required",
        "You have several roles: say which organisation and role to act in.",
    )


def token_issue(
    *,
    username: str,
    password: str,
    client_address: str | None,
    organisation_id: int | None = None,
    role: str | None = None,
) -> str:
    """Log in and return a new bearer token; only its hash is kept."""
    # Not inside a transaction: a failed attempt must stay recorded when the login is refused.
    user = login_verify(username=username, password=password, client_address=client_address)
    membership = membership_choose(user=user, organisation_id=organisation_id, role=role)
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    ApiToken.objects.create(
        key_hash=hash_token(raw),
        membership=membership,
        created_at=now,
        expires_at=now + dt.timedelta(seconds=settings.API_TOKEN_TTL_SECONDS),
    )
    return raw


def token_revoke(*, token: ApiToken) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])


def tokens_prune(*, now: dt.datetime | None = None) -> int:
    """Delete tokens that expired more than a day ago."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=1)
    deleted, _ = ApiToken.objects.filter(expires_at__lt=cutoff).delete()
    return deleted


@transaction.atomic
def citizen_create(
    *,
    cpr: str,
    given_name: str,
    family_name: str,
    address_line: str,
    postal_code: str,
    city: str,
    latitude: Decimal,
    longitude: Decimal,
    municipality: Organisation,
    gp_practice: Organisation | None = None,
    phone: str = "",
) -> Citizen:
    digits = validate_cpr(cpr)
    facts = cpr_facts(digits)
    if municipality.kind != Organisation.Kind.MUNICIPALITY:
        raise InvalidInput(
            "citizen.municipality_invalid",
            "The residence must be a municipality.",
            field="municipality",
        )
    if gp_practice is not None and gp_practice.kind != Organisation.Kind.GP_PRACTICE:
        raise InvalidInput(
            "citizen.gp_invalid", "The GP must be a GP practice.", field="gp_practice"
        )
    if Citizen.objects.filter(cpr=digits).exists():
        raise InvalidInput(
            "citizen.exists", "A citizen with this CPR number is already registered.", field="cpr"
        )
    citizen = Citizen(
        cpr=digits,
        birth_date=facts.birth_date,
        sex=facts.sex,
        given_name=given_name,
        family_name=family_name,
        address_line=address_line,
        postal_code=postal_code,
        city=city,
        latitude=latitude,
        longitude=longitude,
        municipality=municipality,
        gp_practice=gp_practice,
        phone=phone,
    )
    full_clean_or_raise(citizen, code="citizen.invalid")
    citizen.save()
    return citizen
