"""One gated base for every FHIR resource type that is read or searched.

A resource type declares only what is its own: the rows (:meth:`queryset`),
the mapping (:meth:`to_fhir`), the data category the gate decides on, the
search parameters (name, how each narrows the rows, which a search must
carry) and the roles that may ask (``readers``). The base gives the rest, the
same for every type:

- **read** ``GET /fhir/<Type>/<id>``: the id parsed, the row fetched, the gate
  asked for its citizen; an unknown id is recorded as a denied attempt and
  answered exactly as a refusal is — "not found" and "not allowed" look alike;
  a query parameter a read does not serve (``_summary=true``, ``_elements``,
  a misspelling) is refused and recorded (:func:`check_read_params`), never
  answered with the whole resource as if it were what was asked;
- **search** ``GET /fhir/<Type>?…`` (and ``POST /fhir/<Type>/_search`` where
  the type takes it): parameters checked (a missing required one is
  ``search.<name>_required``), ``_count``/``_offset`` validated and bounded,
  one gate decision for the citizen the search names, a searchset Bundle with
  paging links whose total counts only what the reader may see;
- **roles**: a role outside ``readers`` is refused (403) and the refusal is
  recorded (R9);
- **purpose of use**: the one the request states, or the one the caller's
  role exists for (:mod:`core.fhir.purpose`); a value that names no purpose
  is refused (400, reason ``purpose_unknown``), a purpose the role may not
  state too (403, reason ``purpose_not_permitted``), and the attempt recorded
  (R9) on the log of the citizen the request names;
- **the CapabilityStatement entry**: interactions and search parameters, from
  the same declaration that serves them (:func:`register`).

The gate and the audit log belong to ``consent``, above ``core``: the base
asks whatever gate is registered in :mod:`core.fhir.gate`, and with none it
refuses everything.

A type whose gate has a faster way than "fetch, then ask" (the shared
record's one-query read, a search across many citizens with the gate's bulk
form) overrides :meth:`FHIRResource.read` or :meth:`FHIRResource.search` and
asks its gate there; the steps around them (roles, ids, paging, the Bundle,
the statement) stay the base's.

One module, longer than most: the declaration and the views that serve it are
one contract, and every FHIR type of the platform stands on both.
"""

from __future__ import annotations

import builtins
import datetime as dt
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from django.urls import URLPattern, path, re_path
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from core.actors import Actor
from core.boundary import body_named, query_without
from core.cpr import cpr_in_text
from core.errors import Forbidden, InvalidInput, NotFoundOrNotAllowed, PlatformError
from core.fhir.capability import ResourceCapability, SearchParam, register_resource
from core.fhir.gate import CitizensNamed, current_gate, gate_registered
from core.fhir.purpose import (
    PURPOSE_NOT_PERMITTED,
    PURPOSE_UNKNOWN,
    recorded_purpose,
    request_purpose,
)
from core.fhir.search import Token, token
from core.fhir.views import (
    ACTION_BY_METHOD,
    FHIR_ID,
    RESULT_PARAM_VALUES,
    FHIRView,
    base_url,
    paging_params,
    refuse_unserved_format,
    refuse_unserved_values,
    searchset,
)
from core.messages import (
    GIVEN_A_VALUE,
    LIST_WITHOUT_EMPTY,
    NO_MODIFIER_TAKEN,
    ONE_OF,
    REFERENCE_OR_ID,
    either,
)
from core.models import Role
from core.permissions import actor_from_request, roles
from core.validation import row_id_text

# The gate's words for what is asked (as the audit log spells them).
READ, SEARCH = "read", "search"
# Parameters every search takes, besides its own: the page, and what clients
# add about the answer's form (``_pretty``, ``_total``, ``_totalMethod``),
# which change nothing (JSON is the format, a total is exact or left out).
# Each is declared in the statement from this one table, so that what a search
# takes and what the statement lists cannot part.
RESULT_PARAM_DECLARATIONS = (
    SearchParam("_count", "number", "Page size, 0 (the total alone) to 200 (default 20)."),
    SearchParam(
        "_offset", "number", "Where the page starts (default 0); the paging links carry it."
    ),
    SearchParam(
        "_summary",
        "token",
        "count (the total alone, as _count=0) or false; no other summary is served.",
    ),
    SearchParam("_format", "token", "json or application/fhir+json: the answer is FHIR JSON."),
    SearchParam("_pretty", "token", "true or false; the answer is the same."),
    SearchParam("_total", "token", "none, estimate or accurate; a total given is exact."),
    SearchParam("_totalMethod", "token", "count; a total given is counted."),
)
RESULT_PARAMS = tuple(p.name for p in RESULT_PARAM_DECLARATIONS)
# Of those, the ones whose repetition would leave the page size or start to a guess.
ONCE_ONLY_RESULT_PARAMS = ("_count", "_offset", "_summary")
# What a read (``GET /fhir/<Type>/<id>``), a version read and ``$everything``
# take in their query: ``_format`` (JSON, checked by every view) and
# ``_pretty``, which change nothing, and ``_summary=false``, the whole
# resource, which is the answer. Anything else (``_summary=true``,
# ``_elements``, a misspelling) is refused: ignored, the client would be given
# the whole resource as if it were what it asked for.
READ_PARAMS = ("_format", "_pretty")
READ_PARAM_VALUES = {"_pretty": RESULT_PARAM_VALUES["_pretty"]}
READ_SUMMARY_SERVED = "false"
READ_PARAMS_SERVED = "_format, _pretty, _summary=false"
# What every reference parameter takes besides its relative form (``local_references``).
ABSOLUTE_REFERENCE = (
    "Also as the absolute URL on this server's FHIR base; another server's URL is refused."
)
# The parameter types whose value is a comma-separated list, each member "or".
LIST_TYPES = frozenset({"token", "reference", "string"})
# Refusals of a search's parameters recorded by the code that refuses them.
RECORDED_WHERE_REFUSED = frozenset({"search.use_post", "request.cpr_in_url"})
# Every member of staff may ask; the resource's ``readers`` and the gate decide.
ANY_STAFF = roles(*Role.values)


