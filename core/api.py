"""Login for the API (tokens, and who am I), and what every API view shares:
who is calling (``actor_of``) and the one way input is checked (``valid``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.actors import Actor
from core.boundary import json_object_required
from core.created import Creates
from core.errors import Unauthenticated
from core.models import ApiToken, Role
from core.permissions import Public, actor_from_request, roles
from core.services.tokens import token_issue, token_revoke
from core.validation import DecimalBounds, decimal_parse

ALL_ROLES = tuple(Role.values)


def actor_of(request: Request) -> Actor:
    """Who is calling. The view's role permission admits only actors; a request
    without one is refused as unauthenticated, never answered."""
    actor = actor_from_request(request)
    if actor is None:
        raise Unauthenticated("auth.required", _("Log in first."))
    return actor


def valid(serializer_class: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    """``data`` checked by ``serializer_class``; a refusal is the one error
    envelope naming the fields (400), never a half-read request. A body that
    is not an object is refused before its fields are read."""
    json_object_required(data)
    form = serializer_class(data=data)
    form.is_valid(raise_exception=True)
    return dict(form.validated_data)


def decimal_text(**kwargs: Any) -> serializers.CharField:
    """An answer's exact decimal, written as text (``"0.5"``) in the OpenAPI
    description: never a float, which would round it."""
    kwargs.setdefault("help_text", "An exact decimal as text.")
    return serializers.CharField(**kwargs)


class NumberOrTextField(serializers.CharField):
    """A number as it was said or measured: text written out (``"400,5"``)
    or a JSON number, read by the service that checks it as the pages read
    what was typed (an order's dose, a lab result's value). Its request
    schema says both (``core.openapi``); a text-only field takes no number
    (``core.body_gate``). Text is handed on as it was sent, never trimmed:
    " 5 " is no number written out (:func:`core.validation.decimal_parse`)."""

    def __init__(
        self, *, bounds: DecimalBounds | None = None, decimal_comma: bool = False, **kwargs: Any
    ) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        # What the service that reads it checks it against (its column and
        # whether a comma stands for the point), for the field's description.
        self.bounds = bounds
        self.decimal_comma = decimal_comma


class CheckedIntegerField(serializers.IntegerField):
    """A whole number that the service reading it holds to ``minimum`` and
    ``maximum`` with its own code (an order's doses a day): its request schema
    states them (``core.openapi``), and the field leaves the refusal to that
    service, so every door answers with the same code."""

    def __init__(
        self, *, minimum: int | None = None, maximum: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.minimum = minimum
        self.maximum = maximum


class BoundedDecimalField(serializers.Field[Any, Any, Any, Any]):
    """A decimal checked by :func:`core.validation.decimal_parse` against the
    column it is stored in: the same codes on the API as on the pages and FHIR."""

    def __init__(
        self,
        bounds: DecimalBounds,
        *,
        code: str,
        allow_float: bool = True,
        decimal_comma: bool = False,
        parsed_by_service: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bounds = bounds
        self.code = code
        self.allow_float = allow_float
        self.decimal_comma = decimal_comma
        # An item of a list is parsed by the service, which names it by its
        # place in the body ("measurements[1].value"); here it would be "value".
        self.parsed_by_service = parsed_by_service

    def to_internal_value(self, data: Any) -> Any:
        if self.parsed_by_service:
            return data
        return decimal_parse(
            data,
            self.bounds,
            field=self.field_name or "value",
            code=self.code,
            allow_float=self.allow_float,
            decimal_comma=self.decimal_comma,
        )

    def to_representation(self, value: Any) -> str:
        return str(value)


class TokenRequest(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)
    organisation = serializers.IntegerField(required=False, min_value=1)
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    # The current code from the user's TOTP app: needed for every role that
    # reaches citizen data.
    otp = serializers.RegexField(r"^[0-9 ]{6,8}$", required=False)


class TokenOut(serializers.Serializer[Any]):
    token = serializers.CharField(help_text="Send as `Authorization: Bearer <token>`.")


class OrganisationOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()


class WhoAmIOut(serializers.Serializer[Any]):
    username = serializers.CharField()
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)
    organisation = OrganisationOut()


class TokenView(APIView):
    """``POST /api/auth/token`` with username, password and the code from the
    user's TOTP app (``otp``) returns ``{"token": ...}``."""

    permission_classes = [Public]
    creates = Creates(None)
    authentication_classes: list[Any] = []
    throttles_logins = True

    @extend_schema(
        operation_id="auth_token_issue",
        request=TokenRequest,
        responses={201: TokenOut},
        description="A token for one organisation and role. A user with several "
        "memberships names `organisation` (id) and `role`.",
    )
    def post(self, request: Request) -> Response:
        data = valid(TokenRequest, request.data)
        token = token_issue(
            username=data["username"],
            password=data["password"],
            client_address=request.META.get("REMOTE_ADDR"),
            organisation_id=data.get("organisation"),
            role=data.get("role"),
            otp=data.get("otp", ""),
        )
        return Response({"token": token}, status=201)


class TokenRevokeView(APIView):
    """``POST /api/auth/logout`` revokes the token used for the call."""

    permission_classes = [roles(*ALL_ROLES)]

    @extend_schema(
        operation_id="auth_token_revoke",
        request=None,
        responses={204: OpenApiResponse(description="The token is revoked.")},
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.auth, ApiToken):
            raise Unauthenticated(
                "auth.token_required", "Log out with the bearer token you want to revoke."
            )
        token_revoke(token=request.auth)
        return Response(status=204)


class WhoAmIView(APIView):
    permission_classes = [roles(*ALL_ROLES)]

    @extend_schema(operation_id="auth_whoami", responses={200: WhoAmIOut})
    def get(self, request: Request) -> Response:
        actor = actor_of(request)
        assert actor.user is not None and actor.organisation is not None
        return Response(
            {
                "username": actor.user.username,
                "name": actor.user.display_name,
                "role": actor.role,
                "organisation": {
                    "id": actor.organisation.pk,
                    "name": actor.organisation.name,
                    "kind": actor.organisation.kind,
                },
            }
        )
