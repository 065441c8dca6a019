"""A CPR number never travels in a URL (``docs/decisions/0002-cpr-never-in-a-url.md``).

One refusal for every door: a URL whose path holds something shaped like a
CPR number (a page, ``/api/``, any ``/fhir/`` type), or whose query string
does outside ``/fhir/`` (:func:`core.boundary.cpr_in_url`), is answered 400
``request.cpr_in_url`` in the shape of its door before any view runs, before
anyone is signed in and before any redirect: an address typed by hand is
never sent on to the login page with the number in ``next``, nor answered by
a route that reads the number as an id.

A caller who says who she is (a bearer token, a signed-in session) made an
attempt all the same: it is recorded as refused (R9), naming no citizen and
without the number.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from rest_framework import exceptions as drf

from core.actors import Actor
from core.auth import BearerTokenAuthentication, bearer_credential
from core.boundary import cpr_in_url, cpr_in_url_response
from core.fhir.gate import current_gate
from core.fhir.purpose import recorded_purpose
from core.middleware import session_idle_seconds
from core.permissions import actor_from_request

logger = logging.getLogger(__name__)

# What the audit log calls an attempt, by its HTTP method.
_ACTION_BY_METHOD = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}
_FHIR_TYPE_PREFIX = "/fhir/"


def door_caller(request: HttpRequest) -> Actor | None:
    """Who sent a refused request, when it says so as its door would read it:
    a bearer token in force, or a signed-in session that is neither ended nor
    idle. Nothing is changed for her: the session is read, not touched."""
    if bearer_credential(request.META.get("HTTP_AUTHORIZATION", "")) is not None:
        try:
            found = BearerTokenAuthentication().authenticate(request)  # type: ignore[arg-type]
        except drf.AuthenticationFailed:
            return None
        if found is None:
            return None
        request.user, request.auth = found  # type: ignore[attr-defined]
        return actor_from_request(request)
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return None
    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore(session_key)
    if session_idle_seconds(session, now=time.time()) is not None:
        return None
    request.session = session
    request.user = get_user(request)
    return actor_from_request(request)


def _resource_type(path: str) -> str:
    """The FHIR type a ``/fhir/`` path is on ("Patient"), else ""."""
    if not path.startswith(_FHIR_TYPE_PREFIX):
        return ""
    first = path[len(_FHIR_TYPE_PREFIX) :].split("/", 1)[0]
    return first if first[:1].isupper() and first.isalpha() and len(first) <= 64 else ""


def cpr_in_url_record(request: HttpRequest) -> None:
    """The refused attempt of a caller who is known, recorded naming no
    citizen (R9). The refusal stands whether or not it could be written."""
    try:
        actor = door_caller(request)
        if actor is None:
            return
        current_gate().refuse(
            actor=actor,
            action=_ACTION_BY_METHOD.get(request.method or "", "read"),
            purpose=recorded_purpose(request),
            resource_type=_resource_type(request.path),
            resource_id="",
            reason_code="cpr_in_url",
        )
    except DatabaseError:
        logger.exception("A refused CPR number in a URL could not be recorded")


class CprInUrlMiddleware:
    """Refuses a URL carrying a CPR number (:func:`core.boundary.cpr_in_url`)
    before anything else reads the request, recording a known caller's attempt."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refused = cpr_in_url(request)
        if refused is None:
            return self.get_response(request)
        cpr_in_url_record(request)
        return cpr_in_url_response(request, refused)