@dataclass(frozen=True)
class Param:
    """A search parameter: its FHIR name and type, what the statement says of
    it, and how it narrows the rows (``narrow(queryset, value)``). A parameter
    that ``names_citizen`` (``patient``, ``subject``) is the one citizen the
    gate decides on; a type that overrides :meth:`FHIRResource.search` reads
    its parameters itself and leaves ``narrow`` out."""

    name: str
    type: str
    documentation: str = ""
    narrow: Callable[[QuerySet[Any], str], QuerySet[Any]] | None = None
    names_citizen: bool = False
    # Given more than once, the type applies every value ("and": ``date=ge…&date=lt…``
    # is a range). A parameter that does not say so reads one value, so a
    # repetition is refused rather than answered for one of its values.
    repeats: bool = False
    # A token parameter bound to a code set: the codes it takes and the system
    # they are in (``gender``: administrative-gender). Any other code, or
    # another system, is refused, never answered with an empty Bundle.
    codes: tuple[str, ...] = ()
    system: str | None = None


def statement_documentation(param: Param) -> str:
    """A parameter's documentation in the statement: a reference names the
    absolute form it takes too (``local_references``), and one bound to a
    code set names every code it takes (and their system), so that what the
    statement says it takes and what a search refuses cannot part."""
    text = param.documentation
    if param.type == "reference":
        return f"{text.rstrip('.')}. {ABSOLUTE_REFERENCE}".lstrip(". ")
    if not param.codes or all(re.search(rf"\b{re.escape(c)}\b", text) for c in param.codes):
        return text
    system = f" ({param.system})" if param.system and param.system not in text else ""
    return f"{text.rstrip('.')}. Takes {', '.join(param.codes)}{system}.".lstrip(". ")


@dataclass(frozen=True)
class Held:
    """A resource the platform holds, as a written Reference names it: whose
    record it is on (None: nobody's), and what the gate decides a read of it
    on, its category and the dates of its data."""

    citizen_id: int | None
    category: str = ""
    data_dates: tuple[dt.datetime, ...] = ()


@dataclass(frozen=True)
class Asked:
    """Who asks, why, and the request they asked with."""

    actor: Actor
    purpose: str
    request: Request
    # Parameters that came in a POST search's form body (never in the URL).
    body_params: frozenset[str] = frozenset()


@dataclass
class Found:
    """A page of a search. ``total`` counts only what the reader may see; with
    ``more`` it is left out of the Bundle (not counted) and the next link kept.
    ``link_params`` replaces the query the paging links repeat."""

    resources: list[dict[str, Any]]
    total: int
    more: bool = False
    link_params: dict[str, str] | None = None


def _as_lists(query: Mapping[str, Any]) -> list[tuple[str, list[Any]]]:
    return [(name, [value]) for name, value in query.items()]


def reference_id(raw: str, prefix: str, name: str) -> int:
    """``<prefix>/<id>`` or ``<id>`` as a row id
    (:func:`core.validation.row_id_text`); anything else is bad input. The
    value is read as sent, never trimmed: ``" 12 "`` is no id, as every
    other reader of an id refuses it (``int`` would read it as 12, and one
    type answered for citizen 12 where another refused)."""
    for head in (f"{prefix}/", ""):
        found = row_id_text(raw[len(head) :]) if raw.startswith(head) else None
        if found is not None:
            return found
    raise InvalidInput(
        "search.param_invalid",
        f"{name} must be {prefix}/<id> or <id>.",
        field=name,
        params={"name": name, "kind": prefix, "expected": REFERENCE_OR_ID},
    )


