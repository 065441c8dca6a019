"""The query parameters an ``/api/`` operation takes, and the one check of them.

An operation takes the query parameters its OpenAPI declaration names
(``extend_schema(parameters=...)``, published at ``/api/schema/``) and no
other: the partners read that contract, and the check is derived from it, so
the two never drift. A parameter the operation does not take is refused, never
read as "not given" — a filter silently dropped returns more than was asked
(``citizen=7`` on the coordinator's board answered with the whole board). A
parameter given twice is refused unless its declaration repeats it
(``many=True``, an array in the schema), never answered for its last value.
A parameter given with no value (``location=``) is refused too, never read
as "not given"; a view names the flags it takes with no value in
``query_flags``.

:class:`QueryGate` runs on every ``/api/`` view (``DEFAULT_THROTTLE_CLASSES``:
REST framework's last admission step, after the caller is known and their role
admitted, before the view reads anything). A view that must record a refused
request in its own words (the audit log's search, the analyses, the figures)
says so in ``query_refused``; it may raise its own refusal, never let the
request through. Views outside the schema (its own page) name what they take
in ``query_parameters``.

The request body of a write is held to its schema in the same step, from the
same reading of the schema (:mod:`core.body_gate`, decision 0033).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Set
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.settings import spectacular_settings
from rest_framework.throttling import BaseThrottle

from core.errors import InvalidInput, OwnText
from core.messages import GIVEN_A_VALUE

if TYPE_CHECKING:
    from rest_framework.request import Request

# REST framework reads ``format`` itself (content negotiation: JSON is the one
# there is, another is 404); it changes no answer's content.
FORMAT = "format"
NO_PARAMETER = _("no parameter")
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Takes:
    """The query parameters of one operation; ``repeats`` may be given more than once."""

    names: frozenset[str]
    repeats: frozenset[str] = frozenset()


_lock = threading.Lock()
_declared: dict[tuple[type, str], Takes] | None = None
# Each operation's request body (its JSON schema; ``None``: it declares none),
# by its route's view function and method: one view class may serve routes
# that take different bodies (a visit's steps). Read with the parameters.
_bodies: dict[tuple[Any, str], Any] = {}
# The schema's components, which a body's ``$ref`` names.
_components: dict[str, Any] = {}


def _from_schema() -> dict[tuple[type, str], Takes]:
    """Every operation's query parameters, by its view class and method, read
    from the OpenAPI description once per process."""
    # Named by the setting, not imported here: this module is loaded while
    # REST framework defines its base view, which the generator imports.
    generator = spectacular_settings.DEFAULT_GENERATOR_CLASS()
    # Its warnings are the schema's own, shown where it is built (make lint).
    with GENERATOR_STATS.silence():
        schema = generator.get_schema(request=None, public=True)
    _components.update(schema.get("components", {}).get("schemas", {}))
    declared: dict[tuple[type, str], Takes] = {}
    for path, _regex, method, callback in generator.endpoints:
        # The schema names a route's ``pk`` as the generator does
        # (``SCHEMA_COERCE_PATH_PK``: ``{pk}`` is ``{id}`` there).
        path = generator.coerce_path(path, method, generator.create_view(callback, method))
        operation = schema["paths"].get(path, {}).get(method.lower())
        if operation is None:
            continue
        query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
        content = operation.get("requestBody", {}).get("content", {})
        if not content or "application/json" in content:
            # A form-encoded door keeps its own standard's rule (OAuth 2.0's
            # token endpoints ignore a parameter they do not know, RFC 6749 3.2).
            _bodies[(callback, method.upper())] = content.get("application/json", {}).get("schema")
        takes = Takes(
            names=frozenset(p["name"] for p in query),
            repeats=frozenset(
                p["name"] for p in query if p.get("schema", {}).get("type") == "array"
            ),
        )
        key = (callback.cls, method.upper())
        before = declared.get(key)
        if before is not None:
            takes = Takes(before.names | takes.names, before.repeats | takes.repeats)
        declared[key] = takes
    return declared


def component(name: str) -> Any:
    """The schema component ``name`` (a ``$ref``'s last part)."""
    _read()
    return _components.get(name, {})


def _read() -> dict[tuple[type, str], Takes]:
    """What the schema declares, read on first use."""
    global _declared
    if _declared is None:
        with _lock:
            if _declared is None:
                _declared = _from_schema()
    return _declared


def operation_body(route: Any, method: str) -> tuple[bool, Any]:
    """Whether ``method`` on the route whose view function is ``route`` is an
    operation of the schema, and the JSON schema of the body it takes
    (``None``: it declares none, and so takes no field)."""
    _read()
    key = (route, method.upper())
    return key in _bodies, _bodies.get(key)


def operation_takes(view_class: type, method: str) -> Takes:
    """What ``method`` on ``view_class`` takes: its OpenAPI declaration, or the
    view's own ``query_parameters`` when it is no operation of the schema;
    nothing when neither says."""
    declared = _read()
    method = "GET" if method == "HEAD" else method
    takes = declared.get((view_class, method))
    if takes is None:
        takes = Takes(frozenset(getattr(view_class, "query_parameters", ())))
    return takes


def query_refuse_unlisted(
    query: QueryDict,
    known: Set[str],
    *,
    read: bool = False,
    write: bool = False,
    repeats: Set[str] = frozenset(),
    supported: Iterable[str] | None = None,
) -> None:
    """Refuse a parameter of ``query`` outside ``known`` (``search.param_unknown``;
    ``read.param_unknown`` where the operation takes none, a read;
    ``write.param_unknown`` on a write), and one given twice that is not in
    ``repeats`` (``search.param_repeated``, ``write.param_repeated``).
    ``supported`` names what the refusal offers (``known`` when not given)."""
    unknown = sorted(set(query) - known)
    if unknown:
        names = ", ".join(p[:30] for p in unknown)
        offered_names = sorted(known) if supported is None else list(supported)
        offered: Any = OwnText(", ".join(offered_names)) if offered_names else NO_PARAMETER
        field = unknown[0][:30]
        if write:
            raise InvalidInput(
                "write.param_unknown",
                f"This request takes no {names} in its address.",
                field=field,
                params={"names": names},
            )
        if read or not offered_names:
            raise InvalidInput(
                "read.param_unknown",
                f"A read takes no {names}.",
                field=field,
                params={"names": names, "supported": offered},
            )
        raise InvalidInput(
            "search.param_unknown",
            f"Unsupported parameter(s): {names}.",
            field=field,
            params={"names": names, "supported": offered},
        )
    repeated = sorted(p for p in query if p not in repeats and len(query.getlist(p)) > 1)
    if repeated:
        names = ", ".join(p[:30] for p in repeated)
        if write:
            raise InvalidInput(
                "write.param_repeated",
                f"{names} may be given only once here.",
                field=repeated[0][:30],
                params={"names": names},
            )
        raise InvalidInput(
            "search.param_repeated",
            f"{names} may be given only once in a search here.",
            field=repeated[0][:30],
            params={"names": names},
        )


def _serves(view: Any, method: str) -> bool:
    """Whether ``view`` has a handler for ``method`` (REST framework answers
    any other with 405)."""
    name = method.lower()
    return name in getattr(view, "http_method_names", ()) and hasattr(view, name)


def query_refusal(view: Any, request: Request) -> InvalidInput | None:
    """The refusal of ``request``'s query by ``view``'s operation, if any."""
    method = (request.method or "GET").upper()
    if not request.query_params or method == "OPTIONS":
        return None
    if not request.path_info.startswith(spectacular_settings.SCHEMA_PATH_PREFIX):
        # /fhir/ checks its own against the CapabilityStatement (decision 0021).
        return None
    if not _serves(view, method):
        # A method the view does not serve is answered 405 (its Allow header
        # says which it does), never a refusal of a query it would not read.
        return None
    takes = operation_takes(type(view), method)
    try:
        query_refuse_unlisted(
            request.query_params,
            takes.names | {FORMAT},
            write=method in _WRITES,
            repeats=takes.repeats,
            supported=sorted(takes.names),
        )
    except InvalidInput as refused:
        return refused
    return query_refuse_empty(request.query_params, flags=getattr(view, "query_flags", ()))


def query_refuse_empty(query: QueryDict, *, flags: Iterable[str] = ()) -> InvalidInput | None:
    """The refusal of a parameter given with no value (``location=``, or only
    blanks), ``search.param_invalid`` as ``/fhir/`` refuses ``patient=``: the
    caller asked for something, and read as "not given" the answer holds more
    than was asked (``location=`` answered every location's stock). ``flags``
    are the view's parameters that are present with no value by design (the
    documentation page's ``?script=``)."""
    for name, values in query.lists():
        if name not in flags and any(not value.strip() for value in values):
            return InvalidInput(
                "search.param_invalid",
                f"{name[:30]} needs a value.",
                field=name[:30],
                params={"name": name[:30], "expected": GIVEN_A_VALUE},
            )
    return None


class QueryGate(BaseThrottle):
    """Runs :func:`query_refusal` on every ``/api/`` request, in REST
    framework's admission step where throttles run (after authentication and
    permission, before the view): set once as ``DEFAULT_THROTTLE_CLASSES``, so
    a new endpoint is checked without asking for it."""

    def allow_request(self, request: Request, view: Any) -> bool:
        refused = query_refusal(view, request)
        if refused is None:
            # Named here, not imported above: the body gate reads the refusals'
            # record, which needs the models this module is loaded before.
            from core.body_gate import body_check

            body_check(view, request)
            return True
        own = getattr(view, "query_refused", None)
        if own is not None:
            # The view records the refusal, or raises one of its own.
            own(request, refused)
        raise refused
