"""Request id and client context for every request; deny-by-default for pages."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.template.response import TemplateResponse
from django.utils.crypto import constant_time_compare
from django.utils.deprecation import MiddlewareMixin
from django.utils.translation import gettext, gettext_lazy, gettext_noop
from rest_framework.views import APIView

from core.context import (
    REQUEST_ID_META,
    RequestContext,
    request_id_new,
    request_id_valid,
    reset_context,
    set_context,
)
from core.context_processors import device_owner
from core.errors import Conflict
from core.exception_handler import error_response
from core.messages import user_message
from core.permissions import actor_from_request, page_methods
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


# A request a page makes by itself — the board refreshing, the tablet
# reporting its position, the service worker keeping her visits — says so
# with this header. It is not her use of the platform: it never keeps a
# session alive, and once the session has ended it is answered 401 with the
# login page's address instead of the login page itself.
BACKGROUND_HEADER = "X-Background"
# The tablet's offline queue sending her earlier writes when the connection
# returns (core/static/core/offline.js): hers, but not a sign that she is there.
OFFLINE_REPLAY_HEADER = "X-Offline-Replay"


def request_is_background(request: HttpRequest) -> bool:
    """Whether a page's script sent this request by itself (``X-Background: 1``)."""
    return request.headers.get(BACKGROUND_HEADER) == "1"


def request_is_her_activity(request: HttpRequest) -> bool:
    """Whether the request is someone using the platform, as the idle timeout
    counts it: not a page's automatic request, nor a replay of the offline queue."""
    return not request_is_background(request) and request.headers.get(OFFLINE_REPLAY_HEADER) != "1"


def _session_end_claimed(session: Any) -> bool:
    """Whether this request is the one that ends the session. Two requests of
    an idle session may arrive together (the board's refresh and a click, two
    tabs): both see it idle, and it must be ended, and recorded, once. The
    delete of its row decides; a store without rows has no such race."""
    key = session.session_key
    model = getattr(session, "model", None)
    if key is None or model is None:
        return True
    deleted, _ = model.objects.filter(session_key=key).delete()
    return bool(deleted)


def _session_end_once(request: HttpRequest, *, signed_out_herself: bool = False) -> None:
    """End the request's session as a logout does, recorded once: the request
    that claims the end logs out (Django's logout signal puts it in the audit
    log; ``signed_out_herself`` marks it as her own sign-out); one that finds
    it ended by another request meanwhile is only answered as for nobody."""
    session = request.session
    if _session_end_claimed(session):
        if signed_out_herself:
            setattr(request, SIGN_OUT_PENDING_ATTRIBUTE, True)
        logout(request)
    else:
        session.flush()
        request.user = AnonymousUser()


class SessionIdleMiddleware:
    """Ends a logged-in session left untouched for ``SESSION_IDLE_SECONDS``,
    whichever door it comes back by (a page, the API, the admin): she logs in
    again, as after logging out, and the session's key is new. Only her own
    requests count as use: a page's automatic ones (``X-Background``) and the
    offline queue's replays do not, so a board or a tablet left alone ends
    its session although it keeps asking. A bearer token carries no session
    and keeps its own lifetime."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and session.get("_auth_user_id") is not None:
            now = time.time()
            seen = session.get(SESSION_SEEN_KEY)
            if session_idle_seconds(session, now=now) is not None:
                _session_end_once(request)
            elif not isinstance(seen, (int, float)) or (
                now - seen >= SESSION_SEEN_PRECISION_SECONDS and request_is_her_activity(request)
            ):
                # A session with no use recorded yet starts its clock whoever asks.
                session[SESSION_SEEN_KEY] = now
        return self.get_response(request)


# Set by the tablet (core/static/core/offline.js) when she logs out, before the
# logout is posted, holding her opaque owner (core.context_processors.device_owner):
# a logout made without a connection never reaches the server, and this cookie
# goes with the tablet's very next request, whatever asks it.
SIGN_OUT_PENDING_COOKIE = "tvaerakut_signout"
# Read by the sign-out record: she logged out herself, however long ago.
SIGN_OUT_PENDING_ATTRIBUTE = "sign_out_pending"


class PendingSignOutMiddleware:
    """Ends the session of a user who logged out on the tablet while it had no
    connection (docs/decisions/0013), before anything is answered under it:
    the first request that carries ``SIGN_OUT_PENDING_COOKIE`` naming the
    signed-in user — a page, the service worker, a script, the logout itself —
    ends her session as her logout would have, recorded once as her sign-out,
    and is answered as for nobody signed in (a page goes to the login page).
    The cookie is deleted in the answer. One naming another user (hers ended
    already, someone else signed in since) ends nothing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        pending = request.COOKIES.get(SIGN_OUT_PENDING_COOKIE)
        if pending is None:
            return self.get_response(request)
        session = getattr(request, "session", None)
        user_id = session.get("_auth_user_id") if session is not None else None
        if (
            session is not None
            and user_id is not None
            and str(user_id).isdigit()
            and constant_time_compare(pending, device_owner(int(user_id)))
        ):
            _session_end_once(request, signed_out_herself=True)
        response = self.get_response(request)
        response.delete_cookie(SIGN_OUT_PENDING_COOKIE, samesite="Lax")
        return response


