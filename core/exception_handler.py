"""The one place where errors become HTTP responses.

On ``/api/`` every error is the envelope ``{"error": {"code", "message", ...}}``;
on ``/fhir/`` it is an OperationOutcome. Services raise
:class:`core.errors.PlatformError`; REST framework's own errors (bad JSON,
missing authentication, refused permission) are mapped alongside them.

Every refusal's message is written in one language, chosen by one rule
(:func:`answer_language`): Danish unless the request asks for English. The
``code`` never changes with the language.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.functional import Promise
from django.utils.translation import gettext_noop
from rest_framework import exceptions as drf
from rest_framework.response import Response

from core.errors import STATUS_BY_KIND, PlatformError, Throttled, shown_message
from core.fhir.outcome import operation_outcome
from core.logging import scrub
from core.messages import general_in_place_of_detail, user_message
from core.renderers import answered_media_type
from core.validation import constraint_broken, unique_conflict

logger = logging.getLogger(__name__)

FHIR_MEDIA_TYPE = "application/fhir+json"


def is_fhir_path(path: str) -> bool:
    return path.startswith("/fhir/") or path == "/fhir"


def _flatten(detail: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(detail, dict):
        out: dict[str, str] = {}
        for key, value in detail.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(detail, list):
        if all(not isinstance(v, dict | list) for v in detail):
            return {prefix or "non_field_errors": " ".join(str(v) for v in detail)}
        out = {}
        for index, value in enumerate(detail):
            out.update(_flatten(value, f"{prefix}[{index}]"))
        return out
    return {prefix or "non_field_errors": str(detail)}


# REST framework's errors that keep their own message: status, kind and code.
DRF_ERRORS: tuple[tuple[type[drf.APIException], int, str, str], ...] = (
    (drf.NotAuthenticated, 401, "unauthenticated", "auth.required"),
    (drf.AuthenticationFailed, 401, "unauthenticated", "auth.required"),
    (drf.PermissionDenied, 403, "forbidden", "auth.forbidden"),
    (drf.MethodNotAllowed, 405, "not_supported", "request.method_not_allowed"),
    (drf.NotAcceptable, 406, "not_supported", "request.not_acceptable"),
    (drf.UnsupportedMediaType, 415, "not_supported", "request.unsupported_media_type"),
    (drf.Throttled, 429, "throttled", "request.throttled"),
)


# REST framework's "Authentication credentials were not provided." in the
# platform's own words: the same code and sentence as ``core.api.actor_of``.
NOT_LOGGED_IN = gettext_noop("Log in first.")


def describe(exc: Exception) -> tuple[int, dict[str, Any], dict[str, str]] | None:
    """Status, error body and extra headers for a known exception; None for a bug."""
    headers: dict[str, str] = {}
    if isinstance(exc, PlatformError):
        if isinstance(exc, Throttled):
            headers["Retry-After"] = str(exc.retry_after)
        body = {"kind": exc.kind, **exc.as_dict()}
        return STATUS_BY_KIND.get(exc.kind, 400), body, headers
    if isinstance(exc, IntegrityError):
        # A rule the database keeps (a unique key someone saved first). Its
        # text names the constraint and may quote the values: only the log
        # gets the constraint's name.
        constraint = constraint_broken(exc)
        logger.warning("integrity conflict: %s", constraint or "unknown")
        precise = unique_conflict(constraint)
        if precise is not None:
            return 409, {"kind": precise.kind, **precise.as_dict()}, headers
        return (
            409,
            {
                "kind": "conflict",
                "code": "request.conflict",
                "message": gettext_noop(
                    "This conflicts with data saved meanwhile; nothing was saved."
                ),
            },
            headers,
        )
    if isinstance(exc, Http404 | drf.NotFound):
        return (
            404,
            {
                "kind": "not_found",
                "code": "not_found",
                "message": gettext_noop("No such resource."),
            },
            headers,
        )
    if isinstance(exc, DjangoPermissionDenied):
        message = gettext_noop("Not allowed.")
        return 403, {"kind": "forbidden", "code": "forbidden", "message": message}, headers
    if isinstance(exc, drf.ValidationError):
        fields = _flatten(exc.detail)
        summary = "; ".join(f"{k}: {v}" for k, v in fields.items())
        return (
            400,
            {"kind": "invalid", "code": "request.invalid", "message": summary, "fields": fields},
            headers,
        )
    if isinstance(exc, drf.ParseError):
        return (
            400,
            {
                "kind": "invalid",
                "code": "request.malformed",
                "message": f"Malformed request body: {exc.detail}",
            },
            headers,
        )
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    wait = getattr(exc, "wait", None) if isinstance(exc, drf.Throttled) else None
    if wait:
        headers["Retry-After"] = str(int(wait))
    for error_type, status, kind, code in DRF_ERRORS:
        if isinstance(exc, error_type):
            message = str(exc.detail)
            if isinstance(exc, drf.NotAuthenticated) and exc.get_codes() == "not_authenticated":
                message = NOT_LOGGED_IN
            return status, {"kind": kind, "code": code, "message": message}, headers
    if isinstance(exc, drf.APIException):
        return (
            exc.status_code,
            {"kind": "invalid", "code": "request.error", "message": str(exc.detail)},
            headers,
        )
    return None


def _scrub_body(value: Any) -> Any:
    if isinstance(value, str):
        return shown_message(scrub(value))
    if isinstance(value, dict):
        return {k: _scrub_body(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_body(v) for v in value]
    return value


# The OAuth 2.0 endpoints for systems (portal.signin): their errors are RFC
# 6749 §5.2's ``{"error", "error_description"}`` with the platform's ``code``.
OAUTH_PATHS = ("/api/auth/oauth/",)


def error_payload(path: str, status: int, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The response body and content type for ``path``: OperationOutcome or envelope.

    Every error body passes here, so this is where a CPR number that a client
    typed into the wrong field (and a validator echoed back) is masked, and
    every sentence bounded (``core.errors.shown_message``) whatever it quotes.
    """
    body = _scrub_body(body)
    if path.startswith(OAUTH_PATHS):
        # The token endpoint's clients read RFC 6749's error shape, also when
        # the refusal comes before its view (a character refused in the form).
        oauth = {"error": "invalid_request", "error_description": body["message"]}
        return {**oauth, "code": body["code"]}, "application/json"
    if is_fhir_path(path):
        outcome = operation_outcome(
            kind=body["kind"],
            code=body["code"],
            message=body["message"],
            field=body.get("field"),
            rule=body.get("rule"),
            diagnostics=body.get("detail"),
        )
        return outcome, FHIR_MEDIA_TYPE
    envelope = {k: v for k, v in body.items() if k not in ("kind", "detail")}
    return {"error": envelope}, "application/json"


