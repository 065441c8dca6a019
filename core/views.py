"""Health, login and logout, the start page, and the error pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFoundOrNotAllowed, PlatformError
from core.exception_handler import error_response
from core.health import health_report
from core.models import Membership
from core.permissions import SESSION_MEMBERSHIP_KEY, Public, actor_from_request, page, public_page
from core.services import login_verify, membership_choose


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

    get = post = put = patch = delete = dispatch_any


@public_page
@never_cache
@require_http_methods(["GET", "POST"])
def login_page(request: HttpRequest) -> HttpResponse:
    error = ""
    status = 200
    if request.method == "POST":
        username = request.POST.get("username", "")[:150]
        password = request.POST.get("password", "")
        try:
            user = login_verify(
                username=username, password=password, client_address=request.META.get("REMOTE_ADDR")
            )
            membership = membership_choose(user=user)
        except PlatformError as exc:
            error = exc.message
            status = 429 if exc.kind == "throttled" else 400
        else:
            login(request, user)
            request.session[SESSION_MEMBERSHIP_KEY] = membership.pk
            next_url = request.POST.get("next") or ""
            if next_url.startswith("/") and not next_url.startswith("//"):
                return redirect(next_url)
            return redirect(settings.LOGIN_REDIRECT_URL)
    return render(
        request,
        "core/login.html",
        {"error": error, "next": request.GET.get("next", "")},
        status=status,
    )


@public_page
@require_http_methods(["POST"])
def logout_page(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


@page()
def home(request: HttpRequest) -> HttpResponse:
    actor = actor_from_request(request)
    assert actor is not None  # the page decorator admits only staff acting in a role
    memberships = Membership.objects.filter(user=actor.user, is_active=True).select_related(
        "organisation"
    )
    return render(request, "core/home.html", {"actor": actor, "memberships": memberships})


def _error(request: HttpRequest, status: int, kind: str, code: str, message: str) -> HttpResponse:
    # The envelope keeps the stable English message; the page speaks the user's language.
    return error_response(
        request,
        status,
        {"kind": kind, "code": code, "message": message},
        page_message=gettext(message),
    )


def error_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
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


def error_500(request: HttpRequest) -> HttpResponse:
    return _error(
        request,
        500,
        "exception",
        "server.error",
        gettext_noop("Something went wrong on our side; it has been logged."),
    )
