"""API authentication: ``Authorization: Bearer <token>``, bound to one membership."""

from __future__ import annotations

from typing import Any

from django.db import connection, models
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from core.models import ApiToken, Membership, Organisation, User, hash_token
from core.sql import CompiledQuery

# The token, its membership, the user and the organisation, read in one query
# on every API request, compiled once (core/sql.py).
_PARTS: tuple[tuple[type[models.Model], str], ...] = (
    (ApiToken, ""),
    (Membership, "membership__"),
    (User, "membership__user__"),
    (Organisation, "membership__organisation__"),
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
            ApiToken.objects.select_related("membership__user", "membership__organisation")
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
    token, membership, user, organisation = loaded
    membership.user = user
    membership.organisation = organisation
    token.membership = membership
    return token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme != self.keyword:
            return None
        raw = raw.strip()
        if not raw:
            raise exceptions.AuthenticationFailed("The bearer token is missing.")
        token = token_with_membership(hash_token(raw))
        if token is None or not token.is_usable(timezone.now()):
            raise exceptions.AuthenticationFailed("The token is unknown, expired or revoked.")
        membership = token.membership
        if not (
            membership.is_active and membership.user.is_active and membership.organisation.is_active
        ):
            raise exceptions.AuthenticationFailed("The token's role is no longer active.")
        return membership.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
