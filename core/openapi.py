"""The OpenAPI description of ``/api/`` (drf-spectacular), served at ``/api/schema/``
with a documentation page at ``/api/docs/`` (``core/openapi_views.py``, ``docs/api.md``).

Here live what every operation shares: the bearer token scheme of
:mod:`core.auth`, the one error envelope of :mod:`core.exception_handler` as a
component, and the errors every operation may answer with. Each app describes
its own requests and responses beside its views with ``extend_schema``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.core.validators import RegexValidator
from django.http import HttpRequest, QueryDict
from drf_spectacular.drainage import warn
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from core.boundary import cpr_in_url
from core.created import creates_of
from core.messages import UNIQUE_RULES
from core.permissions import Public
from core.validation import UNSHOWN_CHARACTERS, DecimalBounds, decimal_text_pattern


class ErrorItem(serializers.Serializer[Any]):
    """One of several refusals of the same request."""

    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(required=False)


class ErrorBody(serializers.Serializer[Any]):
    """What went wrong, for a program (``code``) and for a person (``message``)."""

    code = serializers.CharField(
        help_text="Stable, machine-readable: `request.invalid`, `auth.required`, "
        "`consent.refused`, `not_found` …"
    )
    message = serializers.CharField(
        help_text="For the person at the screen; never a CPR number. Danish unless the request "
        "asks for English (`Accept-Language`); the answer's `Content-Language` says which."
    )
    field = serializers.CharField(
        required=False, help_text="The one input field the error is about, when there is one."
    )
    rule = serializers.CharField(
        required=False, help_text="The product rule that refused the request (`R2`, `R8` …)."
    )
    # The envelope's own key; REST framework takes it as a field like any other.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.CharField(),
        required=False,
        help_text="On `request.invalid`: each field that failed (dotted path) and why.",
    )
    # Also the envelope's own key; the metaclass takes it as a declared field,
    # leaving Serializer.errors as it is.
    errors = ErrorItem(  # type: ignore[assignment]
        many=True,
        required=False,
        help_text="When the request was refused on several fields at once: each refusal, "
        "the one above first.",
    )


class ErrorEnvelope(serializers.Serializer[Any]):
    """Every error on ``/api/``: ``{"error": {"code", "message", ...}}``. An error
    may carry further machine-readable facts beside ``code`` (the amount that
    remains on an order, say)."""

    error = ErrorBody()


# The errors any operation may answer with, and those only a write can meet.
ERRORS_EVERY_OPERATION = {
    "400": "The request is malformed or names a field that fails its check.",
    "401": "No bearer token, or one that is unknown, expired or revoked.",
    "403": "The caller's role may not use this operation.",
    "404": "No such resource, or not one the caller may see: the two look the same.",
    "414": "The URL (path and query string) is longer than 4,096 bytes.",
    "503": "The audit log could not record the access, so nothing was read or written.",
}
ERRORS_OF_WRITES = {
    "409": "The resource changed under the request, or the request repeats one already done.",
    "412": "The resource is not in a state that allows this (a visit already completed …).",
    "415": "The body is not JSON.",
}


def unique_conflicts(*rules: str | tuple[str, str]) -> OpenApiResponse:
    """The 409 of a write that may find what it creates already there: unique
    rules (``core.messages.UNIQUE_RULES``, by their constraints' names) or a
    service's own duplicate check (its code and field), each beside what every
    write may meet."""
    named = [UNIQUE_RULES[rule][:2] if isinstance(rule, str) else rule for rule in rules]
    listed = ", ".join(f"`{code}` on `{field}`" for code, field in named)
    return OpenApiResponse(
        ErrorEnvelope,
        description=f"{ERRORS_OF_WRITES['409']} Or a value that must be unique is taken,"
        f" or what the request creates is already registered ({listed}); nothing was"
        " written.",
    )


ERRORS_OF_KEYED_WRITES = {"422": "The Idempotency-Key came with another request before."}
ERRORS_OF_LOGIN = {"429": "Too many failed logins: wait `Retry-After` seconds."}
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Makes the write safe to send again: the same request with the same key is done "
        "once, and sent again is answered 409 `request.already_received` with "
        "`Idempotent-Replayed: true` (docs/api.md). 1 to 255 visible ASCII characters."
    ),
    pattern=r"^[\x21-\x7e]{1,255}$",
)


# An internal id in a query is 1 or more: the views refuse a negative
# (``location=-7``), and 0 names nothing, so the description says so.
ID_IN_QUERY: dict[str, Any] = {"type": "integer", "minimum": 1}


def id_query(name: str, description: str, *, required: bool = False) -> OpenApiParameter:
    """A query parameter that names something by its internal id (``location``,
    ``citizen`` …): every such parameter is declared here, so that all say alike
    what they take."""
    return OpenApiParameter(
        name,
        ID_IN_QUERY,
        OpenApiParameter.QUERY,
        required=required,
        description=description,
    )


# The header of a 201 whose resource has a URL of its own (core.created), and
# those of a keyed write's replay (core.idempotency).
LOCATION_OF_CREATED = {
    "schema": {"type": "string", "format": "uri"},
    "required": True,
    "description": "The absolute URL where the created resource is read (its `GET`).",
}
REPLAY_HEADERS = {
    "Idempotent-Replayed": {
        "schema": {"type": "string", "enum": ["true"]},
        "description": "Present when the 409 is `request.already_received`.",
    },
    "Location": {
        "schema": {"type": "string", "format": "uri"},
        "description": "On `request.already_received`: the first answer's `Location`, if any.",
    },
}


# A whole number in a URL never has ten digits: ten are taken for a CPR number
# and refused before any view (core.boundary.cpr_in_url, decision 0002).
TEN_DIGIT_NUMBERS = {
    "anyOf": [
        {"type": "integer", "minimum": 1_000_000_000, "maximum": 9_999_999_999},
        {"type": "integer", "minimum": -9_999_999_999, "maximum": -1_000_000_000},
    ]
}
URL_NUMBER_NOTE = "Never 10 digits: they are taken for a CPR number (`request.cpr_in_url`)."
_TEN_DIGITS = "1000000000"


def _url_takes_ten_digits(path: str, parameter: dict[str, Any]) -> bool:
    """Whether the door that refuses a CPR number in a URL lets ``parameter``
    of the operation at ``path`` carry ten digits: asked of that door itself,
    with every other path parameter an id of one digit."""
    name, where = parameter["name"], parameter["in"]
    query = ""
    if where == "path":
        path = path.replace("{" + name + "}", _TEN_DIGITS)
    elif where == "query":
        query = urlencode({name: _TEN_DIGITS})
    else:
        return True
    request = HttpRequest()
    request.GET = QueryDict(query)
    request.path = re.sub(r"\{\w+\}", "1", path)
    return cpr_in_url(request) is None


def _text_pattern() -> str:
    """The characters no text on any door may hold (NUL, and those of
    :data:`core.validation.UNSHOWN_CHARACTERS`) as a pattern every JSON Schema
    engine reads: ``\\uXXXX`` escapes, the Basic Multilingual Plane only (a
    pattern without ECMAScript's ``u`` flag cannot name the others)."""
    ranges: list[tuple[int, int]] = [(0, 0)]
    for group in re.findall(r"\[([^\]]*)\]", UNSHOWN_CHARACTERS.pattern):
        index = 0
        while index < len(group):
            first = last = ord(group[index])
            if index + 2 < len(group) and group[index + 1] == "-":
                last = ord(group[index + 2])
                index += 3
            else:
                index += 1
            if last <= 0xFFFF:
                ranges.append((first, last))
    spans = "".join(
        f"\\u{first:04x}" if first == last else f"\\u{first:04x}-\\u{last:04x}"
        for first, last in ranges
    )
    return f"^[^{spans}]*$"


# Free text in a request: refused with request.control_character (and the
# like, core.boundary) when it holds one of these, so the schema says so.
TEXT_PATTERN = _text_pattern()


def _free_text(schema: dict[str, Any]) -> bool:
    """A string the schema does not narrow otherwise (no format, enum or pattern)."""
    return schema.get("type") == "string" and not {"format", "enum", "pattern"} & set(schema)


class PlatformAutoSchema(AutoSchema):
    """Adds the error envelope to every operation's documented 4xx answers and
    the roles that may call it (``x-roles``). A view that serves several URLs
    (one class for every step of a visit, say) names the body and the operation
    of the one at hand: ``view.request_schema()``, ``view.schema_operation_id()``."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation: dict[str, Any] | None = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        # A view that refuses some of the roles its permission admits says so itself.
        who = operation.get("x-roles") or self.roles_admitted()
        if who is not None:
            # Who may call it, for an integrator and for the contract test's tokens.
            operation["x-roles"] = who
            line = "Roles: " + ", ".join(f"`{role}`" for role in who) + "."
            described = operation.get("description", "")
            operation["description"] = f"{described}\n\n{line}" if described else line
        return operation

    def roles_admitted(self) -> list[str] | None:
        """The roles the view's permissions admit to this method; None when it is public."""
        admitted: set[str] | None = None
        for permission in self.view.get_permissions():
            if isinstance(permission, Public):
                return None
            by_method = getattr(permission, "permission_by_method", None)
            if by_method is not None:
                chosen = by_method.get(self.method)
                roles_here = set(getattr(chosen, "allowed_roles", ())) if chosen else set()
            else:
                roles_here = set(getattr(permission, "allowed_roles", ()))
            admitted = roles_here if admitted is None else admitted & roles_here
        return sorted(admitted or ())

    def get_override_parameters(self) -> list[Any]:
        parameters: list[Any] = list(super().get_override_parameters())
        if self._keyed():
            parameters.append(IDEMPOTENCY_KEY)
        return parameters

    def _keyed(self) -> bool:
        """A write that takes an Idempotency-Key (all but the log-in's)."""
        return self.method in WRITE_METHODS and not self.path.startswith("/api/auth/")

    def _get_parameters(self) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._get_parameters()
        for parameter in parameters:
            schema = parameter.get("schema") or {}
            if _free_text(schema):
                parameter["schema"] = {**schema, "pattern": TEXT_PATTERN}
                continue
            if schema.get("type") != "integer" or _url_takes_ten_digits(self.path, parameter):
                continue
            parameter["schema"] = {**schema, "not": TEN_DIGIT_NUMBERS}
            described = parameter.get("description", "")
            parameter["description"] = f"{described} {URL_NUMBER_NOTE}".strip()
        return parameters

    def _map_basic_serializer(self, serializer: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        # A write takes only the fields its request schema names (core.body_gate,
        # decision 0033): the schema says so, where it names any.
        if direction == "request" and schema.get("properties"):
            schema.setdefault("additionalProperties", False)
        return schema

    def _map_serializer_field(
        self, field: Any, direction: Any, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(field, direction, bypass_extensions)
        # A field with a pattern of its own keeps it (drf-spectacular adds it later).
        own_pattern = any(isinstance(v, RegexValidator) for v in getattr(field, "validators", ()))
        if direction == "request" and _free_text(schema) and not own_pattern:
            schema["pattern"] = TEXT_PATTERN
        # A list that may not be empty (``allow_empty=False``) says so.
        if (
            direction == "request"
            and schema.get("type") == "array"
            and getattr(field, "allow_empty", True) is False
        ):
            schema["minItems"] = max(schema.get("minItems", 0), 1)
        return schema

    def get_operation_id(self) -> str:
        named = getattr(self.view, "schema_operation_id", None)
        return named() if callable(named) else str(super().get_operation_id())

    def get_request_serializer(self) -> Any:
        request_schema = getattr(self.view, "request_schema", None)
        if callable(request_schema):
            return request_schema()
        return super().get_request_serializer()

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        errors = dict(ERRORS_EVERY_OPERATION)
        if self.method in WRITE_METHODS:
            errors.update(ERRORS_OF_WRITES)
        if self._keyed():
            errors.update(ERRORS_OF_KEYED_WRITES)
        if getattr(self.view, "throttles_logins", False):
            errors.update(ERRORS_OF_LOGIN)
        # A view whose errors have a shape of their own (OAuth's) names it.
        shape = getattr(self.view, "error_schema", ErrorEnvelope)
        for status, description in errors.items():
            if status in responses:
                continue
            response = self._get_response_for_code(
                shape, status, media_types=["application/json"], direction=direction
            )
            response["description"] = description
            responses[status] = response
        if "201" in responses:
            self._locate_created(responses["201"])
        if self._keyed() and "409" in responses:
            responses["409"]["headers"] = {**responses["409"].get("headers", {}), **REPLAY_HEADERS}
        return dict(sorted(responses.items()))

    def _locate_created(self, response: dict[str, Any]) -> None:
        """A 201 says where the created resource is read, as the view declares."""
        creates = creates_of(self.view)
        if creates is None:
            warn(
                f"{type(self.view).__name__} answers 201 without saying what it creates "
                "(creates = core.created.Creates(...))."
            )
        elif creates.url_name is None:
            response["description"] = "Created. It has no URL of its own, so no `Location`."
        else:
            response["headers"] = {**response.get("headers", {}), "Location": LOCATION_OF_CREATED}
            response["description"] = "Created; `Location` is the URL where it is read."


def _plain_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def decimal_forms(
    bounds: DecimalBounds, *, decimal_comma: bool = False, whole_numbers_only: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A decimal that :func:`core.validation.decimal_parse` reads against
    ``bounds``, as a JSON number and as text: below the power of ten the
    column holds no more of, above zero or from its minimum where the bounds
    say so, at most the column's decimals, and the text by
    :func:`core.validation.decimal_text_pattern`. ``whole_numbers_only``: a
    JSON number is taken only whole (decimals only as text)."""
    whole = bounds.max_digits - bounds.decimal_places
    # OpenAPI 3.0: an exclusive bound is the bound and a flag.
    number: dict[str, Any] = {
        "type": "integer" if whole_numbers_only else "number",
        "maximum": 10**whole,
        "exclusiveMaximum": True,
    }
    if bounds.positive:
        number.update(minimum=0, exclusiveMinimum=True)
        least = " Above zero."
    elif bounds.minimum is not None:
        number["minimum"] = _plain_number(bounds.minimum)
        least = f" At least {_plain_number(bounds.minimum)}."
    else:
        number.update(minimum=-(10**whole), exclusiveMinimum=True)
        least = ""
    # The decimals are said in words: ``multipleOf`` is not held exactly by
    # validators that compute in binary floating point (0.3 / 0.001).
    places = (
        "A whole number."
        if bounds.decimal_places == 0 or whole_numbers_only
        else f"At most {bounds.decimal_places} decimals."
    )
    number["description"] = f"{places}{least}"
    comma = " A comma may stand for the point (`0,5`)." if decimal_comma else ""
    text: dict[str, Any] = {
        "type": "string",
        "pattern": decimal_text_pattern(bounds, decimal_comma=decimal_comma),
        "description": (
            f"At most {whole} digits before the point and {bounds.decimal_places} after it."
            f"{least}{comma}"
        ),
    }
    return number, text


class BoundedDecimalScheme(OpenApiSerializerFieldExtension):
    """A decimal bounded by its column (``core.api.BoundedDecimalField``): a
    JSON number or a decimal string in, a decimal string out."""

    target_class = "core.api.BoundedDecimalField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        bounds = self.target.bounds
        number, text = decimal_forms(bounds, decimal_comma=self.target.decimal_comma)
        text["format"] = "decimal"
        if direction != "request":
            return {k: v for k, v in text.items() if k != "pattern"}
        if self.target.allow_float:
            return {"oneOf": [number, text]}
        return text


class NumberOrTextScheme(OpenApiSerializerFieldExtension):
    """A number written out as text or given as a JSON number
    (``core.api.NumberOrTextField``): either in, text out."""

    target_class = "core.api.NumberOrTextField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        text: dict[str, Any] = {"type": "string"}
        if self.target.max_length is not None:
            text["maxLength"] = self.target.max_length
        if direction != "request":
            return text
        bounds = self.target.bounds
        if bounds is None:
            return {"oneOf": [{"type": "number"}, {**text, "pattern": TEXT_PATTERN}]}
        number, written = decimal_forms(bounds, decimal_comma=self.target.decimal_comma)
        return {"oneOf": [number, {**text, **written}]}


class CheckedIntegerScheme(OpenApiSerializerFieldExtension):
    """A whole number a service holds to its bounds (``core.api.CheckedIntegerField``):
    the request schema states them."""

    target_class = "core.api.CheckedIntegerField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer"}
        if direction == "request":
            if self.target.minimum is not None:
                schema["minimum"] = self.target.minimum
            if self.target.maximum is not None:
                schema["maximum"] = self.target.maximum
        return schema


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """``Authorization: Bearer <token>`` from ``POST /api/auth/token``."""

    target_class = "core.auth.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from `POST /api/auth/token`, bound to one organisation "
            "and role; short-lived and revoked by `POST /api/auth/logout`.",
        }


class FhirResource(serializers.Serializer[Any]):
    """A FHIR R4 resource as JSON; its full shape is FHIR's (``/fhir/metadata``)."""

    resourceType = serializers.CharField()


class Reference(serializers.Serializer[Any]):
    """A person or thing named by id and name."""

    id = serializers.IntegerField()
    name = serializers.CharField()


class NamedContact(serializers.Serializer[Any]):
    name = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)


def results_of(
    name: str,
    item: type[serializers.Serializer[Any]],
    **extra: serializers.Field[Any, Any, Any, Any],
) -> serializers.Serializer[Any]:
    """``{"results": [item, ...]}``, the shape of every list on /api/, as component ``name``."""
    return inline_serializer(name, {"results": item(many=True), **extra})


def only_api_paths(endpoints: list[tuple[str, str, str, Any]], **kwargs: Any) -> list[Any]:
    """The schema describes /api/ alone; /fhir/ has its CapabilityStatement."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/")]
