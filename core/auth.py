"""API authentication: ``Authorization: Bearer <token>``, bound to one membership."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from core.models import ApiToken, hash_token


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
        token = (
            ApiToken.objects.select_related("membership__user", "membership__organisation")
            .filter(key_hash=hash_token(raw))
            .first()
        )
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
