"""Role checks. Deny by default: a view that declares nothing refuses everyone.

API views declare ``permission_classes = [roles(Role.AUDITOR, ...)]`` or
``[Public]``; pages use the :func:`page` and :func:`public_page` decorators,
and :func:`serves` for the methods they take (GET and HEAD when none is
declared), enforced by ``core.middleware.PageAccessMiddleware``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from core.actors import Actor
from core.boundary import json_object_required
from core.models import ApiToken, Membership
from core.scopes import scopes_allow

if TYPE_CHECKING:
    from core.refusals import ByAction, Concerns

SESSION_MEMBERSHIP_KEY = "membership_id"
# The role and organisation the session was signed in to: a membership changed
# in place afterwards (in the admin) does not carry the session into its new
# role, just as it ends the tokens issued in the old one (Membership.save).
SESSION_ROLE_KEY = "membership_role"


def _role_of(membership: Membership) -> list[Any]:
    return [membership.role, membership.organisation_id]


def session_membership_set(session: Any, membership: Membership) -> None:
    """The session acts in ``membership``, in its role at its organisation as they are now."""
    session[SESSION_MEMBERSHIP_KEY] = membership.pk
    session[SESSION_ROLE_KEY] = _role_of(membership)


class DenyAll(BasePermission):
    """The default for every API view."""

    message = "This endpoint declares no access rule, so it refuses everyone."

    def has_permission(self, request: Request, view: Any) -> bool:
        return False


class Public(BasePermission):
    """Explicitly open: health, capability statement, login."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return True


def actor_from_request(request: HttpRequest | Request) -> Actor | None:
    """The actor behind a request: the token's membership, or the session's."""
    cached = getattr(request, "_tvaerakut_actor", None)
    if cached is not None:
        return cached
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    membership: Membership | None = None
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiToken):
        membership = auth.membership
    else:
        session = getattr(request, "session", None)
        membership_id = session.get(SESSION_MEMBERSHIP_KEY) if session is not None else None
        if session is not None and membership_id is not None:
            # Read again on every request: a membership switched off, past
            # its end, or its organisation deactivated (one by one or in bulk)
            # ends the session's role at once.
            membership = (
                Membership.objects.in_force()
                .select_related("organisation", "user")
                .filter(pk=membership_id, user=user)
                .first()
            )
            if membership is not None and session.get(SESSION_ROLE_KEY) != _role_of(membership):
                membership = None
    if membership is None or not membership.organisation.is_active:
        return None
    actor = Actor.for_membership(membership)
    request._tvaerakut_actor = actor  # type: ignore[union-attr]
    return actor


def system_scopes_admit(request: HttpRequest | Request) -> bool:
    """A system's token reaches only what its SMART scopes name, and only
    under ``/fhir/``; a person's token and a session are not limited here."""
    auth = getattr(request, "auth", None)
    if not isinstance(auth, ApiToken) or auth.system_client_id is None:
        return True
    return scopes_allow(auth.scopes, method=request.method or "", path=request.path)


def body_read_if_sent(request: Request) -> None:
    """The body of a write is read once its caller is admitted, whether or not
    the view takes one: malformed JSON or JSON that is no object is refused
    (400) and another media type too (415), never ignored while the write goes
    ahead. A refused token or role is answered first, as everywhere. ``/fhir/``
    reads every body itself, after its own checks of the URL (its one base view)."""
    if not request.path.startswith("/api/"):
        return
    if request.method in ("GET", "HEAD", "OPTIONS") or request.stream is None:
        return
    json_object_required(request.data)