class FHIRResource:
    """A FHIR resource type served through the gate. Subclass, declare, and
    :func:`register` one instance when the app is ready."""

    type: str = ""
    # Ids are ``<id_prefix><row id>`` (``lab-7``, ``visit-3``); one type may be
    # served by several resources told apart by their prefix.
    id_prefix: str = ""
    category: str = ""
    readers: frozenset[str] = frozenset()
    readable: bool = True
    search_params: tuple[Param, ...] = ()
    # Alternatives, each a set of parameters a search must carry (see
    # ``ResourceCapability.required_search``).
    required: tuple[tuple[str, ...], ...] = ()
    # A parameter the type does not know (a modifier such as ``patient:not``, a
    # chain, ``_sort``, ``_include``) is refused on every type, whatever
    # ``Prefer: handling`` says: ignored, it would widen or change the answer
    # without the client knowing.
    refuse_unknown_params: bool = True
    # FHIR's POST [type]/_search (form body) beside GET, for every searchable type.
    search_by_post: bool = True
    # The parameters a POST search's form may carry a CPR number in (Patient's
    # ``identifier``); the type's search must then keep it out of its paging
    # links (``Found.link_params``). Anywhere else a CPR number is refused.
    cpr_params: frozenset[str] = frozenset()
    # Parameters whose value names one of this type's own entries by a counter
    # that reaches ten digits at national scale (the audit log's ``as-of``,
    # which its paging links carry): ``<Type>/<id>`` or ``<id>``, written as
    # ids are (no leading zero), is no CPR number, as such an id in the path
    # is none (ADR 0002). Any other value is looked at as every value is.
    counter_params: frozenset[str] = frozenset()
    # A search of a citizen the gate refuses: an empty Bundle, or "not found".
    refused_search_is_empty: bool = False
    order_by: tuple[str, ...] = ("pk",)
    # What the app serves beside read and search with views of its own, for the statement.
    more_interactions: tuple[str, ...] = ()
    operations: tuple[tuple[str, str], ...] = ()
    versioned: bool = False
    documentation: str = ""
    # Each id names a row of one citizen (``citizen_of``), so an attempt
    # refused before the gate decides (a role that may not ask, a purpose it
    # may not state) is recorded on her log (R9). A type whose rows are no
    # citizen's (the audit log's entries) says ``False``.
    ids_name_a_citizen: bool = True

    # --- what a type declares ---------------------------------------------------

    def queryset(self) -> QuerySet[Any]:
        raise NotImplementedError

    def to_fhir(self, obj: Any) -> dict[str, Any]:
        raise NotImplementedError

    def citizen_of(self, obj: Any) -> int:
        return int(obj.citizen_id)

    def citizen_in_body(self, body: Any) -> CitizensNamed:
        """The registered citizen a create's body names as it was sent (its
        ``subject``: a ``Patient/<id>`` or a CPR identifier), so that a create
        refused before it is written is on her log (R9). A CPR number is
        looked up, never recorded. A type whose body names no citizen the
        platform reads gives None."""
        return None

    def category_of(self, obj: Any) -> str:
        return self.category

    def data_dates(self, obj: Any) -> tuple[dt.datetime, ...]:
        return ()

    def purpose(self, request: Request) -> str:
        """The purpose of use the request states, or the one the caller's role
        exists for; raises :class:`InvalidInput` for a value that names none
        and :class:`Forbidden` for one the role may not state (the base
        records either refusal)."""
        return request_purpose(request)

    def headers(self, obj: Any, body: dict[str, Any]) -> dict[str, str]:
        return {}

    # --- read ---------------------------------------------------------------------

    @property
    def searchable(self) -> bool:
        return bool(self.search_params)

    def fhir_id(self, obj: Any) -> str:
        return f"{self.id_prefix}{obj.pk}"

    def row_id(self, resource_id: str) -> int | None:
        """The row an id names, or ``None`` when it can name none: ``Patient/07``
        is no Patient/7 (:func:`core.validation.row_id_text`)."""
        if not resource_id.startswith(self.id_prefix):
            return None
        return row_id_text(resource_id.removeprefix(self.id_prefix))

    @staticmethod
    def version_id(vid: str) -> int | None:
        """The version a ``_history/<vid>`` names, or ``None`` when it can
        name none: a version id is read as a resource id is, so ``_history/01``
        is no version 1, as ``Condition/01`` is no Condition/1
        (:func:`core.validation.row_id_text`)."""
        return row_id_text(vid)

    def held_each(self, resource_ids: Collection[str]) -> dict[str, Held]:
        """The resources ``resource_ids`` written References name, each as
        the gate would decide a read of it, in one query; an id this type
        holds no resource by is left out (``core.fhir.references``)."""
        pks = {rid: pk for rid in resource_ids if (pk := self.row_id(rid)) is not None}
        if not pks:
            return {}
        rows = {obj.pk: obj for obj in self.queryset().filter(pk__in=set(pks.values()))}
        found: dict[str, Held] = {}
        for rid, pk in pks.items():
            obj = rows.get(pk)
            if obj is None:
                continue
            found[rid] = (
                Held(self.citizen_of(obj), self.category_of(obj), self.data_dates(obj))
                if self.ids_name_a_citizen
                else Held(None)
            )
        return found

    def fetch(self, asked: Asked, pk: int) -> Any | None:
        return self.queryset().filter(pk=pk).first()

    def read(self, asked: Asked, resource_id: str) -> Any:
        """The row, if the gate lets the reader at its citizen."""
        pk = self.row_id(resource_id)
        obj = self.fetch(asked, pk) if pk is not None else None
        if obj is None:
            raise self.unknown(asked, READ, resource_id)
        current_gate().read(
            actor=asked.actor,
            citizen_id=self.citizen_of(obj),
            category=self.category_of(obj),
            purpose=asked.purpose,
            resource_type=self.type,
            resource_id=resource_id,
            data_dates=self.data_dates(obj),
        )
        return obj

    def refuse_cpr_in_url(
        self, *, actor: Actor, action: str, purpose: str, refused: InvalidInput
    ) -> PlatformError:
        """A CPR number came in the URL's query: the attempt is recorded as
        refused (R9), resolving nothing, and ``refused`` is the answer."""
        current_gate().refuse(
            actor=actor,
            action=action,
            purpose=purpose,
            resource_type=self.type,
            resource_id="",
            reason_code="cpr_in_url",
        )
        return refused

    def unknown(self, asked: Asked, action: str, resource_id: str) -> NotFoundOrNotAllowed:
        """Record an id that names nothing as a denied attempt (R9); the error
        to raise is the one a refusal gives."""
        current_gate().refuse(
            actor=asked.actor,
            action=action,
            purpose=asked.purpose,
            resource_type=self.type,
            resource_id=resource_id if FHIR_ID.fullmatch(resource_id) else "",
            reason_code="unknown_resource",
        )
        return NotFoundOrNotAllowed()

    # --- search -------------------------------------------------------------------

    def local_references(self, query: Any, base: str) -> Any:
        """``query`` with each value of a reference parameter that is an
        absolute URL on this server's FHIR base (``base``) read as the
        relative reference it names: R4 (search.html#reference) makes
        ``patient=http://<host>/fhir/Patient/7`` the same search as
        ``patient=Patient/7``, and a client that copies a ``fullUrl`` sends
        the first, which was refused as no reference. A reference to another
        server's resource names nothing held here and is refused by the
        parameter's own reading (and recorded, R9)."""
        names = [p.name for p in self.search_params if p.type == "reference"]
        prefix = f"{base.rstrip('/')}/"
        if not isinstance(query, QueryDict) or not any(
            str(value).startswith(prefix) for name in names for value in query.getlist(name)
        ):
            return query
        local = query.copy()
        for name in names:
            if name in local:
                local.setlist(name, [str(v).removeprefix(prefix) for v in local.getlist(name)])
        return local

    def check_params(self, asked: Asked, query: Mapping[str, Any]) -> None:
        """No CPR number outside ``cpr_params``, one citizen at most, the
        required parameters, then no parameter the type does not know."""
        self.check_no_cpr(query)
        self.check_one_citizen(query)
        known = {p.name for p in self.search_params} | set(RESULT_PARAMS)
        if self.refuse_unknown_params:
            # A modifier or chain first: "add patient=" would not be the answer.
            for name in sorted(set(query.keys()) - known):
                self.refuse_modifier_or_chain(name)
        # A required parameter given empty (``patient=``) is refused below for
        # what it is, a parameter with no value, as on every other type.
        if self.required and not any(
            all(query.get(name) is not None for name in combination)
            for combination in self.required
        ):
            first = self.required[0][0]
            combinations = ["&".join(f"{name}=…" for name in c) for c in self.required]
            raise InvalidInput(
                f"search.{first}_required",
                f"{self.type} is searched by {' or '.join(combinations)},"
                f" e.g. ?{first}=Patient/<id>.",
                field=first,
                params={"type": self.type, "alternatives": either(combinations)},
            )
        if self.refuse_unknown_params:
            unknown = sorted(set(query.keys()) - known)
            if unknown:
                raise InvalidInput(
                    "search.param_unknown",
                    f"Unsupported search parameter(s): {', '.join(p[:30] for p in unknown)}.",
                    field=unknown[0][:30],
                    params={
                        "names": ", ".join(p[:30] for p in unknown),
                        "supported": ", ".join(sorted(known)),
                    },
                )
        self.check_given_values(query)
        self.check_repeated(query)
        self.check_tokens(query)
        # Every value a parameter narrows the rows by is read here, as the
        # search reads it: one it cannot read (``encounter=Encounter/1``
        # where visits are ``visit-<n>``) is refused with the query's other
        # refusals and recorded (R9) on the citizen the search names, never
        # refused later, past the record, as if nobody had been asked about.
        if any(p.narrow is not None and query.get(p.name) for p in self.search_params):
            self.narrowed(query)

    def check_given_values(self, query: Mapping[str, Any]) -> None:
        """Every value of the type's own parameters names something: an empty
        one (``patient=``, ``code=``, or ``patient=1&patient=``) is refused, as
        Patient's parser refuses ``name=``. Passed over, ``patient=`` turned a
        search of one citizen into one across every citizen the reader may see.
        The parameters every search takes are held alike: ``_count=`` was
        read as the default page."""
        declared = {p.name for p in self.search_params} | set(RESULT_PARAMS)
        listed = {p.name for p in self.search_params if p.type in LIST_TYPES}
        values = query.lists() if isinstance(query, QueryDict) else _as_lists(query)
        for name, raws in values:
            if name in declared and any(not str(raw).strip() for raw in raws):
                raise InvalidInput(
                    "search.param_invalid",
                    f"{name} needs a value.",
                    field=name,
                    params={"name": name, "expected": GIVEN_A_VALUE},
                )
            # A list with an empty member (``code=I10,``, ``_id=,1``) was read
            # as its other members: the client's query, miswritten, answered
            # as if it were whole. ``name:exact`` is ``name``'s list too.
            head = name.partition(":")[0]
            if head in listed and any(
                not part.strip() for raw in raws if "," in str(raw) for part in str(raw).split(",")
            ):
                raise InvalidInput(
                    "search.param_invalid",
                    f"{head} has an empty value in its list.",
                    field=head,
                    params={"name": head, "expected": LIST_WITHOUT_EMPTY},
                )

    def is_counter(self, name: str, value: object) -> bool:
        """Whether ``value`` of ``name`` is one of the type's own counter ids
        (``counter_params``), not a CPR number."""
        return name in self.counter_params and bool(
            re.fullmatch(rf"(?:{re.escape(self.type)}/)?[1-9][0-9]*", str(value))
        )

    def without_counters(self, query: QueryDict) -> QueryDict:
        """``query`` less the values that are the type's own counter ids, for
        the look for a CPR number in a URL (:func:`core.boundary.cpr_in_query`)."""
        return query_without(query, self.counter_params, self.is_counter)

    def check_no_cpr(self, query: Mapping[str, Any]) -> None:
        """A POST search's form may carry what a URL may not, and its paging
        links repeat the form's values as a URL: a CPR number in a parameter
        not searched by one would reach every link (and the client's and
        proxies' logs), so it is refused, naming the parameter and never the
        number (ADR 0002). A URL's query was refused before (``cpr_in_query``)."""
        values = query.lists() if isinstance(query, QueryDict) else _as_lists(query)
        for name, raws in values:
            if name in self.cpr_params:
                continue
            raws = [raw for raw in raws if not self.is_counter(name, raw)]
            if cpr_in_text(str(name)) or any(cpr_in_text(str(raw)) for raw in raws):
                shown = "" if cpr_in_text(str(name)) else str(name)[:30]
                raise InvalidInput(
                    "search.cpr_not_searchable",
                    f"A CPR number is searched only as Patient's identifier; {shown or 'this'}"
                    " takes none: search by patient=Patient/<id>.",
                    field=shown or None,
                    params={"name": shown or "?"},
                )

    def check_tokens(self, query: Mapping[str, Any]) -> None:
        """Every value of a token parameter is one FHIR reads (``code``,
        ``system|code``, ``|code``, ``system|``; a comma is "or"): one with
        neither system nor code is refused here, for every type, before a
        type's own reading of it (:func:`core.fhir.search.token`). A parameter
        bound to a code set (``Param.codes``) takes its codes in its system
        only: ``gender=x`` matched no one and was answered with an empty
        Bundle, as if no citizen had been found."""
        for param in self.search_params:
            if param.type != "token":
                continue
            raws = query.getlist(param.name) if isinstance(query, QueryDict) else []
            if not isinstance(query, QueryDict) and query.get(param.name):
                raws = [query[param.name]]
            for raw in raws:
                for part in str(raw).split(","):
                    if part.strip():
                        self.check_code(param, token(param.name, part))

    @staticmethod
    def check_code(param: Param, asked: Token) -> None:
        """``asked`` is in ``param``'s code set, if it is bound to one."""
        if not param.codes:
            return
        in_system = asked.system in (None, "", param.system)
        if in_system and (asked.code is None or asked.code in param.codes):
            return
        allowed = ", ".join(param.codes)
        raise InvalidInput(
            "search.param_invalid",
            f"{param.name} must be one of {allowed}.",
            field=param.name,
            params={"name": param.name, "expected": ONE_OF, "allowed": allowed},
        )

    def refuse_search(self, asked: Asked, query: Mapping[str, Any], reason_code: str) -> None:
        """A search refused for its parameters is an attempt all the same
        (R9): recorded, on the log of the citizen it names, if any."""
        current_gate().refuse(
            actor=asked.actor,
            action=SEARCH,
            purpose=asked.purpose,
            resource_type=self.type,
            resource_id="",
            reason_code=reason_code[:64],
            citizen_id=self.citizen_named("", query),
        )

    def refuse_modifier_or_chain(self, name: str) -> None:
        """A declared parameter with a modifier (``code:not``, ``code:missing``,
        ``code:text``) or a chain (``subject.identifier``) is refused for what
        it is: none is served here, and each, ignored, would change the
        answer without the client knowing (search.html: a server SHALL
        reject a modifier it does not support)."""
        declared = {p.name: p for p in self.search_params}
        head, colon, modifier = name.partition(":")
        if colon and head in declared:
            raise InvalidInput(
                "search.modifier_unsupported",
                f"{head[:30]} takes no :{modifier[:20]} here"
                " (no modifier is supported on this parameter).",
                field=name[:40],
                params={"name": head[:30], "modifier": modifier[:20], "takes": NO_MODIFIER_TAKEN},
            )
        head, dot, _ = name.partition(".")
        if dot and head in declared and declared[head].type == "reference":
            raise InvalidInput(
                "search.chain_unsupported",
                f"Chained search ({name[:40]}) is not supported here;"
                f" give {head[:30]} as a reference (<type>/<id>).",
                field=name[:40],
                params={"name": name[:40], "param": head[:30]},
            )

    def check_repeated(self, query: Mapping[str, Any]) -> None:
        """A parameter given more than once that the type reads once is
        refused: answered with its last value, ``date=ge2024-01-01&date=lt…``
        lost its lower bound and ``code=A&code=B`` ("and") answered as
        ``code=B``, more than was asked, without the client knowing."""
        if not isinstance(query, QueryDict):
            return
        repeatable = {p.name for p in self.search_params if p.repeats or p.names_citizen}
        repeatable |= set(RESULT_PARAMS) - set(ONCE_ONLY_RESULT_PARAMS)
        repeated = sorted(
            name
            for name in query
            # Patient's own parser takes modifiers: ``name:exact`` is ``name``.
            if name.partition(":")[0] not in repeatable and len(query.getlist(name)) > 1
        )
        if repeated:
            names = ", ".join(name[:30] for name in repeated)
            raise InvalidInput(
                "search.param_repeated",
                f"{names} may be given only once in a search here.",
                field=repeated[0][:30],
                params={"names": names},
            )

    def check_one_citizen(self, query: Mapping[str, Any]) -> None:
        """A search names one citizen: ``patient`` and ``subject``, repeated
        or together, must name the same Patient. FHIR reads a repeated
        parameter as "and", which no row of two citizens meets; answering for
        one of them (the last given) would show one citizen's data as the
        answer about another's."""
        named: set[int] = set()
        for param in self.search_params:
            if not param.names_citizen:
                continue
            if isinstance(query, QueryDict):
                raws = query.getlist(param.name)
            else:
                raws = [query[param.name]] if query.get(param.name) else []
            for raw in raws:
                if not raw:
                    continue
                # Every value must name a Patient: one that names none is
                # refused, never passed over for another that does.
                named.add(reference_id(str(raw), "Patient", param.name))
        if len(named) > 1:
            raise InvalidInput(
                "search.patient_conflict",
                "A search names one citizen: patient and subject, repeated or together, "
                "must name the same Patient.",
                field="patient",
            )

    def citizen_named(self, resource_id: str, query: Mapping[str, Any] | None) -> CitizensNamed:
        """The citizen a request names, for recording an attempt refused
        before the gate decides (R9) on that citizen's log: the citizen of
        the row an id names (a lookup made only for such a refusal), or the
        patient a search names (a type whose search names several says so
        with a tuple)."""
        if resource_id and self.ids_name_a_citizen:
            pk = self.row_id(resource_id)
            obj = self.queryset().filter(pk=pk).first() if pk is not None else None
            return self.citizen_of(obj) if obj is not None else None
        if query is None:
            return None
        try:
            # A CPR number read as a Patient id names no citizen (not the one
            # whose row id it happens to be).
            self.check_no_cpr(query)
            return self.searched_citizen(query)
        except InvalidInput:
            return None

    def searched_citizen(self, query: Mapping[str, Any]) -> int | None:
        for param in self.search_params:
            raw = query.get(param.name) if param.names_citizen else None
            if raw:
                return reference_id(str(raw), "Patient", param.name)
        return None

    def narrowed(self, query: Mapping[str, Any]) -> QuerySet[Any]:
        rows = self.queryset()
        for param in self.search_params:
            raw = query.get(param.name)
            if param.narrow is not None and raw:
                rows = param.narrow(rows, str(raw))
        return rows

    def of_citizen(self, rows: QuerySet[Any], citizen: Any) -> QuerySet[Any]:
        return rows.filter(citizen_id=citizen.pk)

    def search(self, asked: Asked, query: Mapping[str, Any], count: int, offset: int) -> Found:
        """The rows of the one citizen the search names, after one gate decision."""
        citizen_id = self.searched_citizen(query)
        if citizen_id is None:  # only a type whose search names no citizen overrides this
            raise InvalidInput("search.patient_required", "Search by patient.", field="patient")
        rows = self.narrowed(query)
        citizen = current_gate().search(
            actor=asked.actor,
            citizen_id=citizen_id,
            category=self.category,
            purpose=asked.purpose,
            resource_type=self.type,
        )
        if citizen is None:
            if self.refused_search_is_empty:
                return Found([], 0)
            raise NotFoundOrNotAllowed()
        rows = self.of_citizen(rows, citizen)
        total = rows.count()
        page = rows.order_by(*self.order_by)[offset : offset + count] if total > offset else []
        return Found([self.to_fhir(obj) for obj in page], total)

    # --- the statement and the routes -----------------------------------------------

    def capability(self) -> ResourceCapability:
        interactions = [
            *(["read"] if self.readable else []),
            *(["search-type"] if self.searchable else []),
            *self.more_interactions,
        ]
        params = [
            SearchParam(p.name, p.type, statement_documentation(p)) for p in self.search_params
        ]
        if self.searchable:
            params.extend(RESULT_PARAM_DECLARATIONS)
        return ResourceCapability(
            type=self.type,
            interactions=interactions,
            search_params=params,
            operations=list(self.operations),
            versioned=self.versioned,
            documentation=self.documentation,
            required_search=list(self.required),
        )

    def urls(
        self,
        *,
        type_view: builtins.type[ResourceSearchView] | None = None,
        instance_view: builtins.type[ResourceReadView] | None = None,
        version_view: builtins.type[FHIRView] | None = None,
    ) -> list[URLPattern]:
        """The type's routes. ``type_view`` and ``instance_view`` are the app's
        subclasses of the base views that add its writes (create, update);
        ``version_view``, given, serves a version read
        (``<Type>/<id>/_history/<vid>``, earlier versions too), and the
        statement then lists ``vread`` with ``readHistory`` true: both come
        from this one declaration, so neither can say what the other does not."""
        found: list[URLPattern] = []
        if version_view is not None and self.readable:
            found.append(
                re_path(
                    rf"^{self.type}/(?P<resource_id>{re.escape(self.id_prefix)}[0-9]+)"
                    r"/_history/(?P<vid>[0-9]+)$",
                    version_view.as_view(resource=self),
                )
            )
            register_resource(
                ResourceCapability(type=self.type, interactions=["vread"], read_history=True)
            )
        if self.search_by_post and self.searchable:
            found.append(
                path(f"{self.type}/_search", ResourcePostSearchView.as_view(resource=self))
            )
        if self.searchable or type_view is not None:
            searching = type_view or ResourceSearchView
            found.append(path(self.type, searching.as_view(resource=self)))
        if self.readable:
            reading = instance_view or ResourceReadView
            found.append(
                re_path(
                    rf"^{self.type}/(?P<resource_id>{re.escape(self.id_prefix)}[^/]+)$",
                    reading.as_view(resource=self),
                )
            )
        return found