def error_response(
    request: HttpRequest,
    status: int,
    body: dict[str, Any],
    *,
    page_message: str | Promise,
    page_template: str | None = None,
    error: PlatformError | None = None,
) -> HttpResponse:
    """An error outside REST framework's views (middleware, Django's handlers):
    the envelope or OperationOutcome on /api/ and /fhir/, a page elsewhere
    (``page_template``, or the one "not available" page for 403 and 404).

    Some of these answer before Django's LocaleMiddleware has chosen the
    request's language: the answer is written in :func:`answer_language`
    here, the same as a view's."""
    language = answer_language(request)
    with translation.override(language):
        if is_fhir_path(request.path) or request.path.startswith("/api/"):
            body = localised_body(body, language=language, error=error)
            payload, content_type = error_payload(request.path, status, body)
            response: HttpResponse = JsonResponse(payload, status=status, content_type=content_type)
        else:
            template = page_template or (
                "core/not_allowed.html" if status in (403, 404) else "core/error.html"
            )
            context = {"status": status, "message": str(page_message), "code": body.get("code", "")}
            response = render(request, template, context, status=status)
    response.headers.setdefault("Content-Language", language)
    patch_vary_headers(response, ("Accept-Language",))
    return response


def refusal_answer(
    request: HttpRequest,
    status: int,
    error: PlatformError,
    *,
    page_message: str | Promise | None = None,
) -> HttpResponse:
    """``error`` answered with ``status`` outside REST framework's views, as
    :func:`error_response` answers: its envelope, or on a page ``page_message``
    (its own message when none is given)."""
    return error_response(
        request,
        status,
        {"kind": error.kind, **error.as_dict()},
        page_message=error.message if page_message is None else page_message,
        error=error,
    )


def answer_language(request: HttpRequest | None) -> str:
    """The language of every refusal, on every door (docs/api.md): Danish unless
    the request asks for English. It is the language Django's LocaleMiddleware
    activates for the request, so a message a service wrote with gettext is in
    the same language as one translated here: the language chosen on the pages
    (their language cookie), else the first of Danish and English that
    ``Accept-Language`` prefers, else Danish (``LANGUAGE_CODE``)."""
    if request is None:
        return str(settings.LANGUAGE_CODE)
    http = getattr(request, "_request", request)  # REST framework's request wraps Django's
    return translation.get_language_from_request(http)


def localised_body(
    body: dict[str, Any], *, language: str, error: PlatformError | None = None
) -> dict[str, Any]:
    """The error body with its messages in ``language``; codes, fields and the
    machine-readable facts unchanged. An error from outside the services
    (REST framework's, Django's) is translated as the platform's own are."""
    error = error or PlatformError(str(body["code"]), str(body["message"]))
    with translation.override(language):
        out = {**body, "message": user_message(error)}
        if general_in_place_of_detail(error):
            # The precise sentence has no wording in this language: /fhir/
            # keeps it as the diagnostics (error_payload).
            out["detail"] = error.message
        if "errors" in body:
            out["errors"] = [
                {**e, "message": user_message(r)}
                for e, r in zip(body["errors"], error.related, strict=True)
            ]
    return out


def handle_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    request: HttpRequest | None = context.get("request")
    described = describe(exc)
    if described is None:
        return None  # a bug: let Django's 500 handler answer (and log) it
    status, body, headers = described
    language = answer_language(request)
    body = localised_body(
        body, language=language, error=exc if isinstance(exc, PlatformError) else None
    )
    headers.setdefault("Content-Language", language)
    path = request.path if request is not None else ""
    payload, content_type = error_payload(path, status, body)
    if is_fhir_path(path):
        # The OperationOutcome in the format negotiated (application/json
        # when Accept weighs FHIR JSON 0), FHIR JSON when none was.
        content_type = answered_media_type(request, content_type)
    return Response(payload, status=status, headers=headers, content_type=content_type)