def roles(*allowed: str) -> type[BasePermission]:
    """A permission class admitting only actors currently in one of ``allowed``."""
    if not allowed:
        raise ValueError("roles() needs at least one role; use DenyAll to refuse everyone.")

    class HasRole(BasePermission):
        message = "Your role may not use this endpoint."
        allowed_roles = frozenset(allowed)

        def has_permission(self, request: Request, view: Any) -> bool:
            actor = actor_from_request(request)
            if actor is None or actor.role not in self.allowed_roles:
                return False
            if not system_scopes_admit(request):
                return False
            body_read_if_sent(request)
            return True

    HasRole.__name__ = "HasRole_" + "_".join(sorted(allowed))
    return HasRole


def per_method(**by_method: type[BasePermission]) -> type[BasePermission]:
    """One view, different roles per HTTP method. ``HEAD`` is judged as ``GET``
    (it runs the same read). A method the view serves but does not name here is
    refused. A method it does not serve at all (``OPTIONS``, ``PATCH`` …) is
    ``405 request.method_not_allowed`` for a caller one of its methods admits,
    as on every other endpoint, never "your role may not use this endpoint";
    anyone else is refused as before."""

    class ByMethod(BasePermission):
        message = "Your role may not use this endpoint."
        # Read by the OpenAPI description to name who may call each method.
        permission_by_method = by_method

        def has_permission(self, request: Request, view: Any) -> bool:
            method = request.method or ""
            if method == "HEAD":
                method = "GET"
            allowed = by_method.get(method)
            if allowed is not None:
                return allowed().has_permission(request, view)
            served = method != "OPTIONS" and hasattr(view, method.lower())
            if served:
                return False
            return any(each().has_permission(request, view) for each in by_method.values())

    return ByMethod


ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


def public_page(view: ViewFunc) -> ViewFunc:
    view.page_access = "public"  # type: ignore[attr-defined]
    return view


# What a page view that declares no methods serves: it is read, never sent.
READ_METHODS = frozenset({"GET", "HEAD"})


def serves(*methods: str, plain: bool = False) -> Callable[[ViewFunc], ViewFunc]:
    """The HTTP methods a page view serves; ``PageAccessMiddleware`` answers
    any other with 405 and an ``Allow`` naming these, before the view runs.
    A page served to GET is served to HEAD too. A view that declares none
    serves GET and HEAD only: a page that shows is never answered a POST as
    if it were read. ``plain``: the 405 is plain text, for an address read
    by a program (a monitor), not the platform's page."""
    declared = frozenset(methods)
    if not declared or not declared <= {"GET", "POST"}:
        raise ValueError("a page serves GET, POST or both")
    served = declared | ({"HEAD"} if "GET" in declared else set())

    def declare(view: ViewFunc) -> ViewFunc:
        view.page_methods = served  # type: ignore[attr-defined]
        view.page_refusal_plain = plain  # type: ignore[attr-defined]
        if plain and "POST" not in declared:
            # A program that reads the address sends no CSRF token, and a
            # view that takes no form has nothing to protect: its answer to a
            # POST is the 405, not the browser's CSRF page.
            view.csrf_exempt = True  # type: ignore[attr-defined]
        return view

    return declare


def page_methods(view: Any) -> frozenset[str]:
    """The methods page view ``view`` serves (:func:`serves`)."""
    declared: frozenset[str] = getattr(view, "page_methods", READ_METHODS)
    return declared


def page(
    *allowed: str, concerns: Concerns | ByAction | None = None
) -> Callable[[ViewFunc], ViewFunc]:
    """Mark a page view as open to the given roles; the middleware enforces it.
    With no roles: any logged-in member of staff.

    ``concerns`` (a :class:`core.refusals.Concerns`) says what a page whose
    URL (or form) names an object of a citizen's is about, so that a role the
    middleware refuses there is recorded as a denied attempt on that citizen
    (R9), as on ``/api/``. A form that does several things names each
    action's with a :class:`core.refusals.ByAction`."""

    def decorate(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return view(request, *args, **kwargs)

        wrapper.page_access = frozenset(allowed) if allowed else "staff"  # type: ignore[attr-defined]
        wrapper.concerns = concerns  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