_resources: list[FHIRResource] = []


def register(resource: FHIRResource) -> FHIRResource:
    """Serve ``resource`` and list it in the CapabilityStatement (call from ``AppConfig.ready``)."""
    if not any(type(r) is type(resource) and r.type == resource.type for r in _resources):
        _resources.append(resource)
        register_resource(resource.capability())
    return resource


def registered() -> list[FHIRResource]:
    return list(_resources)


# --- the views ------------------------------------------------------------------------


def purpose_or_refused(
    request: Request,
    *,
    action: str,
    resource_type: str,
    resource_id: str = "",
    citizen: Callable[[], CitizensNamed] = lambda: None,
    stated: Callable[[Request], str] = request_purpose,
) -> str:
    """The purpose of use of a request (``stated``, by default the header or
    the role's own). Refused, before the gate is asked, it is still an attempt
    (R9): recorded as denied, with the purpose stated if the log knows it
    (else the role's) and why (``purpose_unknown``,
    ``purpose_not_permitted``), on the log of the citizen the request names
    (``citizen()``, asked only then), if any."""
    try:
        return stated(request)
    except (InvalidInput, Forbidden) as refused:
        actor = actor_from_request(request)
        assert actor is not None  # only staff and systems reach a purpose
        current_gate().refuse(
            actor=actor,
            action=action,
            purpose=recorded_purpose(request),
            resource_type=resource_type,
            resource_id=resource_id if FHIR_ID.fullmatch(resource_id) else "",
            reason_code=PURPOSE_UNKNOWN
            if isinstance(refused, InvalidInput)
            else PURPOSE_NOT_PERMITTED,
            citizen_id=citizen(),
        )
        raise


