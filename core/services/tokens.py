"""The API's bearer tokens: issued at a login through the API, revoked at
its logout, pruned when long expired; only a token's hash is kept."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as _

from core.errors import Unauthenticated
from core.models import ApiToken, LoginAttempt, hash_token
from core.services.login import login_verify
from core.services.memberships import membership_choose
from core.services.second_factor import second_factor_required, second_factor_verify
from core.services.signals import password_login_succeeded, token_signed_out


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
