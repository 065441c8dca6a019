"""The one place where errors become HTTP responses.

On ``/api/`` every error is the envelope ``{"error": {"code", "message", ...}}``;
on ``/fhir/`` it is an OperationOutcome. Services raise
:class:`core.errors.PlatformError`; REST framework's own errors (bad JSON,
missing authentication, refused permission) are mapped alongside them.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from rest_framework import exceptions as drf
from rest_framework.response import Response

from core.errors import STATUS_BY_KIND, PlatformError, Throttled
from core.fhir.outcome import operation_outcome
from core.logging import scrub
from core.messages import FIXED as FIXED_MESSAGES
from core.messages import user_message

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
        logger.warning("integrity conflict: %s", _constraint_name(exc))
        return (
            409,
            {
                "kind": "conflict",
                "code": "request.conflict",
                "message": "This conflicts with data saved meanwhile; nothing was saved.",
            },
            headers,
        )
    if isinstance(exc, Http404 | drf.NotFound):
        return (
            404,
            {"kind": "not_found", "code": "not_found", "message": "No such resource."},
            headers,
        )
    if isinstance(exc, DjangoPermissionDenied):
        return 403, {"kind": "forbidden", "code": "forbidden", "message": "Not allowed."}, headers
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
            return status, {"kind": kind, "code": code, "message": str(exc.detail)}, headers
    if isinstance(exc, drf.APIException):
        return (
            exc.status_code,
            {"kind": "invalid", "code": "request.error", "message": str(exc.detail)},
            headers,
        )
    return None


def _constraint_name(exc: IntegrityError) -> str:
    diag = getattr(exc.__cause__, "diag", None)
    return str(getattr(diag, "constraint_name", "") or "unknown")


def _scrub_body(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _scrub_body(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_body(v) for v in value]
    return value


def error_payload(path: str, status: int, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The response body and content type for ``path``: OperationOutcome or envelope.

    Every error body passes here, so this is where a CPR number that a client
    typed into the wrong field (and a validator echoed back) is masked.
    """
    body = _scrub_body(body)
    if is_fhir_path(path):
        outcome = operation_outcome(
            kind=body["kind"],
            code=body["code"],
            message=body["message"],
            field=body.get("field"),
            rule=body.get("rule"),
        )
        return outcome, FHIR_MEDIA_TYPE
    envelope = {k: v for k, v in body.items() if k != "kind"}
    return {"error": envelope}, "application/json"


def error_response(
    request: HttpRequest,
    status: int,
    body: dict[str, Any],
    *,
    page_message: str,
    page_template: str | None = None,
    error: PlatformError | None = None,
) -> HttpResponse:
    """An error outside REST framework's views (middleware, Django's handlers):
    the envelope or OperationOutcome on /api/ and /fhir/, a page elsewhere
    (``page_template``, or the one "not available" page for 403 and 404).

    A client that reads Danish gets the message in Danish, as from a view:
    the ``error``'s translation, else the page's message (already in the
    active language)."""
    if is_fhir_path(request.path) or request.path.startswith("/api/"):
        if _asks_for_danish(request):
            if error is not None:
                body = localised_body(error, body)
            elif page_message:
                body = {**body, "message": page_message}
        payload, content_type = error_payload(request.path, status, body)
        return JsonResponse(payload, status=status, content_type=content_type)
    template = page_template or (
        "core/not_allowed.html" if status in (403, 404) else "core/error.html"
    )
    context = {"status": status, "message": page_message, "code": body.get("code", "")}
    return render(request, template, context, status=status)


def _asks_for_danish(request: HttpRequest) -> bool:
    """The client said it reads Danish (Accept-Language); the API stays English otherwise."""
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    first = header.split(",")[0].split(";")[0].strip().lower()
    return first.startswith("da")


def localised_body(exc: PlatformError, body: dict[str, Any]) -> dict[str, Any]:
    """The error body with its messages in the active language; codes unchanged."""
    with translation.override("da"):
        out = {**body, "message": user_message(exc)}
        if "errors" in body:
            out["errors"] = [
                {**e, "message": user_message(r)}
                for e, r in zip(body["errors"], exc.related, strict=True)
            ]
    return out


def _localised_own_words(body: dict[str, Any]) -> dict[str, Any]:
    """A REST framework refusal worded by the platform (a token refused, a
    role not admitted) in Danish, as a service's refusal is; REST framework's
    own messages are in the request's language already and stay as they are."""
    message = body.get("message")
    if not isinstance(message, str) or message not in FIXED_MESSAGES:
        return body
    with translation.override("da"):
        return {**body, "message": translation.gettext(message)}


def handle_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    request: HttpRequest | None = context.get("request")
    described = describe(exc)
    if described is None:
        return None  # a bug: let Django's 500 handler answer (and log) it
    status, body, headers = described
    if request is not None and _asks_for_danish(request):
        if isinstance(exc, PlatformError):
            body = localised_body(exc, body)
        else:
            body = _localised_own_words(body)
    path = request.path if request is not None else ""
    payload, content_type = error_payload(path, status, body)
    return Response(payload, status=status, headers=headers, content_type=content_type)
