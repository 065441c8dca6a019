"""Text no route takes, refused at the door and recorded on whom it names (R9).

A query string or form post carrying NUL, broken text or a character that
shows nothing (:func:`core.boundary.text_refusal`) is answered 400 in the
shape of its door before any view, session or sign-in reads it, as it always
was, to every caller alike: one who cannot be named learns nothing more than
that the input was refused, and the answer does not depend on who asks.

A caller who says who she is (a bearer token in force, a signed-in session,
read as :func:`core.cpr_in_url.door_caller` reads them) made an attempt all the
same. It is recorded as denied, with the refusal's code, on what the route
says it concerns and on the citizen the request names, by the one record of
a refused request (:func:`core.refusals.input_refusal_record`): a ``/fhir/``
search's ``patient``, an ``/api/`` search's ``citizen``, the visit a page's
form is sent for. ``patient=1&code=%00`` from a nurse who may not read
citizen 1 lands on citizen 1's log, as ``patient=1`` alone does. The route is
looked up only for the record; nothing of the view runs but what says whom
the request names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from rest_framework.request import Request
from rest_framework.views import APIView

from core.boundary import refusal_response, text_refusal
from core.cpr_in_url import door_caller
from core.refusals import input_refusal_record

logger = logging.getLogger(__name__)


def _door(request: HttpRequest) -> tuple[HttpRequest | Request, Any, dict[str, Any]] | None:
    """The request as its view reads it, the view (a REST framework view made
    as its route makes it, or a page's function) and the route's keywords;
    None for a path no route serves."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    view_class = getattr(match.func, "view_class", None)
    if not (isinstance(view_class, type) and issubclass(view_class, APIView)):
        return request, match.func, match.kwargs
    view = view_class(**getattr(match.func, "view_initkwargs", {}))
    view.setup(request, *match.args, **match.kwargs)
    read = view.initialize_request(request, *match.args, **match.kwargs)
    view.request = read
    return read, view, match.kwargs


def input_refused_record(request: HttpRequest, reason_code: str) -> None:
    """A known caller's request refused by the input checks, recorded on the
    citizen it names (R9). The refusal stands whether or not it was written."""
    try:
        if door_caller(request) is None:
            return
        door = _door(request)
        if door is not None:
            input_refusal_record(door[0], door[1], door[2], reason_code=reason_code)
    except Exception:
        # The caller is refused regardless; the operators see the lost entry.
        logger.exception("A refused request could not be recorded in the audit log")


class InputBoundaryMiddleware:
    """Refuses a form post or query string carrying NUL, broken text or a
    character that shows nothing with a 400 in the shape of the path
    (OperationOutcome on /fhir/, the envelope on /api/, a short page
    elsewhere), before any view reads it; a known caller's attempt is
    recorded on the citizen it names."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refused = text_refusal(request)
        if refused is None:
            return self.get_response(request)
        input_refused_record(request, refused.code)
        return refusal_response(request, refused)
