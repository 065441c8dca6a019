"""The second factor of a password login: whether it is needed, the TOTP
code checked once, the code app's own pause after wrong codes, and setting
up a code app (enrolment)."""

from __future__ import annotations

import datetime as dt
import math

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.errors import InvalidInput, Throttled, Unauthenticated
from core.models import LoginAttempt, Membership, Role, User
from core.services.login import refuse_when_throttled
from core.services.signals import login_locked_out, login_refusal_send

SECOND_FACTOR_ROLES = frozenset(Role.values)


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
    refuse_when_throttled(username=user.username, client_address=client_address, now=now)
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