def unserved_read_params(query: Mapping[str, Any]) -> list[str]:
    """The parameters of a read's query that it does not serve (see ``READ_PARAMS``)."""
    values = query.getlist if isinstance(query, QueryDict) else lambda name: [query[name]]
    return sorted(
        name
        for name in query
        if name not in READ_PARAMS
        and not (name == "_summary" and all(v == READ_SUMMARY_SERVED for v in values(name)))
    )


def check_read_params(
    request: Request,
    *,
    actor: Actor,
    purpose: str,
    resource_type: str,
    resource_id: str,
    citizen: Callable[[], CitizensNamed] = lambda: None,
    action: str = READ,
    operation: str = "",
) -> None:
    """A read, a version read or an operation that answers whole resources
    (``operation``: ``$everything``, ``$insight``) with a query parameter it
    does not serve is refused as a search's unknown parameter is (400,
    whatever ``Prefer: handling`` says), naming it, and the attempt recorded
    (R9) as denied (``action``, what the audit log calls the request), on the
    log of the citizen the request names (``citizen()``, asked only then), if
    any. An operation's refusal names the operation: its parameters are its
    own (R4's ``$everything`` defines start, end, _since, _type and _count),
    and a read's sentence would tell the client of a read it did not make."""
    unknown = unserved_read_params(request.query_params)
    if unknown:
        names = ", ".join(name[:30] for name in unknown)
        if operation:
            refused = InvalidInput(
                "operation.param_unknown",
                f"{operation} answers in full and takes no {names}; it takes {READ_PARAMS_SERVED}.",
                field=unknown[0][:30],
                params={"operation": operation, "names": names, "supported": READ_PARAMS_SERVED},
            )
        else:
            refused = InvalidInput(
                "read.param_unknown",
                f"A read answers the whole resource and takes no {names}; "
                f"it takes {READ_PARAMS_SERVED}.",
                field=unknown[0][:30],
                params={"names": names, "supported": READ_PARAMS_SERVED},
            )
    else:
        try:
            refuse_unserved_values(request.query_params, READ_PARAM_VALUES)
        except InvalidInput as error:
            refused = error
        else:
            return
    current_gate().refuse(
        actor=actor,
        action=action,
        purpose=purpose,
        resource_type=resource_type,
        resource_id=resource_id if FHIR_ID.fullmatch(resource_id) else "",
        reason_code=refused.code,
        citizen_id=citizen(),
    )
    raise refused


