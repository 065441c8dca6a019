"""Refused for a role, recorded all the same (R9).

A member of staff or a system refused by an ``/api/`` endpoint's role (or a
system by its scopes) made an attempt on the citizen the request names. Every
permission refusal on ``/api/`` passes REST framework's exception handler, so
the handler REST framework is given is the one here: it records the refusal,
then answers as :func:`core.exception_handler.handle_exception` does. An
endpoint says what its object is with :class:`Concerns`; ``/fhir/``'s base
view records its own refusals (``core.fhir.views.FHIRView.permission_denied``).

A page says the same with ``@page(..., concerns=Concerns(...))``, and the one
gate of the pages (``core.middleware.PageAccessMiddleware``) records a role it
refuses there through :func:`page_refusal_record`, just as here.

A request the input checks refuse (:mod:`core.boundary`: its query string,
form or JSON body) is recorded the same way, with the refusal's code, by
:func:`input_refusal_record`: from the door for a query or form
(``core.input_refusals``), from the exception handler here for a body
refused as it is read (decision 0036).

The refusal stands whether or not its entry could be written: a failure to
record it is logged, never answered with a 500 in place of the refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.http import HttpRequest
from rest_framework import exceptions as drf
from rest_framework.request import Request
from rest_framework.response import Response

from core.boundary import body_named, body_refusal_of
from core.cpr import normalise_cpr
from core.errors import InvalidInput
from core.exception_handler import handle_exception as answer_exception
from core.fhir.gate import current_gate
from core.models import Citizen
from core.permissions import actor_from_request, system_scopes_admit

# What the audit log calls an attempt, by its HTTP method.
_ACTION_BY_METHOD = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}
_LARGEST_ID = 2**63 - 1
# The code REST framework's ParseError is answered with (core.exception_handler).
PARSE_REFUSED = "request.malformed"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Concerns:
    """What an ``/api/`` endpoint's object is, and where a request names it, so
    that a role (or a system token) refused there is recorded as an attempt on
    the citizen it names (R9): ``resource_type`` as the audit log names it;
    the id in the URL (``path``, a keyword of the route) or in the body
    (``body``, a field of its JSON object); ``model`` the table that id is in,
    whose ``citizen_field`` is the citizen (no model: the id is the citizen's
    own). A form that names the citizen by the CPR number typed into it
    (``cpr``, a field of the form) puts the attempt on her log by her
    internal id; the number itself is never recorded. A search that names
    the citizen by her internal id in its query string (``query``, a
    parameter such as the audit log's ``citizen``) puts the attempt on her
    log too. Read only when a request is refused, never on a permitted one."""

    resource_type: str
    model: type[models.Model] | None = None
    path: str = ""
    body: str = ""
    query: str = ""
    citizen_field: str = "citizen_id"
    cpr: str = ""
    purpose: str = "treatment"
    action: str = ""  # by the HTTP method unless the endpoint is one of its own

    def named_id(self, request: HttpRequest | Request, kwargs: Mapping[str, Any]) -> int | None:
        value: Any = kwargs.get(self.path) if self.path else None
        if self.body and value is None and isinstance(body := _body_of(request), dict):
            value = body.get(self.body)
        if self.cpr and value is None:
            value = _citizen_typed(request, self.cpr)
        if self.query and value is None:
            # Given twice it names no one citizen; the search is refused for that too.
            given = request.GET.getlist(self.query)
            value = given[0] if len(given) == 1 else None
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        return value if 0 < value <= _LARGEST_ID else None

    @property
    def names_by_search(self) -> bool:
        """Whether the citizen is named by what was searched for (a typed CPR
        number, a query's citizen) rather than by the id of an object."""
        return bool(self.cpr or self.query)

    def citizen_of(self, object_id: int) -> int | None:
        """The citizen of the object named, for the entry only: the refusal
        says the same whether or not there is one."""
        if self.model is None:
            return object_id
        found = (
            self.model._default_manager.filter(pk=object_id)
            .values_list(self.citizen_field, flat=True)
            .first()
        )
        return found if isinstance(found, int) else None


@dataclass(frozen=True)
class ByAction:
    """What a page (or endpoint) is about when one form does several things,
    told by the value of its ``field`` (a page's ``action`` button): each
    value's :class:`Concerns`, so that a role refused there is recorded as
    the door that does that one thing alone records it (a count page's
    ``approve`` moves stock as the API's approval does). A value not named
    concerns nothing of a citizen's or the stock's."""

    concerns: Mapping[str, Concerns]
    field: str = "action"

    def of(self, request: HttpRequest | Request) -> Concerns | None:
        body = _body_of(request)
        value = body.get(self.field) if isinstance(body, Mapping) else None
        return self.concerns.get(value) if isinstance(value, str) else None


def _citizen_typed(request: HttpRequest | Request, field: str) -> int | None:
    """The citizen the CPR number typed into a refused form's ``field`` names
    (spaces and a dash allowed, as the forms take it), if one is registered."""
    body = _body_of(request)
    raw = body.get(field) if isinstance(body, dict) else None
    if not isinstance(raw, str):
        return None
    try:
        number = normalise_cpr(raw.replace(" ", ""))
    except InvalidInput:
        return None
    return Citizen.objects.filter(cpr=number).values_list("pk", flat=True).first()


def _body_of(request: HttpRequest | Request) -> Any:
    """The refused request's body, if it is JSON (``/api/``) or a form (a
    page); anything else names nothing."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if not isinstance(request, Request):
        return request.POST
    return body_named(request)


def refusal_record(
    request: HttpRequest | Request,
    concerns: Concerns | ByAction | None,
    kwargs: Mapping[str, Any] | None,
    *,
    reason_code: str | None = None,
) -> None:
    """A member of staff or a system refused by a role (or, a system, by its
    scopes) made an attempt all the same: where what was asked concerns a
    citizen (its :class:`Concerns`) it is recorded as denied (R9), on the
    citizen the request names when there is one. An unauthenticated caller is
    no actor and leaves no entry.

    The refusal stands whatever happens here: an entry that cannot be written
    (the audit log unreachable, a value it cannot hold) is logged and the
    caller is refused all the same, never answered with a 500 that would hide
    the refusal. ``reason_code`` names a refusal other than the role's or the
    scopes'. Written in a savepoint, so a failed write leaves the
    request's transaction usable for the refusal's answer."""
    if isinstance(concerns, ByAction):
        concerns = concerns.of(request)
    if not isinstance(concerns, Concerns):
        return
    actor = actor_from_request(request)
    if actor is None:
        return
    try:
        with transaction.atomic():
            object_id = concerns.named_id(request, kwargs or {})
            current_gate().refuse(
                actor=actor,
                action=concerns.action or _ACTION_BY_METHOD.get(request.method or "", "read"),
                purpose=concerns.purpose,
                resource_type=concerns.resource_type,
                # Named by a typed CPR number or a search's citizen, the id is
                # the citizen's, not the object's.
                resource_id=str(object_id)
                if object_id is not None and not concerns.names_by_search
                else "",
                reason_code=reason_code
                or ("role_not_permitted" if system_scopes_admit(request) else "scope_not_granted"),
                citizen_id=concerns.citizen_of(object_id) if object_id is not None else None,
            )
    except Exception:
        # Any failure: the caller is refused regardless, so nothing is served
        # unrecorded; the operators see the lost entry here (the traceback is
        # scrubbed of CPR-shaped text by the log's own filter).
        logger.exception(
            "A refused attempt (%s %s) could not be recorded in the audit log",
            concerns.resource_type,
            request.method,
        )


def input_refusal_record(
    request: HttpRequest | Request,
    view: Any,
    kwargs: Mapping[str, Any] | None,
    *,
    reason_code: str,
) -> None:
    """A request refused by the input checks (:mod:`core.boundary`: its query
    string, form or body), recorded as denied with the refusal's code (R9),
    on the citizen it names, as its door records a role it refuses: a
    ``/fhir/`` view by the resource and citizen its path, query or body names
    (``FHIRView.refusal_recorded``), an ``/api/`` endpoint or a page by what
    it says it concerns (:class:`Concerns`). The one path for both the checks
    before any view (``core.input_refusals``) and a body refused as it is read
    (:func:`handle_exception`). A caller nobody can name leaves no entry."""
    own = getattr(view, "refusal_recorded", None)
    if isinstance(request, Request) and callable(own):
        try:
            with transaction.atomic():
                own(request, reason_code)
        except Exception:
            logger.exception(
                "A refused attempt (%s %s) could not be recorded in the audit log",
                type(view).__name__,
                request.method,
            )
        return
    refusal_record(request, getattr(view, "concerns", None), kwargs, reason_code=reason_code)


def api_refusal_record(request: Request, view: Any) -> None:
    """A refusal on ``/api/``, recorded on what the endpoint concerns. The
    one place every permission refusal on ``/api/`` passes, the exception
    handler, calls this."""
    refusal_record(request, getattr(view, "concerns", None), getattr(view, "kwargs", None))


def page_refusal_record(
    request: HttpRequest, view: Any, kwargs: Mapping[str, Any], *, reason_code: str | None = None
) -> None:
    """A page refused to a role (or, with ``reason_code``, for another
    reason), recorded on what the page concerns (its
    ``@page(..., concerns=...)``). The one gate of the pages calls this."""
    refusal_record(request, getattr(view, "concerns", None), kwargs, reason_code=reason_code)


def handle_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    """REST framework's exception handler (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``)."""
    request = context.get("request")
    if (
        isinstance(exc, drf.PermissionDenied)
        and isinstance(request, Request)
        and request.path.startswith("/api/")
    ):
        api_refusal_record(request, context.get("view"))
    elif (
        isinstance(exc, InvalidInput)
        and isinstance(request, Request)
        and exc is body_refusal_of(request)
    ):
        # A body the input checks refused as it was read, on /api/ or /fhir/.
        view = context.get("view")
        input_refusal_record(request, view, getattr(view, "kwargs", None), reason_code=exc.code)
    elif isinstance(exc, drf.ParseError) and isinstance(request, Request):
        # A body or form a parser (or a view) could not read: refused as the
        # input checks refuse one, and recorded alike, on every door.
        view = context.get("view")
        input_refusal_record(
            request, view, getattr(view, "kwargs", None), reason_code=PARSE_REFUSED
        )
    return answer_exception(exc, context)