def login_required_response(request: HttpRequest) -> HttpResponse:
    """To the login page. A page's own request — an htmx swap or a script's
    automatic call — cannot take the login page as its answer (htmx would put
    the login form inside the board): it gets 401 with the login page's
    address, which htmx opens as the whole page (``HX-Redirect``) and a
    script reads from the body, coming back to the page it was on."""
    if request.headers.get("HX-Request") != "true" and not request_is_background(request):
        return redirect_to_login(request.get_full_path())
    login = redirect_to_login(_page_path(request))["Location"]
    response = JsonResponse(
        {
            "error": {
                "kind": "unauthenticated",
                "code": "auth.required",
                "message": gettext("Log in first."),
                "location": login,
            }
        },
        status=401,
    )
    response["HX-Redirect"] = login
    return response


def _page_path(request: HttpRequest) -> str:
    """The page a request was made from (htmx's ``HX-Current-URL``, else the
    Referer), as a path on this platform; the request's own path otherwise."""
    for header in ("HX-Current-URL", "Referer"):
        parts = urlsplit(request.headers.get(header, ""))
        local = parts.path.startswith("/") and not parts.path.startswith("//")
        if local and parts.netloc in ("", request.get_host()):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.get_full_path()


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


class PageAccessMiddleware(MiddlewareMixin):
    """Refuses every page view that does not declare who may see it, and every
    method a page does not serve (405, on the platform's own page).

    API views are left to REST framework, whose default permission refuses
    everyone. A page declares access with ``core.permissions.page``/``public_page``.

    It judges a request before Django's CSRF check does (``settings.MIDDLEWARE``):
    a POST to a page that serves none is its 405 naming what it serves, and
    to a role refused the page the one "not allowed" page, with or without a
    token; nothing reaches a view past the gate without the CSRF check.
    """

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if _is_api_view(view_func):
            return None
        match = request.resolver_match
        if match is not None and match.app_name in SELF_GUARDED_APPS:
            # Django's admin serves what a page may, and guards itself.
            return _method_refused(request, view_func, PAGE_METHODS)
        served = page_methods(view_func)
        if (getattr(view_func, "__module__", "") or "").startswith(SELF_GUARDED_MODULES):
            return _method_refused(request, view_func, served)
        access = getattr(view_func, "page_access", None)
        if access == "public":
            return _method_refused(request, view_func, served)
        if access is None:
            return not_allowed(request)
        if not request.user.is_authenticated:
            return login_required_response(request)
        actor = actor_from_request(request)
        if actor is None:
            return login_required_response(request)
        if access == "staff" or actor.role in access:
            # Each page view serves the methods it declares
            # (core.permissions.serves; none declared: it is read, GET and
            # HEAD). Asked after the gate: to a role refused the page, a
            # method it does not serve is the same "not allowed" as any
            # other, so a 405 does not tell her the page is there.
            return _method_refused(request, view_func, served)
        # A role refused on a page about a citizen is an attempt on her (R9).
        page_refusal_record(request, view_func, view_kwargs)
        return not_allowed(request)


def _method_refused(
    request: HttpRequest, view_func: Any, served: frozenset[str]
) -> HttpResponse | None:
    """405 with an ``Allow`` naming what the view serves, or None when it
    serves the request's method: the Danish page, or plain text where a
    program reads the address (``/healthz``)."""
    if request.method in served:
        return None
    allowed = ", ".join(sorted(served))
    if getattr(view_func, "page_refusal_plain", False):
        return plain_method_not_allowed(allowed)
    return method_not_allowed(request, allowed)


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


def plain_method_not_allowed(allowed: str) -> HttpResponse:
    """405 for an address a program reads (``/healthz``): plain text, no page."""
    response = HttpResponse(
        "405 Method Not Allowed\n", status=405, content_type="text/plain; charset=utf-8"
    )
    response["Allow"] = allowed
    return response