class _ResourceView(FHIRView):
    permission_classes = [ANY_STAFF]
    resource: FHIRResource = FHIRResource()
    # What a GET and a POST here are, for the audit log.
    reading, posting = SEARCH, "create"

    def citizen_refused(self, request: Request) -> CitizensNamed:
        """The citizen a refused request names: the row its path's id is on,
        the patient its search names, or, for a create, the subject its body
        names as sent (a body the input checks refused too)."""
        resource_id = str(self.kwargs.get("resource_id", ""))
        named = self.resource.citizen_named(resource_id, request.query_params)
        if named is None and request.method == "POST" and self.posting == "create":
            return self.resource.citizen_in_body(body_named(request))
        return named

    def cpr_checked_query(self, request: Request) -> QueryDict:
        return self.resource.without_counters(request.query_params)

    def attempted(self, request: Request) -> str:
        # A search (GET, or POST …/_search) is recorded as one, not as a read or a create.
        method = request.method or ""
        return self.posting if method == "POST" else ACTION_BY_METHOD.get(method, self.reading)

    def cpr_in_url(self, request: Request, refused: InvalidInput) -> PlatformError:
        actor = actor_from_request(request)
        assert actor is not None  # ANY_STAFF let only an actor through
        purpose = recorded_purpose(request)
        return self.resource.refuse_cpr_in_url(
            actor=actor, action=self.attempted(request), purpose=purpose, refused=refused
        )

    def asked(
        self,
        request: Request,
        action: str,
        resource_id: str = "",
        query: Mapping[str, Any] | None = None,
        **more: Any,
    ) -> Asked:
        """Who asks and why; a purpose of use that names none or that the role
        may not state, and a role that may not ask, are refused, and recorded."""
        actor = actor_from_request(request)
        assert actor is not None  # ANY_STAFF let only an actor through
        if not gate_registered():
            # Deny by default, also for a type that asks its gate its own way.
            current_gate().refuse(
                actor=actor,
                action=action,
                purpose=recorded_purpose(request),
                resource_type=self.resource.type,
                resource_id="",
                reason_code="no_gate",
            )
            raise NotFoundOrNotAllowed()
        resource = self.resource
        purpose = purpose_or_refused(
            request,
            stated=resource.purpose,
            action=action,
            resource_type=resource.type,
            resource_id=resource_id,
            citizen=lambda: resource.citizen_named(resource_id, query),
        )
        if actor.role not in resource.readers:
            current_gate().refuse(
                actor=actor,
                action=action,
                purpose=purpose,
                resource_type=resource.type,
                resource_id=resource_id if FHIR_ID.fullmatch(resource_id) else "",
                reason_code="role_not_permitted",
                citizen_id=resource.citizen_named(resource_id, query),
            )
            raise Forbidden("auth.forbidden", "Your role may not use this endpoint.")
        return Asked(actor, purpose, request, **more)

    def answer_search(
        self, request: Request, query: Any, body_params: frozenset[str] = frozenset()
    ) -> Response:
        resource = self.resource
        query = resource.local_references(query, base_url(request))
        asked = self.asked(request, SEARCH, query=query, body_params=body_params)
        try:
            resource.check_params(asked, query)
            count, offset = paging_params(request, query)
        except InvalidInput as refused:
            # A CPR number in the URL is recorded where it is refused.
            if refused.code not in RECORDED_WHERE_REFUSED:
                resource.refuse_search(asked, query, refused.code)
            raise
        found = resource.search(asked, query, count, offset)
        params = found.link_params
        if params is None and query is not request.query_params:
            # A POST search's form and URL, every value of each; a reference
            # on this base as the search read it (``local_references``).
            params = query
        bundle = searchset(
            request,
            resource_path=resource.type,
            resources=found.resources,
            total=found.total,
            count=count,
            offset=offset,
            params=params,
        )
        if found.more:
            bundle.pop("total", None)
        return self.fhir_response(bundle)


