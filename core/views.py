"""Health, login and logout, the start page, and the error pages."""

from __future__ import annotations

import base64
import time
from typing import Any

import segno
from django.conf import settings
from django.contrib.auth import login, logout
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFoundOrNotAllowed, PlatformError
from core.exception_handler import error_response
from core.health import health_report
from core.models import Membership, Role, User
from core.permissions import (
    Public,
    actor_from_request,
    page,
    public_page,
    session_membership_set,
)
from core.services import (
    login_verify,
    membership_choose,
    second_factor_required,
    second_factor_verify,
    totp_device_of,
    totp_enrol_confirm,
    totp_enrol_start,
)


@public_page
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


# Not an operation: whatever /api/ does not know answers 404 in the envelope.
@extend_schema(exclude=True)
class ApiNotFoundView(APIView):
    permission_classes = [Public]
    authentication_classes: list[Any] = []

    def dispatch_any(self, request: Request) -> Response:
        raise NotFoundOrNotAllowed()

    get = post = put = patch = delete = options = dispatch_any


# A password accepted, the second factor still to come: whom, in which role,
# where to after, and since when (the step must follow within a few minutes).
PENDING_LOGIN_KEY = "pending_login"
PENDING_LOGIN_SECONDS = 300


def _safe_next(next_url: str) -> str:
    if next_url.startswith("/") and not next_url.startswith("//"):
        return next_url
    return ""


def login_complete(
    request: HttpRequest, *, membership: Membership, next_url: str = ""
) -> HttpResponse:
    """Log the member of staff in, acting in ``membership``, and go on."""
    login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
    session_membership_set(request.session, membership)
    return redirect(_safe_next(next_url) or settings.LOGIN_REDIRECT_URL)


def identity_providers() -> list[tuple[str, str]]:
    """The configured identity providers as (name, title), for the login page."""
    return [(name, conf["title"]) for name, conf in settings.OIDC_PROVIDERS.items()]


@public_page
@never_cache
@require_http_methods(["GET", "POST"])
def login_page(request: HttpRequest) -> HttpResponse:
    error = error_code = ""
    status = 200
    if request.method == "POST":
        username = request.POST.get("username", "")[:150]
        password = request.POST.get("password", "")
        try:
            user = login_verify(
                username=username,
                password=password,
                client_address=request.META.get("REMOTE_ADDR"),
                complete=False,
            )
            membership = membership_choose(user=user)
        except PlatformError as exc:
            error, error_code = exc.message, exc.code
            status = 429 if exc.kind == "throttled" else 400
        else:
            next_url = request.POST.get("next") or ""
            if not second_factor_required(user=user):
                return login_complete(request, membership=membership, next_url=next_url)
            request.session.cycle_key()
            request.session[PENDING_LOGIN_KEY] = {
                "user": user.pk,
                "membership": membership.pk,
                "next": _safe_next(next_url),
                "at": time.time(),
            }
            if totp_device_of(user) is None:
                return redirect("login-code-enrol")
            return redirect("login-code")
    return render(
        request,
        "core/login.html",
        {
            "error": gettext(error) if error else "",
            "error_code": error_code,
            "next": request.GET.get("next", ""),
            "providers": identity_providers(),
        },
        status=status,
    )


