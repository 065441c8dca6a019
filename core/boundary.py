"""Input checked once, at the door, for every route.

Whatever a client sends — a JSON body on ``/api/`` or ``/fhir/``, a signed
message, a form post or a query string — passes the same checks before any
view, serializer, FHIR model or database sees it:

- a JSON body is at most ``REQUEST_MAX_JSON_BYTES`` long and nests at most
  ``MAX_JSON_DEPTH`` levels (deeper input exhausts the recursion of the code
  that walks it);
- text holds no NUL character (PostgreSQL refuses it in text columns) and no
  lone UTF-16 surrogate (it cannot be encoded as UTF-8);
- numbers are finite;
- a query string under ``/api/`` holds nothing shaped like a CPR number
  (``docs/decisions/0002-cpr-never-in-a-url.md``; ``/fhir/`` refuses it where
  its Patient search reads it, and audits the attempt).

Each refusal is an :class:`~core.errors.InvalidInput` with a stable code, so the
one exception handler answers 400 with the envelope on ``/api/`` and an
OperationOutcome on ``/fhir/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.translation import gettext_lazy
from rest_framework.parsers import BaseParser

from core.cpr import cpr_in_text
from core.errors import InvalidInput
from core.exception_handler import error_response

# FHIR resources nest about a dozen levels (a transaction Bundle of resources
# with contained resources and extensions on extensions stays under 30).
MAX_JSON_DEPTH = 64


def _bad_text(value: str) -> str | None:
    """What is wrong with a piece of text, or None."""
    if "\x00" in value:
        return "nul"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "surrogate"
    return None


def _refuse_text(problem: str, where: str) -> InvalidInput:
    if problem == "nul":
        return InvalidInput(
            "request.nul_character",
            f"Text may not contain a NUL character ({where}).",
            field=where or None,
            params={"where": where},
        )
    return InvalidInput(
        "request.invalid_text",
        f"Text must be valid Unicode; a lone surrogate was found ({where}).",
        field=where or None,
        params={"where": where},
    )


def _path(parts: Iterable[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def check_json_value(data: Any) -> None:
    """Walk parsed JSON without recursion: depth, NUL and surrogates."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(data, 1, ())]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise InvalidInput(
                    "request.too_deep",
                    f"JSON may nest at most {MAX_JSON_DEPTH} levels.",
                    params={"depth": MAX_JSON_DEPTH},
                )
            if isinstance(value, dict):
                for key, item in value.items():
                    problem = _bad_text(key)
                    if problem:
                        raise _refuse_text(problem, _path(where))
                    stack.append((item, depth + 1, (*where, key)))
            else:
                stack.extend((item, depth + 1, (*where, i)) for i, item in enumerate(value))
        elif isinstance(value, str):
            problem = _bad_text(value)
            if problem:
                raise _refuse_text(problem, _path(where))


def json_load(raw: bytes) -> Any:
    """Parse a JSON request body, refusing what no route can use."""
    limit = settings.REQUEST_MAX_JSON_BYTES
    if len(raw) > limit:
        raise InvalidInput(
            "request.too_large",
            f"A JSON body may be at most {limit} bytes.",
            params={"limit": limit},
        )
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        reason = str(exc.msg)
        if "depth" in reason or "recursion" in reason:
            raise InvalidInput(
                "request.too_deep",
                f"JSON may nest at most {MAX_JSON_DEPTH} levels.",
                params={"depth": MAX_JSON_DEPTH},
            ) from None
        if "surrogate" in reason:
            raise InvalidInput(
                "request.invalid_text", "Text must be valid Unicode; a lone surrogate was found."
            ) from None
        if "infinity" in reason:
            raise InvalidInput(
                "request.number_out_of_range", "A number in the body is too large."
            ) from None
        if "UTF-8" in reason or "utf-8" in reason:
            raise InvalidInput("request.malformed", "The request body is not UTF-8.") from None
        raise InvalidInput(
            "request.malformed",
            f"The request body is not valid JSON (line {exc.lineno}, column {exc.colno}).",
            params={"line": exc.lineno, "column": exc.colno},
        ) from None
    check_json_value(data)
    return data


def json_object_required(data: Any) -> None:
    """Refuse a body that is JSON but not an object (an array, a string, a
    number, ``null``): every write of the API takes an object, or nothing."""
    if not isinstance(data, dict):
        raise InvalidInput("request.not_an_object", "The request body must be a JSON object.")


# --- forms and query strings ---------------------------------------------------

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _first_bad_field(request: HttpRequest) -> tuple[str, str] | None:
    sources = [request.GET]
    if request.method == "POST" and request.content_type in _FORM_TYPES:
        # The body is read whole first, so the view can read it again: a
        # multipart stream parsed here would otherwise reach REST framework
        # spent, and a view that takes only JSON would see an empty body (and
        # act on it) instead of refusing the media type.
        request.body  # noqa: B018
        sources.append(request.POST)
    for source in sources:
        for key, values in source.lists():
            for text in (key, *values):
                problem = _bad_text(text)
                if problem:
                    # The field's name only if the name itself is clean.
                    return problem, key if _bad_text(key) is None else ""
    return None


# The public transparency log's tree sizes are counters that reach ten digits;
# it holds no citizen data.
CPR_IN_QUERY_ALLOWED = ("/api/audit/log/",)


def cpr_in_api_query(request: HttpRequest) -> InvalidInput | None:
    """The refusal of an ``/api/`` query string carrying something shaped like
    a CPR number, or None (``/fhir/`` refuses it in its base view, where the
    refused attempt is audited)."""
    if not request.path.startswith("/api/") or request.path.startswith(CPR_IN_QUERY_ALLOWED):
        return None
    return cpr_in_query(request.GET)


def cpr_in_query(query: QueryDict) -> InvalidInput | None:
    """The refusal of a query string carrying something shaped like a CPR
    number, or None. It names the parameter unless its name is the number;
    the number itself is never echoed."""
    for key, values in query.lists():
        if cpr_in_text(key) or any(cpr_in_text(value) for value in values):
            return InvalidInput(
                "request.cpr_in_url",
                "A CPR number never goes in a URL; send it in the request body.",
                field=None if cpr_in_text(key) else key,
            )
    return None


class InputBoundaryMiddleware:
    """Refuses a form post or query string carrying NUL or broken text, and an
    ``/api/`` query string carrying a CPR number, with a 400 in the shape of
    the path (OperationOutcome on /fhir/, the envelope on /api/, a short page
    elsewhere), before any view reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        in_url = cpr_in_api_query(request)
        if in_url is not None:
            return error_response(
                request,
                400,
                {"kind": in_url.kind, **in_url.as_dict()},
                page_message="",
                error=in_url,
            )
        bad = _first_bad_field(request)
        if bad is None:
            return self.get_response(request)
        error = _refuse_text(*bad)
        return refusal_response(request, error)


def refusal_response(request: HttpRequest, error: InvalidInput) -> HttpResponse:
    body = {"kind": error.kind, **error.as_dict()}
    # Lazy: this answers before the request's language is chosen, and the
    # page is written in it (core.exception_handler.answer_language).
    return error_response(
        request,
        400,
        body,
        page_message=gettext_lazy(
            "The form contained characters that cannot be saved (a NUL character or"
            " broken text). Remove them and try again."
        ),
        error=error,
    )


class JSONParser(BaseParser):
    """REST framework's JSON parser, through the same checks as every body."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        if not raw:
            raise InvalidInput("request.malformed", "The request body is empty.")
        return json_load(raw)
