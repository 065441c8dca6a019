"""API authentication: ``Authorization: Bearer <token>``, bound to one membership."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection, models
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from core.models import ApiToken, Membership, Organisation, SystemClient, User, hash_token
from core.services.signals import token_signed_out
from core.sql import CompiledQuery

# The token, its membership, the user and the organisation, read in one query
# on every API request, compiled once (core/sql.py).
_PARTS: tuple[tuple[type[models.Model], str], ...] = (
    (ApiToken, ""),
    (Membership, "membership__"),
    (User, "membership__user__"),
    (Organisation, "membership__organisation__"),
    # A system's client, whose switching off ends its tokens at once; a
    # person's token has none (its columns are all null).
    (SystemClient, "system_client__"),
)
# Rows are read without the ORM's value converters, which these fields do not
# need; a field that does (JSON, say) sends the query the ORM's way instead.
_PLAIN_COLUMNS = not any(
    hasattr(f, "from_db_value") for model, _ in _PARTS for f in model._meta.concrete_fields
)
_TOKEN_QUERY = CompiledQuery(
    lambda key_hash: ApiToken.objects.filter(key_hash=key_hash).values_list(
        *(prefix + f.attname for model, prefix in _PARTS for f in model._meta.concrete_fields)
    )[:1],
    "stand-in key hash",
)


def token_with_membership(key_hash: str) -> ApiToken | None:
    """The token with this hash, its membership, user and organisation loaded."""
    if connection.vendor != "postgresql" or not _PLAIN_COLUMNS:
        # SQLite's values need the ORM's converters.
        return (
            ApiToken.objects.select_related(
                "membership__user", "membership__organisation", "system_client"
            )
            .filter(key_hash=key_hash)
            .first()
        )
    found = _TOKEN_QUERY.rows(key_hash, binary=True)
    if not found:
        return None
    row = found[0]
    loaded: list[Any] = []
    at = 0
    for model, _ in _PARTS:
        names = tuple(f.attname for f in model._meta.concrete_fields)
        loaded.append(model.from_db(connection.alias, names, row[at : at + len(names)]))
        at += len(names)
    token, membership, user, organisation, client = loaded
    membership.user = user
    membership.organisation = organisation
    token.membership = membership
    if token.system_client_id is not None:
        token.system_client = client
    return token


# A token's last use is written at most this often (as a page session's).
TOKEN_USE_PRECISION_SECONDS = 60


def token_end_idle(token: ApiToken, *, idle_seconds: float, now: dt.datetime) -> None:
    """A person's token left unused past ``API_TOKEN_IDLE_SECONDS`` ends, as
    a page session does, recorded once in the audit log as ``signout.idle``
    even when two of its requests arrive together (the update decides)."""
    ended = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    if ended:
        token_signed_out.send(
            sender=None, membership=token.membership, idle_seconds=int(idle_seconds)
        )


def bearer_credential(header: str) -> str | None:
    """The token of an ``Authorization`` header's value; None when the header
    is of another scheme (or absent), "" when the token is missing. The scheme
    is matched without regard to case (RFC 7235 §2.1; the OAuth endpoint itself
    answers ``token_type: bearer``). A token is taken from this header only,
    never from the query string."""
    parts = header.split(None, 1)
    if not parts or parts[0].lower() != "bearer":
        return None
    return parts[1].strip() if len(parts) > 1 else ""


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        raw = bearer_credential(authentication.get_authorization_header(request).decode("latin-1"))
        if raw is None:
            return None
        if not raw:
            raise exceptions.AuthenticationFailed("The bearer token is missing.")
        token = token_with_membership(hash_token(raw))
        now = timezone.now()
        if token is None or not token.is_usable(now):
            raise exceptions.AuthenticationFailed("The token is unknown, expired or revoked.")
        client = token.system_client  # loaded above; None for a person's token
        if client is not None and not client.is_active:
            # A system switched off: the tokens it already holds end with it.
            raise exceptions.AuthenticationFailed("The token is unknown, expired or revoked.")
        if not token.grant_holds():
            # Its role, organisation, password or secret changed since it was
            # issued, by whatever door (a bulk update sends no signal): what
            # it was granted is no longer what its holder has.
            raise exceptions.AuthenticationFailed("The token is unknown, expired or revoked.")
        membership = token.membership
        if not membership.in_force(now):
            # Read on every request: switched off, past its end, its user or
            # organisation deactivated — one by one or in bulk.
            raise exceptions.AuthenticationFailed("The token's role is no longer active.")
        idle = token.idle_seconds(now)
        if idle is not None:
            token_end_idle(token, idle_seconds=idle, now=now)
            raise exceptions.AuthenticationFailed("The token is unknown, expired or revoked.")
        # core.middleware reads REST framework's views, which read this module.
        from core.middleware import request_is_her_activity

        last_used = token.last_used_at or token.created_at
        if (
            request_is_her_activity(request)
            and (now - last_used).total_seconds() >= TOKEN_USE_PRECISION_SECONDS
        ):
            # Kept to the minute (its issue is its first use): a request does
            # not write the token each time.
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return membership.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