def _pending_login(request: HttpRequest) -> tuple[User, Membership, str] | None:
    pending = request.session.get(PENDING_LOGIN_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_LOGIN_SECONDS:
        return None
    membership_id, user_id = pending.get("membership"), pending.get("user")
    if not isinstance(membership_id, int) or not isinstance(user_id, int):
        return None
    membership = (
        Membership.objects.select_related("user", "organisation")
        .filter(pk=membership_id, user_id=user_id, is_active=True)
        .first()
    )
    if membership is None or not membership.user.is_active:
        return None
    return membership.user, membership, pending.get("next", "")


@public_page
@never_cache
@require_http_methods(["GET", "POST"])
def login_code_page(request: HttpRequest) -> HttpResponse:
    """The second step of a password login: the code from the user's TOTP app."""
    pending = _pending_login(request)
    if pending is None:
        return redirect("login")
    user, membership, next_url = pending
    error = ""
    status = 200
    if request.method == "POST":
        try:
            device = second_factor_verify(
                user=user,
                code=request.POST.get("otp", "")[:16],
                client_address=request.META.get("REMOTE_ADDR"),
            )
        except PlatformError as exc:
            error = gettext(exc.message)
            status = 429 if exc.kind == "throttled" else 400
        else:
            del request.session[PENDING_LOGIN_KEY]
            response = login_complete(request, membership=membership, next_url=next_url)
            otp_login(request, device)
            return response
    return render(request, "core/login_code.html", {"error": error}, status=status)


@public_page
@never_cache
@require_http_methods(["GET", "POST"])
def login_code_enrol_page(request: HttpRequest) -> HttpResponse:
    """First password login of a user without a code app: set one up (a QR
    code drawn here, no outside service), then show a code from it."""
    pending = _pending_login(request)
    if pending is None:
        return redirect("login")
    user, membership, next_url = pending
    if totp_device_of(user) is not None:
        return redirect("login-code")
    error = ""
    status = 200
    device = totp_device_of(user, confirmed=False)
    if request.method == "POST" and device is not None:
        try:
            device = totp_enrol_confirm(
                user=user,
                device_id=device.pk,
                code=request.POST.get("otp", "")[:16],
                client_address=request.META.get("REMOTE_ADDR"),
            )
        except PlatformError as exc:
            error = gettext(exc.message)
            status = 400
        else:
            del request.session[PENDING_LOGIN_KEY]
            response = login_complete(request, membership=membership, next_url=next_url)
            otp_login(request, device)
            return response
    if device is None:
        device = totp_enrol_start(user=user)
    secret = base64.b32encode(device.bin_key).decode()
    qr = segno.make(device.config_url, error="m").svg_inline(scale=5, title=gettext("QR code"))
    return render(
        request,
        "core/login_code_enrol.html",
        {"error": error, "qr": mark_safe(qr), "secret": secret},  # noqa: S308 - drawn by segno from our own URL
        status=status,
    )


@public_page
@require_http_methods(["POST"])
def logout_page(request: HttpRequest) -> HttpResponse:
    logout(request)
    response = redirect(settings.LOGOUT_REDIRECT_URL)
    # The shared tablet keeps nothing of her: the service worker and its cached
    # pages, the offline queue and drafts go (docs/decisions/0013).
    response["Clear-Site-Data"] = '"cache", "storage"'
    return response


@page()
def home(request: HttpRequest) -> HttpResponse:
    actor = actor_from_request(request)
    assert actor is not None  # the page decorator admits only staff acting in a role
    memberships = Membership.objects.filter(user=actor.user, is_active=True).select_related(
        "organisation"
    )
    return render(request, "core/home.html", {"actor": actor, "memberships": memberships})


HELP_ROLES = frozenset(Role.values) - {Role.ADMINISTRATOR}


@page()
@require_http_methods(["GET"])
def help_page(request: HttpRequest) -> HttpResponse:
    """Help for the role the user acts in: its main tasks, step by step, with
    a link to the page where each is done."""
    actor = actor_from_request(request)
    assert actor is not None
    role = actor.role if actor.role in HELP_ROLES else "general"
    return render(
        request, "core/help.html", {"actor": actor, "help_template": f"core/help/{role}.html"}
    )


def _error(request: HttpRequest, status: int, kind: str, code: str, message: str) -> HttpResponse:
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
        return _error(
            request,
            413,
            "too_large",
            "request.too_large",
            gettext_noop("The request is too large."),
        )
    return _error(
        request,
        400,
        "invalid",
        "request.invalid",
        gettext_noop("The request could not be understood."),
    )


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403, "forbidden", "forbidden", gettext_noop("Not allowed."))


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, "not_found", "not_found", gettext_noop("No such page or resource."))


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
    return _error(
        request,
        500,
        "exception",
        "server.error",
        gettext_noop("Something went wrong on our side; it has been logged."),
    )
