"""The sign-in pages of a password login (password, the code from a code
app or setting one up, the role to act in), the role switch, the logout and
the check an idle page makes of its session. A sign-in through an identity
provider is in ``portal.signin``."""

from __future__ import annotations

import base64
import time

import segno
from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.catchment import withdrawn_municipality
from core.cpr import cpr_in_text
from core.errors import STATUS_BY_KIND, InvalidInput, PlatformError
from core.models import Membership, User
from core.permissions import actor_from_request, page, public_page, serves, session_membership_set
from core.services.login import login_verify
from core.services.memberships import membership_choose, memberships_to_act_in
from core.services.second_factor import (
    second_factor_required,
    second_factor_verify,
    totp_device_of,
    totp_enrol_confirm,
    totp_enrol_start,
)
from core.services.signals import password_login_succeeded
from core.views.errors import error_page

# A password accepted, the second factor still to come: whom, in which role,
# where to after, and since when (the step must follow within a few minutes).
PENDING_LOGIN_KEY = "pending_login"
PENDING_LOGIN_SECONDS = 300


def safe_next(next_url: str) -> str:
    """``next_url`` when it is a path on this platform, else "": never another
    host, whichever way a browser reads it (``//host``, ``/\\host``, a tab or
    a scheme), so a login link cannot send her elsewhere; and never one
    holding something shaped like a CPR number (docs/decisions/0002), which
    the redirect after the login would put in a URL."""
    if (
        next_url.startswith("/")
        and url_has_allowed_host_and_scheme(next_url, allowed_hosts=None)
        and not cpr_in_text(next_url)
    ):
        return next_url
    return ""


def login_complete(
    request: HttpRequest, *, membership: Membership, next_url: str = ""
) -> HttpResponse:
    """Log the member of staff in, acting in ``membership``, and go on."""
    login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
    session_membership_set(request.session, membership)
    return redirect(safe_next(next_url) or settings.LOGIN_REDIRECT_URL)


def password_login_complete(
    request: HttpRequest,
    *,
    membership: Membership,
    device: TOTPDevice | None,
    next_url: str = "",
) -> HttpResponse:
    """A password login (with its code) done on the pages: in the audit log as
    a sign-in, as one through an identity provider is, and then logged in. No
    session without its entry: when the log cannot take it, she is told so and
    stays logged out."""
    try:
        password_login_succeeded.send(
            sender=None,
            membership=membership,
            door="page",
            client_address=request.META.get("REMOTE_ADDR"),
        )
    except PlatformError as exc:
        return error_page(request, STATUS_BY_KIND[exc.kind], exc.kind, exc.code, exc.message)
    response = login_complete(request, membership=membership, next_url=next_url)
    if device is not None:
        otp_login(request, device)
    return response


def identity_providers() -> list[tuple[str, str]]:
    """The configured identity providers as (name, title), for the login page."""
    return [(name, conf["title"]) for name, conf in settings.OIDC_PROVIDERS.items()]


def _membership_to_act_in(user: User, *, client_address: str | None) -> Membership | None:
    """The membership a page login acts in: the default or the only one;
    None when the user has several and none is the default (she chooses
    after the code, :func:`login_role_page`)."""
    try:
        return membership_choose(user=user, client_address=client_address)
    except InvalidInput as exc:
        if exc.code == "auth.membership_required":
            return None
        raise


@public_page
@never_cache
@serves("GET", "POST")
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
            membership = _membership_to_act_in(user, client_address=request.META.get("REMOTE_ADDR"))
        except PlatformError as exc:
            error, error_code = exc.message, exc.code
            status = {"throttled": 429, "forbidden": 403}.get(exc.kind, 400)
        else:
            next_url = request.POST.get("next") or ""
            if membership is not None and not second_factor_required(user=user):
                return password_login_complete(
                    request, membership=membership, device=None, next_url=next_url
                )
            request.session.cycle_key()
            request.session[PENDING_LOGIN_KEY] = {
                "user": user.pk,
                # None: several roles, none the default; chosen after the code.
                "membership": membership.pk if membership is not None else None,
                "next": safe_next(next_url),
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
            # A refused attempt keeps where she was going.
            "next": safe_next(request.POST.get("next") or request.GET.get("next") or ""),
            "providers": identity_providers(),
        },
        status=status,
    )