class MethodNotAllowedPageMiddleware:
    """A 405 a view answered with an empty body (Django's own views: the
    admin's, ``require_http_methods``) in the door's form, as the page gate
    answers one (:func:`method_not_allowed`). Inside the content security
    policy's middleware, so that the page it writes carries its headers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 405 and not response.content:
            return method_not_allowed(request, response.get("Allow", ""))
        return response


class AllowServedMiddleware:
    """The ``Allow`` header of a REST framework view names only the methods it
    serves. REST framework lists ``OPTIONS`` on every view, yet a view with no
    metadata class (every ``/api/`` view: its description is ``/api/schema/``)
    answers ``OPTIONS`` with 405: a client reading ``Allow``, as RFC 9110
    asks of a 405, tried a method it was then refused. ``/fhir/`` keeps the
    same rule in its own views (``core.fhir.views``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "_options_not_served", False) and response.has_header("Allow"):
            served = [m.strip() for m in response["Allow"].split(",")]
            response["Allow"] = ", ".join(m for m in served if m and m.upper() != "OPTIONS")
        return response

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> None:
        cls = getattr(view_func, "cls", None)
        if isinstance(cls, type) and issubclass(cls, APIView) and cls.metadata_class is None:
            request._options_not_served = True  # type: ignore[attr-defined]


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


# Sent by core/static/core/offline.js with every form it sends: the opaque
# owner (core.context_processors.device_owner) of the user who made the entry.
OFFLINE_OWNER_HEADER = "X-Offline-Owner"
OFFLINE_OTHER_USER = gettext_noop(
    "This entry was made on the tablet by another user. It is sent only while she is"
    " logged in; nothing was saved."
)


class OfflineOwnerMiddleware(MiddlewareMixin):
    """A form from the tablet's queue is received only under the session of
    the user who made it (docs/decisions/0013): an entry the tablet names as
    another user's (header ``X-Offline-Owner``) is refused before its view
    runs, 409 ``offline.other_user``, and the attempt is recorded on the
    citizen the page concerns (R9). The tablet keeps the entry for her. A form
    without the header is one sent from the signed-in user's own page."""

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if request.method != "POST" or request.headers.get("X-Offline-Send") != "1":
            return None
        made_by = request.headers.get(OFFLINE_OWNER_HEADER)
        if made_by is None or not request.user.is_authenticated:
            # Signed out, the page's gate sends her to log in; the tablet keeps the entry.
            return None
        if constant_time_compare(made_by, device_owner(request.user.pk)):
            return None
        page_refusal_record(request, view_func, view_kwargs, reason_code="offline.other_user")
        error = Conflict("offline.other_user", OFFLINE_OTHER_USER)
        return JsonResponse(
            {"error": {"code": error.code, "message": user_message(error), "fields": {}}},
            status=409,
        )


# What a view or a page's nonce changes in django-csp's policy for one response.
_CSP_OWN_POLICY = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, the headers unchanged, with the settings'
    policy built once: django-csp builds it on every response, the same text
    each time for an answer that neither changes the policy (django-csp's
    view decorators) nor used a nonce, as the partners' messages, the API and
    FHIR answers do. Those that do are built by django-csp as before."""

    # (enforced setting, report-only setting, their headers, their excluded prefixes)
    _built: tuple[Any, Any, tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]] | None = None

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, name, None) is not None for name in _CSP_OWN_POLICY
        ):
            return super().process_response(request, response)
        if response.status_code in (500, 404) and settings.DEBUG:
            return response  # django-csp leaves Django's debug pages alone
        headers, excluded = self._settings_policy()
        for header, value, exempt, prefixes in (
            (HEADER, headers[0], "_csp_exempt", excluded[0]),
            (HEADER_REPORT_ONLY, headers[1], "_csp_exempt_ro", excluded[1]),
        ):
            if (
                value
                and header not in response
                and getattr(response, exempt, False) is False
                and not request.path_info.startswith(prefixes)
            ):
                response[header] = value
        # As django-csp: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response

    def _settings_policy(
        self,
    ) -> tuple[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]]:
        """The headers of the settings' policies, built again when a setting changes."""
        enforced = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        report_only = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
        built = self._built
        if built is None or built[0] is not enforced or built[1] is not report_only:
            built = (
                enforced,
                report_only,
                (build_policy(), build_policy(report_only=True)),
                (
                    tuple((enforced or {}).get("EXCLUDE_URL_PREFIXES", None) or ()),
                    tuple((report_only or {}).get("EXCLUDE_URL_PREFIXES", None) or ()),
                ),
            )
            self._built = built
        return built[2], built[3]
