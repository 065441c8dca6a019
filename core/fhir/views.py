"""Shared FHIR HTTP plumbing: the base view every ``/fhir/`` endpoint stands on,
and searchset Bundles with their paging. The server-level endpoints (metadata,
history, paths nothing serves) are in ``core.fhir.endpoints``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NoReturn
from urllib.parse import urlencode

from django.http import HttpResponseNotModified, QueryDict
from django.utils.http import http_date, parse_etags, parse_http_date_safe
from django.utils.translation import gettext
from rest_framework.exceptions import (
    APIException,
    MethodNotAllowed,
    NotAcceptable,
    UnsupportedMediaType,
)
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.boundary import cpr_in_query
from core.errors import InvalidInput, NotSupported, PlatformError, PreconditionFailed
from core.fhir.gate import CitizensNamed, current_gate
from core.fhir.outcome import operation_outcome
from core.fhir.purpose import recorded_purpose
from core.fhir.renderers import (
    FHIR_JSON,
    FHIRJSONParser,
    FHIRJSONRenderer,
    PlainJSONAlsoFHIRParser,
    PlainJSONAlsoFHIRRenderer,
)
from core.messages import GIVEN_A_VALUE, ONE_OF, WHOLE_NUMBER
from core.permissions import actor_from_request, system_scopes_admit
from core.renderers import answered_media_type
from core.times import read_moment
from core.validation import is_digits, row_id_text

DEFAULT_PAGE_SIZE = 20
# A FHIR id (R4: [A-Za-z0-9\-\.]{1,64}); anything else is recorded as asked for
# no id, so the audit log never keeps what a client typed into the URL.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# The type and id a refused request's path names, for the audit log.
_TYPE_AND_ID = re.compile(r"^/fhir/(?P<type>[A-Z][A-Za-z]{1,63})(?:/(?P<id>[^/]*))?")
# What the audit log calls an attempt, by its HTTP method.
ACTION_BY_METHOD = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}
MAX_PAGE_SIZE = 200
# REST framework's refusals of a request's form, with the codes their answers
# carry (core.exception_handler), as the audit log records them. A body no
# parser reads (ParseError) is recorded with the input checks' refusals of a
# body, on every door (core.refusals.handle_exception), not here.
FORM_REFUSALS: tuple[tuple[type[APIException], str], ...] = (
    (MethodNotAllowed, "request.method_not_allowed"),
    (NotAcceptable, "request.not_acceptable"),
    (UnsupportedMediaType, "request.unsupported_media_type"),
)


_BODY_EMPTY = "The request body is empty; a FHIR JSON resource was expected."
_FORMAT_NOT_SERVED = "The platform answers in FHIR JSON: _format is json or application/fhir+json."
_CONDITIONAL_CREATE = (
    "Conditional create (If-None-Exist) is not supported; nothing was created."
    " Search first, then create."
)
_IF_NONE_MATCH_ON_WRITE = (
    "If-None-Match is not served on a create or an update; nothing was written."
    " An update names the version it replaces with If-Match."
)
_IF_MATCH_ON_POST = (
    "If-Match names the version an update (PUT) replaces; a POST replaces none."
    " Nothing was written."
)
_VERSION_NOT_SERVED = "The platform answers in FHIR R4 (fhirVersion=4.0)."
_BODY_NOT_READ = "A body is read as FHIR R4 JSON in UTF-8 (charset=utf-8, fhirVersion=4.0)."


def _media_params(item: str) -> dict[str, str] | None:
    """The parameters of one media range (lower-case names), or None when it
    names no JSON type (an XML or HTML range in the same Accept header)."""
    kind, *params = item.split(";")
    if kind.strip() and "json" not in kind.lower() and kind.strip() != "*/*":
        return None
    found: dict[str, str] = {}
    for param in params:
        name, _, value = param.partition("=")
        found[name.strip().lower()] = value.strip().strip('"')
    return found


def _is_r4(version: str) -> bool:
    return version == "4.0" or version.startswith("4.0.")


# FHIR's Prefer: return=… on a create or update (http.html#ops).
PREFER_RETURN = re.compile(r'(?:^|[,;\s])return\s*=\s*"?([A-Za-z]+)')


# Answers to a POST that are no resource the request wrote.
NOT_A_WRITTEN_RESOURCE = ("Bundle", "OperationOutcome", "Parameters")


class FHIRView(APIView):
    """Base of every ``/fhir/`` endpoint. Subclasses must still declare
    ``permission_classes``; the default refuses everyone."""

    renderer_classes = [FHIRJSONRenderer, PlainJSONAlsoFHIRRenderer]
    parser_classes = [FHIRJSONParser, PlainJSONAlsoFHIRParser]
    # FHIR has no OPTIONS interaction (what is served is /fhir/metadata): 405,
    # not REST framework's description of the view in a body that is no FHIR
    # resource.
    metadata_class = None
    # A POST or PUT here carries a FHIR JSON body (REST framework hands an
    # empty one to no parser, and the view would judge an empty resource).
    body_required = True
    # The methods whose handler checks ``_pretty`` itself (with the rest of
    # its query); on every other method the base refuses a value it does not take.
    checks_pretty_itself: frozenset[str] = frozenset()

    def permission_denied(
        self, request: Request, message: str | None = None, code: str | None = None
    ) -> NoReturn:
        """A member of staff or a system refused by the endpoint's role, or a
        system by its scopes, made an attempt on the shared record all the
        same: it is recorded (R9), on the citizen it names, before the refusal
        is answered. A caller with no actor is refused as unauthenticated."""
        self.refusal_recorded(
            request,
            "role_not_permitted" if system_scopes_admit(request) else "scope_not_granted",
        )
        super().permission_denied(request, message, code)

    def refusal_recorded(self, request: Request, reason_code: str) -> None:
        """A refusal before the handler, of a member of staff or a system,
        recorded (R9) on the resource and citizen its path names; a caller
        with no actor has made no attempt anyone can be named for."""
        actor = actor_from_request(request)
        if actor is None:
            return
        found = _TYPE_AND_ID.match(request.path)
        # A path carrying a CPR number never gets here (core.cpr_in_url).
        resource_id = (found["id"] or "") if found else ""
        current_gate().refuse(
            actor=actor,
            action=self.attempted(request),
            purpose=recorded_purpose(request),
            resource_type=found["type"] if found else "",
            resource_id=resource_id if FHIR_ID.fullmatch(resource_id) else "",
            reason_code=reason_code,
            citizen_id=self.citizen_refused(request),
        )

    def attempted(self, request: Request) -> str:
        """What the audit log calls the request, by its HTTP method; a POST
        to ``[type]/_search`` is a search, served there or not."""
        if request.method == "POST" and request.path.rstrip("/").endswith("/_search"):
            return "search"
        return ACTION_BY_METHOD.get(request.method or "", "read")

    def citizen_refused(self, request: Request) -> CitizensNamed:
        """The citizen a refused request names: the Patient its path is on
        (an endpoint whose body names several gives each, as a tuple)."""
        found = _TYPE_AND_ID.match(request.path)
        patient_id = found["id"] if found and found["type"] == "Patient" else None
        return row_id_text(patient_id) if patient_id else None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # A method the endpoint does not serve is a 405 before anything else
        # is asked of the request (a signature, a media type, a login).
        if not self._serves(request.method or ""):
            raise MethodNotAllowed(request.method or "")
        super().initial(request, *args, **kwargs)
        # FHIR's _format names the answer's format: JSON is the one there is,
        # as for an Accept header asking for XML (406).
        refuse_unserved_format(request.query_params.getlist("_format"))
        # _pretty is a FHIR boolean on every interaction (the statement, a
        # write, an operation too): ``_pretty=maybe`` is refused, never taken
        # for true or false. A read or search checks it with the rest of its
        # query, recording the refusal on the citizen it names.
        if (request.method or "") not in self.checks_pretty_itself:
            try:
                refuse_unserved_values(request.query_params, PRETTY_VALUES)
            except InvalidInput as invalid:
                raise self.param_refused(request, invalid) from None
        # The answer is FHIR R4: an Accept header asking only for another
        # version (application/fhir+json; fhirVersion=3.0) is not served.
        accepted = [_media_params(item) for item in request.META.get("HTTP_ACCEPT", "").split(",")]
        versions = [params.get("fhirversion") for params in accepted if params is not None]
        if versions and all(v is not None and not _is_r4(v) for v in versions):
            raise NotAcceptable(_VERSION_NOT_SERVED)
        # A body is read as UTF-8 FHIR R4 JSON; another charset or version is
        # refused for what it is, not misread.
        sent = _media_params(request.META.get("CONTENT_TYPE", "")) or {}
        charset, version = sent.get("charset"), sent.get("fhirversion")
        if request.method in ("POST", "PUT") and (
            (charset is not None and charset.lower() not in ("utf-8", "utf8"))
            or (version is not None and not _is_r4(version))
        ):
            raise UnsupportedMediaType(request.META.get("CONTENT_TYPE", ""), _BODY_NOT_READ)
        # A CPR number never goes in a URL: whatever the view, a query string
        # holding one is refused before the view reads it (and echoes it in
        # a link), once the caller is known so that the attempt is recorded.
        # One in the path was refused before any view (core.cpr_in_url).
        refused = cpr_in_query(self.cpr_checked_query(request))
        if refused is not None:
            raise self.cpr_in_url(request, refused)
        if self._body_missing(request):
            raise self.param_refused(request, InvalidInput("request.malformed", _BODY_EMPTY))
        if request.method == "POST" and "HTTP_IF_NONE_EXIST" in request.META:
            # Ignored, a retried create would make a second copy of what the
            # client asked to be made once.
            raise self.param_refused(
                request,
                NotSupported(
                    "fhir.conditional_create_unsupported",
                    _CONDITIONAL_CREATE,
                    field="If-None-Exist",
                ),
            )
        if request.method == "POST" and "HTTP_IF_MATCH" in request.META:
            # FHIR's If-Match is a versioned update's (http.html#concurrency).
            # A POST names no current version for it to match, so the
            # precondition is false (RFC 9110 13.1.1): 412, not a create that
            # ignored the condition the client set.
            raise self.param_refused(
                request,
                PreconditionFailed("fhir.if_match_on_post", _IF_MATCH_ON_POST, field="If-Match"),
            )
        if request.method in ("POST", "PUT") and "HTTP_IF_NONE_MATCH" in request.META:
            # ``If-None-Match: *`` asks a PUT not to overwrite what exists;
            # ignored, it would overwrite it.
            raise self.param_refused(
                request,
                NotSupported(
                    "fhir.if_none_match_unsupported",
                    _IF_NONE_MATCH_ON_WRITE,
                    field="If-None-Match",
                ),
            )

    @property
    def allowed_methods(self) -> list[str]:
        """The ``Allow`` header names what is served: no OPTIONS where it is a 405."""
        return [m for m in super().allowed_methods if m != "OPTIONS" or self._serves(m)]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        _last_modified(response)
        response = _not_modified(request, response)
        return self._as_preferred(request, response)

    def _as_preferred(self, request: Request, response: Any) -> Any:
        """``Prefer: return=minimal`` leaves a created or updated resource out
        (its Location and ETag stay), ``return=OperationOutcome`` answers with
        one that says it was done; ``representation`` is the default."""
        if request.method not in ("POST", "PUT") or response.status_code not in (200, 201):
            return response
        data = getattr(response, "data", None)
        if not isinstance(data, dict) or data.get("resourceType") in NOT_A_WRITTEN_RESOURCE:
            return response  # a search, a transaction's or a message's answer
        match = PREFER_RETURN.search(request.META.get("HTTP_PREFER", ""))
        wanted = match.group(1).lower() if match else "representation"
        if wanted == "minimal":
            response.data = None
        elif wanted == "operationoutcome":
            response.data = operation_outcome(
                kind="informational",
                code="ok",
                message=gettext("Created.") if response.status_code == 201 else gettext("Updated."),
                severity="information",
            )
        return response

    def _body_missing(self, request: Request) -> bool:
        if not self.body_required or request.method not in ("POST", "PUT"):
            return False
        if not any(issubclass(p, FHIRJSONParser) for p in self.parser_classes):
            return False  # a form (POST _search) may be empty
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        return length <= 0

    def _serves(self, method: str) -> bool:
        name = method.lower()
        if name == "options":
            return self.metadata_class is not None
        return name in self.http_method_names and hasattr(self, name)

    def param_refused(self, request: Request, refused: PlatformError) -> PlatformError:
        """A query parameter or header refused before the handler: a member
        of staff's or a system's attempt is recorded as refused (R9), on the
        resource and citizen its path names."""
        self.refusal_recorded(request, refused.code)
        return refused

    def handle_exception(self, exc: Exception) -> Response:
        """REST framework's refusals of a request's form (a method not
        served, an answer in a format or version not served, a body in a media
        type not read) come before any handler could record them: a member of
        staff's or a system's attempt is recorded here (R9), on the resource
        and citizen its path names, as every other refusal of theirs is. A
        caller whose credentials are themselves refused names no one."""
        code = next((c for kind, c in FORM_REFUSALS if isinstance(exc, kind)), None)
        if code is not None:
            try:
                known = actor_from_request(self.request) is not None
            except (APIException, PlatformError):
                known = False
            if known:
                self.refusal_recorded(self.request, code)
        return super().handle_exception(exc)

    def cpr_checked_query(self, request: Request) -> QueryDict:
        """The query looked at for a CPR number: all of it, but for the values
        a resource type declares as its own counter ids (``counter_params``)."""
        return request.query_params

    def cpr_in_url(self, request: Request, refused: InvalidInput) -> PlatformError:
        """The error for a CPR number in the query string. A member of staff's
        attempt is recorded as refused (R9), naming no citizen."""
        actor = actor_from_request(request)
        if actor is not None:
            current_gate().refuse(
                actor=actor,
                action=self.attempted(request),
                purpose=recorded_purpose(request),
                resource_type="",
                resource_id="",
                reason_code="cpr_in_url",
            )
        return refused

    def fhir_response(
        self, data: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        # The format negotiated: application/json when Accept weighs FHIR JSON 0.
        media_type = answered_media_type(self.request, FHIR_JSON)
        return Response(data, status=status, headers=headers, content_type=media_type)


def refuse_unserved_format(values: list[str]) -> None:
    """FHIR's ``_format`` names the answer's format: JSON is the one there is,
    as for an Accept header asking for XML (406)."""
    if any("json" not in str(value).lower() for value in values):
        raise NotAcceptable(_FORMAT_NOT_SERVED)


def _last_modified(response: Any) -> None:
    """A resource read or written carries ``Last-Modified``, the same instant
    as its ``meta.lastUpdated`` (http.html#read), as its ETag is its versionId."""
    data = getattr(response, "data", None)
    if response.status_code not in (200, 201) or not isinstance(data, dict):
        return
    if data.get("resourceType") in NOT_A_WRITTEN_RESOURCE:
        return
    meta = data.get("meta")
    updated = meta.get("lastUpdated") if isinstance(meta, dict) else None
    if not isinstance(updated, str):
        return
    instant = read_moment(updated)
    if instant is not None and instant.tzinfo is not None:
        response["Last-Modified"] = http_date(instant.timestamp())


# What a 304 keeps of the 200 it stands for (RFC 9110 15.4.5).
_NOT_MODIFIED_KEEPS = ("ETag", "Last-Modified", "Cache-Control", "Vary", "Content-Location")


def _opaque(tag: str) -> str:
    return tag.strip().removeprefix("W/")


def _not_modified(request: Request, response: Any) -> Any:
    """A conditional read (http.html#cread, RFC 9110 13.1.2 and 13.1.3): a
    read or version read whose ETag the client names in ``If-None-Match``
    (compared weakly, ``*`` for any), or, without that header, whose
    ``Last-Modified`` is not after its ``If-Modified-Since``, is answered
    ``304 Not Modified`` with its validators and no body. Only a 200 is
    turned: the gate has let the reader at the resource and the read is
    recorded as any other (R9); a refusal or an unknown id stays what it
    was, so a precondition tells nobody what it could not read. Ignored, a
    client revalidating its copy fetched the whole resource every time."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    tag = response.get("ETag")
    modified = response.get("Last-Modified")
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        named = parse_etags(if_none_match)
        unchanged = tag is not None and (
            named == ["*"] or _opaque(tag) in {_opaque(t) for t in named}
        )
    else:
        since = parse_http_date_safe(request.META.get("HTTP_IF_MODIFIED_SINCE", ""))
        last = parse_http_date_safe(modified) if modified else None
        unchanged = since is not None and last is not None and last <= since
    if not unchanged:
        return response
    not_modified = HttpResponseNotModified()
    for header in _NOT_MODIFIED_KEEPS:
        if response.has_header(header):
            not_modified[header] = response[header]
    return not_modified


def base_url(request: Request) -> str:
    return request.build_absolute_uri("/fhir").rstrip("/")


# What a search takes beside its page, and the values each takes: the answer's
# form, which they never change (JSON is the format, a total given is exact),
# and a value outside them is refused, never taken for one of them.
RESULT_PARAM_VALUES: dict[str, tuple[str, ...]] = {
    "_pretty": ("true", "false"),
    "_total": ("none", "estimate", "accurate"),
    # fhirpy's count() sends _totalMethod=count.
    "_totalMethod": ("count",),
}


PRETTY_VALUES = {"_pretty": RESULT_PARAM_VALUES["_pretty"]}


def refuse_unserved_values(source: Any, served: Mapping[str, tuple[str, ...]]) -> None:
    """Every value of a parameter in ``served`` is one it lists: ``_pretty=maybe``
    is refused (400 ``search.param_invalid``), never read as true or false."""
    for name, allowed in served.items():
        values = source.getlist(name) if hasattr(source, "getlist") else [source.get(name)]
        for value in values:
            if value is not None and str(value) not in allowed:
                raise InvalidInput(
                    "search.param_invalid",
                    f"{name} must be one of {', '.join(allowed)}.",
                    field=name,
                    params={"name": name, "expected": ONE_OF, "allowed": ", ".join(allowed)},
                )


def paging_params(request: Request, query: Any = None) -> tuple[int, int]:
    """``_count`` and ``_offset`` from the query (or ``query``, e.g. a POST
    search's form), validated. ``_count=0`` asks for the total alone (FHIR's
    search summary): the Bundle then holds no entries, as ``_summary=count``
    does; ``_summary=false`` is the default (whole resources), and no other
    summary is served: refused, not answered with whole resources."""
    source = request.query_params if query is None else query
    for name in ("_count", "_offset", "_summary"):
        # Given with no value, as code= is refused: never read as the default.
        if source.get(name) is not None and not str(source.get(name)).strip():
            raise InvalidInput(
                "search.param_invalid",
                f"{name} needs a value.",
                field=name,
                params={"name": name, "expected": GIVEN_A_VALUE},
            )
    refuse_unserved_values(source, RESULT_PARAM_VALUES)
    summary = source.get("_summary")
    if summary not in (None, "count", "false"):
        raise InvalidInput(
            "search.param_invalid",
            "_summary must be one of count, false.",
            field="_summary",
            params={"name": "_summary", "expected": ONE_OF, "allowed": "count, false"},
        )

    def whole(name: str, default: int, minimum: int, maximum: int) -> int:
        raw = source.get(name)
        if raw is None:
            return default
        if not is_digits(raw):
            raise InvalidInput(
                "search.param_invalid",
                f"{name} must be a whole number.",
                field=name,
                params={"name": name, "expected": WHOLE_NUMBER},
            )
        return max(minimum, min(int(raw), maximum))

    count = whole("_count", DEFAULT_PAGE_SIZE, 0, MAX_PAGE_SIZE)
    return (0 if summary == "count" else count), whole("_offset", 0, 0, 10**9)


def searchset(
    request: Request,
    *,
    resource_path: str,
    resources: list[dict[str, Any]],
    total: int,
    count: int,
    offset: int,
    params: Mapping[str, str] | None = None,
    paged: bool = True,
) -> dict[str, Any]:
    """A searchset Bundle with ``self``/``first``/``previous``/``next`` links.

    An answer that is never paged (``paged=False``: ``$everything``, which
    takes no ``_count`` or ``_offset``) links ``self`` alone, without them,
    so that following it gives the same answer, not a refusal.

    ``total`` must count only what the caller may see: hidden records are
    never revealed, not even through totals. The links repeat every value of
    a repeated parameter (``date=ge…&date=lt…``): the next page of a range is
    the same range.
    """
    root = base_url(request)
    base = f"{root}/{resource_path}"
    source = request.query_params if params is None else params
    pairs: list[tuple[str, str]] = []
    for name, values in _all_values(source):
        if name == "_count":
            if not any(n == "_count" for n, _ in pairs):
                pairs.append(("_count", str(count)))
        elif name != "_offset":
            pairs.extend((name, str(value)) for value in values)
    if not any(n == "_count" for n, _ in pairs):
        pairs.append(("_count", str(count)))

    def link(relation: str, at: int) -> dict[str, str]:
        return {"relation": relation, "url": f"{base}?{urlencode([*pairs, ('_offset', str(at))])}"}

    if not paged:
        kept = [(n, v) for n, v in pairs if n != "_count"]
        self_url = f"{base}?{urlencode(kept)}" if kept else base
        links = [{"relation": "self", "url": self_url}]
    else:
        links = [link("self", offset), link("first", 0)]
    if paged and count and offset > 0:
        links.append(link("previous", max(0, offset - count)))
    if paged and count and offset + count < total:
        links.append(link("next", offset + count))
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
    }
    if resources:  # FHIR's JSON has no empty arrays
        bundle["entry"] = [
            {
                "fullUrl": f"{root}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ]
    return bundle


def _all_values(source: Mapping[str, Any]) -> list[tuple[str, list[Any]]]:
    if isinstance(source, QueryDict):
        return list(source.lists())
    return [(name, [value]) for name, value in source.items()]