def _pending_login(request: HttpRequest) -> tuple[User, Membership | None, str] | None:
    """The login under way: its user, the membership it will act in (None
    while a user of several roles is still to choose one) and where to after.
    Read again at every step: a user or membership switched off or past its
    end meanwhile ends it."""
    pending = request.session.get(PENDING_LOGIN_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_LOGIN_SECONDS:
        return None
    membership_id, user_id = pending.get("membership"), pending.get("user")
    if not isinstance(user_id, int) or not (
        membership_id is None or isinstance(membership_id, int)
    ):
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    membership = None
    if membership_id is not None:
        membership = (
            Membership.objects.in_force()
            .select_related("user", "organisation")
            .filter(pk=membership_id, user=user)
            .first()
        )
        if membership is None or withdrawn_municipality(membership.organisation) is not None:
            return None
    return user, membership, pending.get("next", "")


def _second_factor_passed(
    request: HttpRequest, *, membership: Membership | None, device: TOTPDevice, next_url: str
) -> HttpResponse:
    """The code is right: log in, or, for a user of several roles with no
    default, go on to choose the role first (still not logged in)."""
    if membership is None:
        pending = dict(request.session[PENDING_LOGIN_KEY])
        pending.update(device=device.pk, at=time.time())
        request.session[PENDING_LOGIN_KEY] = pending
        return redirect("login-role")
    del request.session[PENDING_LOGIN_KEY]
    return password_login_complete(request, membership=membership, device=device, next_url=next_url)


def _membership_chosen(value: object, memberships: list[Membership]) -> Membership | None:
    """The one of ``memberships`` a form's ``membership`` names, else None."""
    text = value if isinstance(value, str) else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        return None
    return next((m for m in memberships if m.pk == int(text)), None)


def _memberships_in_force(user: User) -> list[Membership]:
    """The roles she may choose at sign-in or switch to (none of a
    municipality that has left the acute function)."""
    return memberships_to_act_in(user=user)


@public_page
@never_cache
@serves("GET", "POST")
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
            return _second_factor_passed(
                request, membership=membership, device=device, next_url=next_url
            )
    return render(request, "core/login_code.html", {"error": error}, status=status)


@public_page
@never_cache
@serves("GET", "POST")
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
            return _second_factor_passed(
                request, membership=membership, device=device, next_url=next_url
            )
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
@never_cache
@serves("GET", "POST")
def login_role_page(request: HttpRequest) -> HttpResponse:
    """The last step of a password login of a user with several roles and no
    default: the code is right; she chooses the organisation and role she
    acts in (one at a time; she can switch on the start page)."""
    pending = _pending_login(request)
    device_id = (request.session.get(PENDING_LOGIN_KEY) or {}).get("device")
    if pending is None or not isinstance(device_id, int):
        return redirect("login")
    user, _, next_url = pending
    device = TOTPDevice.objects.filter(pk=device_id, user=user, confirmed=True).first()
    memberships = _memberships_in_force(user)
    if device is None or not memberships:
        return redirect("login")
    error = ""
    status = 200
    if request.method == "POST":
        chosen = _membership_chosen(request.POST.get("membership"), memberships)
        if chosen is not None:
            del request.session[PENDING_LOGIN_KEY]
            return password_login_complete(
                request, membership=chosen, device=device, next_url=next_url
            )
        error = gettext("Choose one of your roles.")
        status = 400
    return render(
        request,
        "core/login_role.html",
        {"memberships": memberships, "error": error},
        status=status,
    )


@page()
@serves("POST")
def role_switch(request: HttpRequest) -> HttpResponse:
    """Act in another of her roles from now on: one in force, her own. The
    session's key is renewed, as at login."""
    actor = actor_from_request(request)
    assert actor is not None and actor.user is not None
    chosen = _membership_chosen(request.POST.get("membership"), _memberships_in_force(actor.user))
    if chosen is None:
        return error_page(
            request,
            400,
            "invalid",
            "auth.membership_unknown",
            gettext_noop("You have no such role at that organisation."),
        )
    request.session.cycle_key()
    session_membership_set(request.session, chosen)
    return redirect("home")


@public_page
@serves("POST")
def logout_page(request: HttpRequest) -> HttpResponse:
    logout(request)
    response = redirect(settings.LOGOUT_REDIRECT_URL)
    # The shared tablet keeps nothing of her: the service worker and its cached
    # pages, the offline queue and drafts go (docs/decisions/0013).
    response["Clear-Site-Data"] = '"cache", "storage"'
    return response


@page()
@never_cache
@serves("GET")
def session_state(request: HttpRequest) -> HttpResponse:
    """Whether the session still holds, for a page left untouched
    (``core/static/core/idle.js``): 204 while it does. The page asks as an
    automatic request (``X-Background``), which never keeps a session alive;
    an ended one is answered 401 with the login page's address, and an idle
    one is ended, and recorded, by this very request. Nothing of a citizen's
    is read."""
    return HttpResponse(status=204)