class ResourceReadView(_ResourceView):
    """``GET /fhir/<Type>/<id>``."""

    reading = READ
    checks_pretty_itself = frozenset({"GET", "HEAD"})

    def get(self, request: Request, resource_id: str) -> Response:
        asked = self.asked(request, READ, resource_id)
        resource = self.resource
        check_read_params(
            request,
            actor=asked.actor,
            purpose=asked.purpose,
            resource_type=resource.type,
            resource_id=resource_id,
            citizen=lambda: resource.citizen_named(resource_id, None),
        )
        obj = self.resource.read(asked, resource_id)
        body = self.resource.to_fhir(obj)
        return self.fhir_response(body, headers=self.resource.headers(obj, body) or None)


class ResourceSearchView(_ResourceView):
    """``GET /fhir/<Type>?…``. A type that is not searched (its route serves a
    create only) answers a search 405, as any interaction not served, with an
    ``Allow`` naming what is served."""

    checks_pretty_itself = frozenset({"GET", "HEAD"})

    @property
    def allowed_methods(self) -> list[str]:
        served = super().allowed_methods
        if self.resource.searchable:
            return served
        return [m for m in served if m not in ("GET", "HEAD")]

    def _serves(self, method: str) -> bool:
        if method.upper() in ("GET", "HEAD") and not self.resource.searchable:
            return False
        return super()._serves(method)

    def get(self, request: Request) -> Response:
        return self.answer_search(request, request.query_params)


class ResourcePostSearchView(_ResourceView):
    """``POST /fhir/<Type>/_search``: parameters in the form body, the URL or
    both (FHIR's POST search); ``GET`` is the ordinary search."""

    parser_classes = [FormParser, MultiPartParser]
    posting = SEARCH
    checks_pretty_itself = frozenset({"GET", "HEAD", "POST"})

    def get(self, request: Request) -> Response:
        return self.answer_search(request, request.query_params)

    def post(self, request: Request) -> Response:
        form = request.data if isinstance(request.data, QueryDict) else QueryDict()
        # The URL's and the form's values together, as one query gives them
        # (http.html#search): a parameter in both is given twice and read as
        # such, never answered for the form's value with the URL's dropped.
        query = request.query_params.copy()
        for key in form:
            for value in form.getlist(key):
                query.appendlist(key, value)
        # The form says what the answer is too: only JSON is served (as in the URL).
        refuse_unserved_format(form.getlist("_format"))
        return self.answer_search(request, query, body_params=frozenset(form.keys()))
