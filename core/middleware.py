"""Request id and client context for every request; deny-by-default for pages."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy
from rest_framework.views import APIView

from core.context import (
    REQUEST_ID_META,
    RequestContext,
    request_id_new,
    request_id_valid,
    reset_context,
    set_context,
)
from core.exception_handler import error_response
from core.permissions import actor_from_request
from core.refusals import page_refusal_record


class RequestIdMiddleware:
    """Takes a well-formed ``X-Request-ID`` or makes one; echoes it on the
    response. One that holds something shaped like a CPR number is not
    taken: it would reach the log scrubbed and the audit log whole."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if request_id_valid(incoming) else request_id_new()
        ctx = RequestContext(
            request_id=request_id,
            client_address=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.headers.get("User-Agent", "")[:300],
        )
        # Django logs a 4xx ("Not Found: ...") after the middleware has
        # returned, with the request but outside this context: the log's
        # filter reads the id from the request there (core/logging.py).
        request.META[REQUEST_ID_META] = request_id
        token = set_context(ctx)
        try:
            response = self.get_response(request)
        finally:
            reset_context(token)
        response["X-Request-ID"] = request_id
        return response


# When the session was last used (seconds since the epoch), written at most
# once a minute so that reading a page does not write the session each time.
SESSION_SEEN_KEY = "seen_at"
SESSION_SEEN_PRECISION_SECONDS = 60


def session_idle_seconds(session: Any, *, now: float) -> float | None:
    """How long ago the session was last used, when that is past the idle
    limit; ``None`` otherwise (or when no use is recorded). The idle
    timeout's one rule, read by the middleware and the sign-out record."""
    seen = session.get(SESSION_SEEN_KEY)
    if isinstance(seen, (int, float)) and now - seen > settings.SESSION_IDLE_SECONDS:
        return now - seen
    return None


class SessionIdleMiddleware:
    """Ends a logged-in session left untouched for ``SESSION_IDLE_SECONDS``,
    whichever door it comes back by (a page, the API, the admin): she logs in
    again, as after logging out, and the session's key is new. A bearer token
    carries no session and keeps its own lifetime."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and session.get("_auth_user_id") is not None:
            now = time.time()
            seen = session.get(SESSION_SEEN_KEY)
            if session_idle_seconds(session, now=now) is not None:
                # Django's logout signal puts the ended session in the audit log.
                logout(request)
            elif not isinstance(seen, (int, float)) or now - seen >= SESSION_SEEN_PRECISION_SECONDS:
                session[SESSION_SEEN_KEY] = now
        return self.get_response(request)


def _is_api_view(view_func: Any) -> bool:
    cls = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
    return isinstance(cls, type) and issubclass(cls, APIView)


# Views that carry their own gate: Django's admin (staff only, by its own login)
# and the language switch (touches no data).
SELF_GUARDED_APPS = frozenset({"admin"})
SELF_GUARDED_MODULES = ("django.views.i18n",)


# A page is read (GET, HEAD) or sent a form (POST); no other method reaches a
# page's view, which would otherwise answer it as if it were read.
PAGE_METHODS = frozenset({"GET", "HEAD", "POST"})
METHOD_NOT_ALLOWED = gettext_lazy(
    "This page cannot be used that way. Open it from the menu, or send its form again."
)


class PageAccessMiddleware:
    """Refuses every page view that does not declare who may see it, and every
    method a page does not serve (405, on the platform's own page).

    API views are left to REST framework, whose default permission refuses
    everyone. A page declares access with ``core.permissions.page``/``public_page``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 405 and not response.content:
            # Django's require_http_methods answers with an empty body.
            return method_not_allowed(request, response.get("Allow", ""))
        return response

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if _is_api_view(view_func):
            return None
        if request.method not in PAGE_METHODS:
            return method_not_allowed(request, ", ".join(sorted(PAGE_METHODS)))
        match = request.resolver_match
        if match is not None and match.app_name in SELF_GUARDED_APPS:
            return None
        if (getattr(view_func, "__module__", "") or "").startswith(SELF_GUARDED_MODULES):
            return None
        access = getattr(view_func, "page_access", None)
        if access == "public":
            return None
        if access is None:
            return not_allowed(request)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        actor = actor_from_request(request)
        if actor is None:
            return redirect_to_login(request.get_full_path())
        if access == "staff" or actor.role in access:
            return None
        # A role refused on a page about a citizen is an attempt on her (R9).
        page_refusal_record(request, view_func, view_kwargs)
        return not_allowed(request)


def not_allowed(request: HttpRequest) -> HttpResponse:
    """One page for "not allowed": it says nothing about what was asked for."""
    response = TemplateResponse(request, "core/not_allowed.html", status=403)
    return response.render()


def method_not_allowed(request: HttpRequest, allowed: str) -> HttpResponse:
    """405 in the door's own form: the platform's page in the user's language
    on a page's address, the error envelope or OperationOutcome elsewhere."""
    response = error_response(
        request,
        405,
        {
            "kind": "not_supported",
            "code": "request.method_not_allowed",
            "message": "This page cannot be used that way.",
        },
        page_message=METHOD_NOT_ALLOWED,
    )
    if allowed:
        response["Allow"] = allowed
    return response


class NoStoreMiddleware:
    """Nothing the platform answers is kept by a browser or a proxy: pages, API
    and FHIR responses carry citizen data, and a shared tablet's cache must not
    hold it after logout. Static files are answered above this middleware (by
    WhiteNoise) and keep their long cache."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control") or "no-cache" in response["Cache-Control"]:
            response["Cache-Control"] = "no-store, private"
        return response


class OfflineSendMiddleware:
    """A form the tablet's offline queue sends (header ``X-Offline-Send: 1``)
    gets a redirect as JSON, ``{"location": ...}``, instead of following it:
    the tablet then knows the write was received, or that she must log in
    again (a redirect to the login page), and loads the next page itself, so
    the page's one-time messages are shown to her, not to the fetch
    (docs/decisions/0013)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.method == "POST"
            and request.headers.get("X-Offline-Send") == "1"
            and response.status_code in (301, 302, 303)
        ):
            answer = JsonResponse({"location": response["Location"]})
            answer.cookies = response.cookies  # the session's and the messages' cookies
            return answer
        return response
