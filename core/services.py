"""Writes for who-is-who: logging in, tokens, citizens."""

from __future__ import annotations

import datetime as dt
import math
import secrets
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import Max
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext_noop as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.catchment import withdrawn_municipality
from core.cpr import (
    ReplacementCpr,
    cpr_facts,
    normalise_replacement_cpr,
    replacement_cpr_facts,
    validate_cpr,
)
from core.deaths import death_time_check
from core.errors import Forbidden, InvalidInput, Throttled, Unauthenticated
from core.models import (
    IDEMPOTENCY_KEY_KEPT,
    ApiToken,
    Citizen,
    IdempotencyKey,
    LoginAttempt,
    Membership,
    Organisation,
    Role,
    User,
    hash_token,
)
from core.validation import full_clean_or_raise

SECOND_FACTOR_ROLES = frozenset(Role.values)


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


# Sent for every login refused because of earlier failures (a lockout: too
# many failed logins, or a code app pausing after wrong codes), with
# ``username``, ``code`` and ``client_address``. The composition layer records
# it in the audit log (portal/signin), which core sits below.
login_locked_out = Signal()
# Sent for every other refused password login — a wrong username or
# password, a wrong or used code, a code from no code app — with the same
# arguments: each is a denied sign-in in the audit log, as one refused through
# an identity provider is.
login_refused = Signal()
# Sent when a password login succeeds, with ``membership`` (the role it acts
# in), ``door`` ("page", "api" or "admin") and ``client_address``.
password_login_succeeded = Signal()
# Sent when she logs out with her bearer token (the API's logout), with
# ``membership``: a sign-out in the audit log, as a session's logout is
# (Django's ``user_logged_out``).
token_signed_out = Signal()
# Sent when the administration adds, changes or removes a record that decides
# who may act and so reach citizens' data (a user and her roles, an
# organisation, a code app), with ``request``, ``obj``, ``action`` ("create",
# "update" or "delete") and ``change`` (the admin's change message: the names
# of the fields changed and the rows added or removed, never a password or a
# key). The composition layer records it in the audit log (portal/signin),
# inside the change's own transaction: no change without its entry.
administration_changed = Signal()


def login_refusal_send(*, username: str, code: str, client_address: str | None) -> None:
    login_refused.send(
        sender=None, username=username[:150], code=code, client_address=client_address
    )


def _refuse_when_throttled(*, username: str, client_address: str | None, now: dt.datetime) -> None:
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
    _refuse_when_throttled(username=username, client_address=client_address, now=now)
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


def second_factor_required(*, user: User) -> bool:
    """Whether a password login of this user needs a second factor: it does
    for every role, since every role of the platform reaches citizen data
    (the medicine officer's ledger names the citizens doses were given to)."""
    return Membership.objects.in_force().filter(user=user, role__in=SECOND_FACTOR_ROLES).exists()


