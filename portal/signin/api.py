"""``POST /api/auth/oauth/token``: OAuth 2.0 client credentials for systems
(RFC 6749 §4.4), with SMART on FHIR backend-services scopes, and
``POST /api/auth/oauth/revoke``, where a system revokes a token it holds
(RFC 7009). The client authenticates with HTTP Basic or
``client_id``/``client_secret`` in the form; answers and errors are in RFC
6749's shape (§5.1, §5.2), with the platform's ``code`` beside ``error``."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import Public
from portal.signin.services import TokenRefused, system_token_issue, system_token_revoke

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _refusal(oauth_error: str, code: str, message: str, status: int = 400) -> Response:
    headers = dict(_NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="token"'
    return Response(
        {"error": oauth_error, "error_description": message, "code": code},
        status=status,
        headers=headers,
    )


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return unquote(client_id), unquote(secret)


def _client_credentials(request: Request, form: Mapping[str, Any]) -> tuple[str, str] | None:
    """The client's id and secret, from HTTP Basic or the form; None when either is missing."""
    client_id, secret = _basic_credentials(request) or (
        str(form.get("client_id", "")),
        str(form.get("client_secret", "")),
    )
    if not client_id or not secret:
        return None
    return client_id, secret


class SystemTokenIn(serializers.Serializer[Any]):
    grant_type = serializers.ChoiceField(choices=["client_credentials"])
    scope = serializers.CharField(required=False, help_text="SMART scopes, space-separated.")
    client_id = serializers.CharField(required=False, help_text="Or HTTP Basic.")
    client_secret = serializers.CharField(required=False, help_text="Or HTTP Basic.")


class SystemTokenOut(serializers.Serializer[Any]):
    access_token = serializers.CharField()
    token_type = serializers.ChoiceField(choices=["bearer"])
    expires_in = serializers.IntegerField()
    scope = serializers.CharField()


class OAuthErrorOut(serializers.Serializer[Any]):
    """RFC 6749 §5.2, with the platform's stable ``code`` beside ``error``."""

    error = serializers.CharField()
    error_description = serializers.CharField()
    code = serializers.CharField()


# An OAuth endpoint for systems: open to any caller, which authenticates itself
# in the form or with HTTP Basic, never with a session or token. (A comment,
# not a docstring: the OpenAPI description would inherit it.)
class _OAuthEndpoint(APIView):
    permission_classes = [Public]
    authentication_classes: list[Any] = []
    parser_classes = [FormParser]
    # Every refusal here, also one made before the view, is in RFC 6749's shape
    # (core.exception_handler.OAUTH_PATHS).
    error_schema = OAuthErrorOut


class SystemTokenView(_OAuthEndpoint):
    @extend_schema(
        operation_id="auth_oauth_token",
        request={"application/x-www-form-urlencoded": SystemTokenIn},
        responses={
            200: SystemTokenOut,
            400: OAuthErrorOut,
            401: OAuthErrorOut,
            403: OAuthErrorOut,
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        form = request.data if isinstance(request.data, Mapping) else {}
        if form.get("grant_type") != "client_credentials":
            return _refusal(
                "unsupported_grant_type",
                "oauth.unsupported_grant_type",
                "Only grant_type=client_credentials is offered here.",
            )
        credentials = _client_credentials(request, form)
        if credentials is None:
            return _refusal(
                "invalid_client", "oauth.invalid_client", "Client authentication is missing.", 401
            )
        try:
            token, seconds, scope = system_token_issue(
                client_id=credentials[0][:100],
                client_secret=credentials[1][:200],
                scope=str(form.get("scope", ""))[:1000],
            )
        except TokenRefused as exc:
            return _refusal(exc.oauth_error, exc.code, exc.message, exc.status)
        return Response(
            {"access_token": token, "token_type": "bearer", "expires_in": seconds, "scope": scope},
            headers=_NO_STORE,
        )


class TokenRevocationIn(serializers.Serializer[Any]):
    token = serializers.CharField(help_text="The access token to revoke.")
    token_type_hint = serializers.CharField(
        required=False, help_text="`access_token`, the only kind issued; may be left out."
    )
    client_id = serializers.CharField(required=False, help_text="Or HTTP Basic.")
    client_secret = serializers.CharField(required=False, help_text="Or HTTP Basic.")


# A token issued here is 43 characters; anything much longer is no token of ours.
_TOKEN_MAX_LENGTH = 512


class SystemTokenRevokeView(_OAuthEndpoint):
    """RFC 7009 token revocation for systems: the client authenticates as on
    the token endpoint and names a token it was issued. A token that is
    unknown, already ended or issued to another client is answered 200 like
    one revoked (RFC 7009 §2.2), and stays as it was."""

    @extend_schema(
        operation_id="auth_oauth_revoke",
        request={"application/x-www-form-urlencoded": TokenRevocationIn},
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="Revoked, or a token this client does not hold (RFC 7009 §2.2).",
            ),
            400: OAuthErrorOut,
            401: OAuthErrorOut,
            403: OAuthErrorOut,
        },
        auth=[],
        description="A system revokes an access token it was issued (RFC 7009). "
        "The client authenticates with HTTP Basic or `client_id` and `client_secret`.",
    )
    def post(self, request: Request) -> Response:
        form = request.data if isinstance(request.data, Mapping) else {}
        credentials = _client_credentials(request, form)
        if credentials is None:
            return _refusal(
                "invalid_client", "oauth.invalid_client", "Client authentication is missing.", 401
            )
        token = str(form.get("token", ""))
        if not token:
            return _refusal(
                "invalid_request", "oauth.token_missing", "Name the token to revoke as token."
            )
        try:
            system_token_revoke(
                client_id=credentials[0][:100],
                client_secret=credentials[1][:200],
                token=token[:_TOKEN_MAX_LENGTH],
            )
        except TokenRefused as exc:
            return _refusal(exc.oauth_error, exc.code, exc.message, exc.status)
        # An empty object: RFC 7009 §2.2 answers 200 and says nothing more.
        return Response({}, status=200, headers=_NO_STORE)
