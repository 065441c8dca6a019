"""The fields an ``/api/`` write takes in its body, and the one check of them.

The twin of :mod:`core.query_gate` (decision 0032): an operation takes the
body fields its OpenAPI request schema declares (drf-spectacular's, published
at ``/api/schema/``, read once per process with the query parameters), at the
top and in every object and list of objects the schema declares inside it,
and no other. A field it does not take is refused (400
``write.field_unknown``, naming the field's path such as ``doses.0.amout``
and what is taken there) before the view reads anything, so nothing is
written — never dropped as if it were not sent, which wrote the default in
place of what a misspelt ``requested_strat`` asked for. A field the answer
carries but a write does not (``id``, ``created_at``) is no field of the
request schema: it is refused as any other (decision 0033).

An object whose schema names no properties, or allows others
(``additionalProperties``), takes any field: its content is the view's to
check. A refusal on an endpoint that says what it concerns
(:class:`core.refusals.Concerns`) is recorded as its refused role is, on the
citizen the body names (R9). Only JSON bodies are held to the schema:
OAuth 2.0's form-encoded token endpoints ignore a parameter they do not
know, as RFC 6749 §3.2 requires.

A number field (``integer`` or ``number`` in the schema) given as text
takes the number as JSON writes it: digits 0-9, perhaps a minus in front
and, unless it is whole, a decimal point between digits (``"5"``,
``"-5"``, ``"12.51"``). REST framework reads it with ``int``, ``float``
and ``Decimal``, which read far more: ``" 5 "``, ``"+5"``, ``"5."``,
``".5"``, ``"1_000"``, ``"NaN"``, ``"Infinity"``, a full-width one (U+FF11)
as 1; and ``"-0"`` carries a sign no number has. Each is refused as REST
framework refuses any other text that is no number (400
``request.invalid`` on the field), and recorded as an unknown field is.
Text of a field that takes text as well as a number (an order's dose, a
decimal's text) is its own, read by its service.

A boolean field (``boolean`` in the schema) takes JSON's ``true`` or
``false`` only: REST framework's field reads ``"yes"``, ``"on"``, ``"1"`` and
``1`` as true and ``"no"``, ``"0"`` as false, so a client's text or a typo
was written as a yes or a no nobody gave (a read-back of a phone order, a
confirmed dose that differs from the order). Any other value is refused (400
``write.not_boolean``, naming the field's path) before the view reads
anything, and recorded as an unknown field is.

A number field (``integer`` or ``number``) takes no boolean: REST
framework's float field read ``true`` as 1.0 and ``false`` as 0.0 (a
nurse's position sent as ``{"latitude": true, "longitude": false}`` was
stored as 1.0, 0.0 and dispatch ranked her by it). JSON's true or false for
one is refused as REST framework refuses any other value that is no number
(400 ``request.invalid`` on the field), as ``/fhir/`` refuses it
(``core.fhir.validation``), and recorded as an unknown field is. Text of
digits for a number is still read as the number (``"12"`` for 12).

A text field (``string`` in the schema, and nothing else) takes no JSON
number: REST framework's text field wrote ``1e2`` as "100.0" and ``1.10`` as
"1.1", words the client never sent (a reason, a name, an identifier).
Refused (400 ``write.not_text``, naming the field's path) before the view
reads anything, and recorded as an unknown field is. A field that takes a
number written out as well as text (an order's dose, a lab result's value)
says so in the schema (``oneOf`` number or string) and takes either. Text
of a format (a moment, a decimal, a UUID) is its field's to read, and
refuse, as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from drf_spectacular.settings import spectacular_settings
from rest_framework import exceptions as drf
from rest_framework import serializers

from core.errors import InvalidInput, OwnText
from core.query_gate import component, operation_body
from core.refusals import refusal_record
from core.validation import is_number_text

if TYPE_CHECKING:
    from rest_framework.request import Request

NO_FIELD = _("no field")
# The code the one exception handler gives REST framework's refusal of a value.
INVALID = "request.invalid"
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_NUMBER_TYPES = frozenset({"integer", "number"})
_BOOLEAN_TYPES = frozenset({"boolean"})
_TEXT_TYPES = frozenset({"string"})
_BOUNDS_ONLY = frozenset(
    {"minLength", "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum"}
    | {"exclusiveMaximum", "multipleOf", "minItems", "maxItems"}
)
# How many unknown fields a refusal names, and how long each name may be.
_NAMED = 10
_NAME_CHARS = 60


@dataclass
class _Found:
    """What a walk of one body found: the fields not taken (with what is taken
    where the first was sent), the boolean fields given no JSON boolean and
    the number fields given text that is no number written out."""

    unknown: list[str] = field(default_factory=list)
    taken_there: list[str] = field(default_factory=list)
    not_boolean: list[str] = field(default_factory=list)
    # (path, the type the schema gives it) of text that is no number written out.
    not_number_text: list[tuple[str, str]] = field(default_factory=list)
    # (path, the type the schema gives it) of a boolean given for a number.
    boolean_for_number: list[tuple[str, str]] = field(default_factory=list)
    # The text-only fields given a JSON number.
    number_for_text: list[str] = field(default_factory=list)


def _branches(schema: Any, seen: frozenset[str] = frozenset()) -> Iterator[Mapping[str, Any]]:
    """The concrete schemas ``schema`` stands for: its ``$ref`` followed, its
    ``oneOf``/``anyOf``/``allOf`` taken apart."""
    if not isinstance(schema, Mapping):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name not in seen:
            yield from _branches(component(name), seen | {name})
        return
    parts = [p for key in ("oneOf", "anyOf", "allOf") for p in schema.get(key, ())]
    own = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf", "allOf")}
    if own.keys() - {"description", "default", "nullable", "title", "readOnly", "writeOnly"}:
        yield own
    for part in parts:
        yield from _branches(part, seen)


def _fields(branches: list[Mapping[str, Any]]) -> tuple[dict[str, Any], bool]:
    """The fields an object of ``branches`` takes, each with its schema, and
    whether it takes any other besides (no properties named, or others
    allowed)."""
    objects = [b for b in branches if b.get("type", "object") == "object" and "items" not in b]
    taken: dict[str, Any] = {}
    open_ = not objects
    for branch in objects:
        properties = branch.get("properties")
        if not properties or branch.get("additionalProperties"):
            open_ = True
        for name, schema in (properties or {}).items():
            if isinstance(schema, Mapping) and schema.get("readOnly"):
                continue  # the answer's, not the write's
            taken.setdefault(name, schema)
    return taken, open_


def _walk(value: Any, schema: Any, path: str, found: _Found) -> None:
    branches = list(_branches(schema))
    if not branches:
        return
    # Bounds beside an ``allOf`` (a choice's ``maxLength``) narrow the value
    # the other branches type; they are no type of their own.
    kinds = {b.get("type") for b in branches if not b.keys() <= _BOUNDS_ONLY}
    if value is not None and not isinstance(value, bool) and kinds == _BOOLEAN_TYPES:
        # "yes", "on", "1" or 1 for a boolean: REST framework would read it as
        # true (null is the field's own to take or refuse).
        found.not_boolean.append(path)
        return
    if isinstance(value, bool) and kinds and kinds <= _NUMBER_TYPES:
        # true for a number: REST framework's float field reads it as 1.0.
        found.boolean_for_number.append((path, "integer" if kinds == {"integer"} else "number"))
        return
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and kinds == _TEXT_TYPES
        and not any("format" in b for b in branches)
    ):
        # 1e2 for text: REST framework's text field would write "100.0".
        found.number_for_text.append(path)
        return
    if isinstance(value, dict):
        taken, open_ = _fields(branches)
        for name, inner in value.items():
            where = f"{path}.{name}" if path else str(name)
            if name in taken:
                _walk(inner, taken[name], where, found)
            elif not open_:
                if not found.unknown:
                    found.taken_there = sorted(taken)
                found.unknown.append(where)
    elif isinstance(value, list):
        items = next((b["items"] for b in branches if "items" in b), None)
        if items is not None:
            for index, inner in enumerate(value):
                _walk(inner, items, f"{path}.{index}" if path else str(index), found)
    elif isinstance(value, str):
        kind = _number_kind(branches)
        if kind is not None and not is_number_text(value, whole=kind == "integer"):
            found.not_number_text.append((path, kind))


def _number_kind(branches: list[Mapping[str, Any]]) -> str | None:
    """``integer`` or ``number`` when ``branches`` are a number field's; None
    when text is the field's own to read (words, a time, a decimal's text
    read by its service with its own codes, a number as it was said)."""
    kinds = {b.get("type") for b in branches}
    if not kinds or not kinds <= _NUMBER_TYPES:
        return None
    return "integer" if kinds == {"integer"} else "number"


def body_refusal(body: Any, schema: Any) -> InvalidInput | drf.ValidationError | None:
    """The refusal of ``body`` by an operation whose request schema is
    ``schema`` (``None``: it declares no body, and takes no field), if any."""
    if not isinstance(body, dict) or not body:
        # Not an object: the view refuses it as such (core.api.valid).
        return None
    found = _Found()
    if schema is None:
        found.unknown = [str(name) for name in body]
    else:
        _walk(body, schema, "", found)
    if found.unknown:
        names = ", ".join(sorted(n[:_NAME_CHARS] for n in found.unknown[:_NAMED]))
        taken: Any = OwnText(", ".join(found.taken_there)) if found.taken_there else NO_FIELD
        return InvalidInput(
            "write.field_unknown",
            f"This request takes no field {names}; it takes {taken}.",
            field=found.unknown[0][:_NAME_CHARS],
            params={"names": names, "supported": taken},
        )
    if found.not_boolean and not isinstance(body, QueryDict):
        # A form-encoded body has no booleans, only text: its view reads it.
        where = found.not_boolean[0][:_NAME_CHARS]
        return InvalidInput(
            "write.not_boolean",
            f"{where} takes true or false, written without quotes.",
            field=where,
            params={"name": OwnText(where)},
        )
    if found.number_for_text:
        where = found.number_for_text[0][:_NAME_CHARS]
        return InvalidInput(
            "write.not_text",
            f"{where} takes text, written in quotes, not a number.",
            field=where,
            params={"name": OwnText(where)},
        )
    refused = found.not_number_text + found.boolean_for_number
    if refused:
        return drf.ValidationError(
            {path: [_TYPE_REFUSALS[kind]] for path, kind in refused}, code="invalid"
        )
    return None


# REST framework's own refusal of a value that is no number, by the type the
# schema gives the field: the words a client gets for any other such value.
_TYPE_REFUSALS = {
    "integer": serializers.IntegerField.default_error_messages["invalid"],
    "number": serializers.FloatField.default_error_messages["invalid"],
}


def body_check(view: Any, request: Request) -> None:
    """Refuse a write on ``/api/`` whose body holds a field its operation does
    not take, a boolean that is no JSON boolean, text that is no number
    written out for a number, a boolean for a number or a number for text,
    each recorded where the endpoint says what it concerns (R9). Run by
    :class:`core.query_gate.QueryGate` after the query is admitted."""
    method = (request.method or "GET").upper()
    if method not in _WRITES:
        return
    if not request.path_info.startswith(spectacular_settings.SCHEMA_PATH_PREFIX):
        return
    match = getattr(request, "resolver_match", None)
    declared, schema = operation_body(getattr(match, "func", None), method)
    if not declared:
        # No operation of the schema (/api/'s "no such resource"): nothing
        # declared to hold the body to.
        return
    if not _has_body(request):
        return
    # A body that cannot be read is refused here as the view would refuse it.
    refused = body_refusal(request.data, schema)
    if refused is None:
        return
    refusal_record(
        request,
        getattr(view, "concerns", None),
        getattr(view, "kwargs", None),
        reason_code=refused.code if isinstance(refused, InvalidInput) else INVALID,
    )
    raise refused


def _has_body(request: Request) -> bool:
    """Whether ``request`` carries a body at all (an empty one takes no field)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return length > 0 or "HTTP_TRANSFER_ENCODING" in request.META
