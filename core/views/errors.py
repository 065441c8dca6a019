"""The error pages (400, 403, 404, 500 and a form refused by the CSRF
check) and the 404 of ``/api/``, each in the platform's one envelope."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext, gettext_noop
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFoundOrNotAllowed
from core.exception_handler import error_response
from core.permissions import Public


# Not an operation: whatever /api/ does not know answers 404 in the envelope.
@extend_schema(exclude=True)
class ApiNotFoundView(APIView):
    permission_classes = [Public]
    authentication_classes: list[Any] = []

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # No operation is here, so none of its query parameters is asked
        # after (core/query_gate.py): 404 whatever the query string holds.
        raise NotFoundOrNotAllowed()

    def dispatch_any(self, request: Request) -> Response:
        raise NotFoundOrNotAllowed()

    get = post = put = patch = delete = options = dispatch_any


def error_page(
    request: HttpRequest, status: int, kind: str, code: str, message: str
) -> HttpResponse:
    """A refusal answered the platform's one way: the envelope (or an
    OperationOutcome) on ``/api/`` and ``/fhir/``, a page elsewhere."""
    # ``message`` is the msgid: error_response writes it in the request's language.
    return error_response(
        request,
        status,
        {"kind": kind, "code": code, "message": message},
        page_message=gettext(message),
    )


def error_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        # Django's own limit (DATA_UPLOAD_MAX_MEMORY_SIZE, the platform's
        # REQUEST_MAX_JSON_BYTES) refused the body before any view read it:
        # the same code as core.boundary.json_load gives.
        return error_page(
            request,
            413,
            "too_large",
            "request.too_large",
            gettext_noop("The request is too large."),
        )
    return error_page(
        request,
        400,
        "invalid",
        "request.invalid",
        gettext_noop("The request could not be understood."),
    )


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 403, "forbidden", "forbidden", gettext_noop("Not allowed."))


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(
        request, 404, "not_found", "not_found", gettext_noop("No such page or resource.")
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form refused by the CSRF check, typically one left open across a log-in
    or log-out, so its token no longer holds: the platform's own page, saying
    that nothing was saved and what to do, never Django's technical one."""
    message = gettext_noop(
        "The page had been open too long, or the form did not come from this platform,"
        " so nothing was saved. Reload the page and send the form again."
    )
    return error_response(
        request,
        403,
        {"kind": "forbidden", "code": "request.csrf_failed", "message": message},
        page_message=gettext(message),
        page_template="core/error.html",
    )


def error_500(request: HttpRequest) -> HttpResponse:
    return error_page(
        request,
        500,
        "exception",
        "server.error",
        gettext_noop("Something went wrong on our side; it has been logged."),
    )