def totp_device_of(user: User, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("pk").first()


def second_factor_verify(*, user: User, code: str, client_address: str | None) -> TOTPDevice:
    """Check a TOTP code after the password, under the same limit on failures;
    a code is accepted once (the device remembers the last time step used)."""
    now = timezone.now()
    _refuse_when_throttled(username=user.username, client_address=client_address, now=now)
    device = totp_device_of(user)
    if device is not None:
        _refuse_while_device_locked(device, now=now, client_address=client_address)
    digits = code.strip().replace(" ", "")
    with transaction.atomic():
        if device is not None:
            # The device's row is locked from reading its last used step to
            # writing the new one: two requests sending one code at the same
            # moment (the page and the API, say) get it accepted once.
            device = TOTPDevice.objects.select_for_update().filter(pk=device.pk).first()
        ok = device is not None and _code_digits(digits) and device.verify_token(digits)
        LoginAttempt.objects.create(
            username=user.username, client_address=client_address, succeeded=bool(ok), at=now
        )
    if device is None:
        login_refusal_send(
            username=user.username, code="auth.otp_not_enrolled", client_address=client_address
        )
        raise Unauthenticated(
            "auth.otp_not_enrolled",
            _("Set up a code app on the login page before logging in here."),
            field="otp",
        )
    if not ok:
        login_refusal_send(
            username=user.username, code="auth.otp_invalid", client_address=client_address
        )
        raise Unauthenticated("auth.otp_invalid", _("The code is wrong or used."), field="otp")
    return device


def _code_digits(digits: str) -> bool:
    """A code app shows ASCII digits only: other digits (Arabic-Indic,
    full-width), which ``int`` reads as the same number, are a wrong code on
    every door, as the API's own check of ``otp`` has it."""
    return digits.isascii() and digits.isdigit()


# The device's own pause doubles with each wrong code in a row (django-otp)
# and ends only with a right one: unbounded, someone who knows a nurse's
# password could lock her code app for days, under the platform's limit of
# failures per window. Counted up to this many, the pause stops growing at
# 2**(n-1) seconds (32 s); the platform's limit (LOGIN_FAILURE_LIMIT per
# LOGIN_FAILURE_WINDOW_SECONDS) bounds guessing on its own.
DEVICE_FAILURES_COUNTED = 6


def _cap_device_pause(device: TOTPDevice) -> None:
    if device.throttling_failure_count > DEVICE_FAILURES_COUNTED:
        device.throttling_failure_count = DEVICE_FAILURES_COUNTED
        TOTPDevice.objects.filter(pk=device.pk).update(
            throttling_failure_count=DEVICE_FAILURES_COUNTED
        )


def _refuse_while_device_locked(
    device: TOTPDevice, *, now: dt.datetime, client_address: str | None
) -> None:
    """After wrong codes the device itself refuses to check one for a while
    (1, 2, 4 … seconds; django-otp). Say so, with when to try again, rather
    than calling a right code typed meanwhile wrong; the code is not checked,
    so nothing is learnt from it and nothing is counted."""
    _cap_device_pause(device)
    allowed, why = device.verify_is_allowed()
    if allowed:
        return
    locked_until = (why or {}).get("locked_until")
    wait = (
        max(1, math.ceil((locked_until - now).total_seconds()))
        if isinstance(locked_until, dt.datetime)
        else settings.LOGIN_FAILURE_WINDOW_SECONDS
    )
    login_locked_out.send(
        sender=None,
        username=device.user.username,
        code="auth.otp_throttled",
        client_address=client_address,
    )
    raise Throttled(
        "auth.otp_throttled",
        _("Too many wrong codes in a row. Wait a little before typing the next code."),
        retry_after=wait,
    )


@transaction.atomic
def totp_enrol_start(*, user: User) -> TOTPDevice:
    """An unconfirmed device with a fresh secret; it counts only once a code
    from it has been shown (:func:`totp_enrol_confirm`)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="TOTP", confirmed=False)


def totp_enrol_confirm(
    *, user: User, device_id: int, code: str, client_address: str | None
) -> TOTPDevice:
    try:
        return _totp_enrol_confirm(
            user=user, device_id=device_id, code=code, client_address=client_address
        )
    except Unauthenticated:
        # Outside the transaction, which a wrong code rolls back: the refusal stays recorded.
        login_refusal_send(
            username=user.username, code="auth.otp_invalid", client_address=client_address
        )
        raise


@transaction.atomic
def _totp_enrol_confirm(
    *, user: User, device_id: int, code: str, client_address: str | None
) -> TOTPDevice:
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(pk=device_id, user=user, confirmed=False)
        .first()
    )
    if device is None:
        raise InvalidInput("auth.otp_enrolment_unknown", _("Start the set-up again."), field="otp")
    digits = code.strip().replace(" ", "")
    if not (_code_digits(digits) and device.verify_token(digits)):
        raise Unauthenticated("auth.otp_invalid", _("The code is wrong or used."), field="otp")
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    LoginAttempt.objects.create(
        username=user.username, client_address=client_address, succeeded=True
    )
    return device


MUNICIPALITY_LEFT = "auth.municipality_not_participating"
MUNICIPALITY_LEFT_MESSAGE = _(
    "Your municipality no longer takes part in the joint acute function:"
    " you cannot sign in on its behalf."
)


def municipality_left_refusal(*, username: str, client_address: str | None) -> Forbidden:
    """A sign-in in the name of a municipality that has left the acute
    function, refused and recorded (R9): its staff would be refused every
    citizen's data at the gate, so a session would hold nothing but refusals."""
    login_refusal_send(username=username, code=MUNICIPALITY_LEFT, client_address=client_address)
    return Forbidden(MUNICIPALITY_LEFT, MUNICIPALITY_LEFT_MESSAGE)


def memberships_to_act_in(*, user: User) -> list[Membership]:
    """Her memberships she may sign in to and switch to: in force, and not of a
    municipality (or a unit part of one) that has left the acute function."""
    return [
        m
        for m in Membership.objects.in_force()
        .filter(user=user)
        .select_related("organisation", "user")
        .order_by("organisation__name", "role", "pk")
        if withdrawn_municipality(m.organisation) is None
    ]


def membership_choose(
    *,
    user: User,
    organisation_id: int | None = None,
    role: str | None = None,
    client_address: str | None = None,
) -> Membership:
    """The membership a login acts in: the one asked for, else the default, else
    the only one. One of a municipality that has left the acute function is
    never chosen; a user with no other is refused, and the refusal recorded."""
    in_force = list(
        Membership.objects.in_force().filter(user=user).select_related("organisation", "user")
    )
    memberships = [m for m in in_force if withdrawn_municipality(m.organisation) is None]

    def asked(candidates: list[Membership]) -> list[Membership]:
        return [
            m
            for m in candidates
            if (organisation_id is None or m.organisation_id == organisation_id)
            and (not role or m.role == role)
        ]

    if organisation_id is not None or role:
        chosen = asked(memberships)
        if len(chosen) == 1:
            return chosen[0]
        if not chosen and asked(in_force):
            raise municipality_left_refusal(username=user.username, client_address=client_address)
        raise InvalidInput(
            "auth.membership_unknown", _("You have no such role at that organisation.")
        )
    defaults = [m for m in memberships if m.is_default]
    if defaults:
        return defaults[0]
    if len(memberships) == 1:
        return memberships[0]
    if not memberships:
        if in_force:
            raise municipality_left_refusal(username=user.username, client_address=client_address)
        raise Unauthenticated(
            "auth.no_membership", _("This user has no active role at any organisation.")
        )
    raise InvalidInput(
        "auth.membership_required",
        _("You have several roles: say which organisation and role to act in."),
    )


def token_issue(
    *,
    username: str,
    password: str,
    client_address: str | None,
    organisation_id: int | None = None,
    role: str | None = None,
    otp: str = "",
) -> str:
    """Log in and return a new bearer token; only its hash is kept. A user
    whose roles need it gives the current TOTP code as ``otp``."""
    # Not inside a transaction: a failed attempt must stay recorded when the login is refused.
    user = login_verify(
        username=username, password=password, client_address=client_address, complete=False
    )
    if second_factor_required(user=user):
        if not otp:
            raise Unauthenticated(
                "auth.otp_required", _("Give the code from your code app as otp."), field="otp"
            )
        second_factor_verify(user=user, code=otp, client_address=client_address)
    else:
        LoginAttempt.objects.create(
            username=user.username, client_address=client_address, succeeded=True
        )
    membership = membership_choose(
        user=user, organisation_id=organisation_id, role=role, client_address=client_address
    )
    password_login_succeeded.send(
        sender=None, membership=membership, door="api", client_address=client_address
    )
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    ApiToken.objects.create(
        key_hash=hash_token(raw),
        membership=membership,
        created_at=now,
        expires_at=now + dt.timedelta(seconds=settings.API_TOKEN_TTL_SECONDS),
    )
    return raw


@transaction.atomic
def token_revoke(*, token: ApiToken) -> None:
    """The token ends, and with it her sign-out is in the audit log."""
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    token_signed_out.send(sender=None, membership=token.membership)


def tokens_prune(*, now: dt.datetime | None = None) -> int:
    """Delete tokens that expired more than a day ago."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=1)
    deleted, _ = ApiToken.objects.filter(expires_at__lt=cutoff).delete()
    return deleted


def idempotency_keys_prune(*, now: dt.datetime | None = None) -> int:
    """Forget the Idempotency-Keys of writes answered more than a day ago."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_KEY_KEPT
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@transaction.atomic
def citizen_create(
    *,
    cpr: str | None,
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
    replacement_cpr: ReplacementCpr | None = None,
    deceased_at: dt.datetime | None = None,
    death_field: str = "deceased_at",
) -> Citizen:
    """Register a citizen by CPR number or, for a person without one, by a
    replacement CPR (a citizen may be registered with both). One registered
    dead (``deceased_at``: her Patient says when she died, over FHIR or in a
    partner's message) is registered with a time of death that can be true,
    whichever door registers her (:func:`core.deaths.death_time_check`,
    naming ``death_field`` in the refusal)."""
    digits = validate_cpr(cpr) if cpr is not None else None
    replacement = (
        normalise_replacement_cpr(replacement_cpr.value, replacement_cpr.system)
        if replacement_cpr is not None
        else None
    )
    if digits is not None:
        facts = cpr_facts(digits)
    elif replacement is not None:
        facts = replacement_cpr_facts(replacement)
    else:
        raise InvalidInput(
            "citizen.identifier_missing",
            "A citizen needs a CPR number or a replacement CPR.",
            field="cpr",
        )
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
    if deceased_at is not None:
        death_time_check(deceased_at, birth_date=facts.birth_date, field=death_field)
    if digits is not None and Citizen.objects.filter(cpr=digits).exists():
        raise InvalidInput(
            "citizen.exists", "A citizen with this CPR number is already registered.", field="cpr"
        )
    if replacement is not None and Citizen.objects.filter(Citizen.holding(replacement)).exists():
        raise InvalidInput(
            "citizen.exists",
            "A citizen with this replacement CPR is already registered.",
            field="replacement_cpr",
        )
    citizen = Citizen(
        cpr=digits,
        replacement_cpr=replacement.value if replacement else None,
        replacement_cpr_system=replacement.system if replacement else "",
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
        deceased_at=deceased_at,
    )
    full_clean_or_raise(citizen, code="citizen.invalid")
    citizen.save()
    return citizen
