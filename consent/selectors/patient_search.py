"""Patient search with the ordinary parameters, as FHIR clients send it
(``GET /fhir/Patient?name=…&birthdate=…``): the parameters, the refusal of a
CPR number in a URL, and the search over the citizens the gate lets the reader
see, each citizen shown recorded (R9)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Q, Value
from django.db.models.lookups import IContains, IStartsWith

from consent.gate import (
    CATEGORY_PATIENT,
    Decision,
    audit_search_refused,
    audit_searched,
    may_search_citizens,
    search_citizen,
    visible_record,
)
from consent.selectors.dates import compared, date_prefix, date_range
from core.actors import Actor
from core.cpr import CPR_SYSTEM
from core.errors import InvalidInput
from core.fhir.patient import patient_resource
from core.fhir.search import token
from core.messages import AT_MOST_IDS, GIVEN_A_VALUE, STRING_MODIFIERS_TAKEN
from core.models import Citizen
from core.unaccent import Unaccent
from core.validation import row_id_text

PATIENT_STRING_PARAMS = ("name", "family", "given")
PATIENT_SEARCH_PARAMS = frozenset(
    {*PATIENT_STRING_PARAMS, "_id", "birthdate", "gender", "_count", "_offset", "_summary"}
)
STRING_MODIFIERS = ("", "exact", "contains")
# How the answer is written, not what matches; FHIR clients add them (fhirpy's
# count() sends _totalMethod). The total is always exact, the format JSON.
PRESENTATION_PARAMS = frozenset({"_format", "_pretty", "_total", "_totalMethod"})
# Ten digits, bare or as DDMMYY-SSSS, anywhere in a key or value of the query.
# A CPR number or a replacement CPR (X-eCPR, D-eCPR): never searched in a URL.
CPR_LIKE = re.compile(r"(?<![0-9])[0-9]{6}-?(?:[0-9]{4}|[0-9][A-Za-z]{2}[0-9])(?![0-9])")
MAX_IDS = 50
GENDER_SYSTEM = "http://hl7.org/fhir/administrative-gender"


@dataclass
class PatientSearch:
    """A Patient search as parsed: conditions on the citizen, all of which must hold."""

    ids: set[int] | None = None  # asked for by _id: each is its own gate decision
    filters: list[Q] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # the parameters used, for the audit entry


def cpr_in_query(query: Any) -> bool:
    """A CPR number in a query string: asked by identifier, or anything shaped like one."""
    if any(key.split(":", 1)[0] == "identifier" for key in query):
        return True
    return any(
        CPR_LIKE.search(key) or any(CPR_LIKE.search(str(v)) for v in query.getlist(key))
        for key in query
    )


def patient_search_refused_in_url(*, actor: Actor, purpose: str) -> InvalidInput:
    """A CPR number came in a URL: refused and, as every denied attempt, audited
    (R9) — without resolving the number to a citizen."""
    audit_search_refused(
        actor=actor, purpose=purpose, resource_type="Patient", reason_code="cpr_in_url"
    )
    return InvalidInput(
        "search.use_post",
        "A CPR number never goes in a URL. Search by CPR with POST /fhir/Patient/_search, "
        f"identifier={CPR_SYSTEM}|<CPR number> in the form body "
        "(application/x-www-form-urlencoded); name, birthdate, gender and _id may be "
        "searched with GET.",
        field="identifier",
        params={"system": CPR_SYSTEM},
    )


def patient_ids_named(query: Any) -> tuple[int, ...]:
    """The Patient ids a search names by ``_id`` (every value, each one's
    alternatives), for the log of its refusal only (R9): the attempt is on
    each one's log. At most :data:`MAX_IDS`, as many as a search takes; a
    query holding a CPR number names no one by it (never a row id)."""
    if not hasattr(query, "getlist") or cpr_in_query(query):
        return ()
    named: dict[int, None] = {}
    for value in query.getlist("_id"):
        for part in str(value).split(","):
            part = part.strip()
            if (pk := row_id_text(part)) is not None:
                named.setdefault(pk)
    return tuple(named)[:MAX_IDS]


def parse_patient_search(query: Any) -> PatientSearch:
    """``_id``, ``name``/``family``/``given`` (``:exact``, ``:contains``),
    ``birthdate`` (with eq/ne/gt/lt/ge/le/sa/eb) and ``gender``. A comma is OR,
    a repeated parameter AND, as in FHIR."""
    parsed = PatientSearch()
    for key in sorted(query):
        base, _, modifier = key.partition(":")
        if base == "_format" and not all("json" in v for v in query.getlist(key)):
            raise InvalidInput(
                "search.param_invalid", "The platform answers in FHIR JSON.", field="_format"
            )
        if base in PRESENTATION_PARAMS:
            continue
        if base not in PATIENT_SEARCH_PARAMS:
            raise InvalidInput(
                "search.param_unknown",
                f"Unsupported search parameter: {base[:30]}. Patient is searched by "
                f"{', '.join(sorted(PATIENT_SEARCH_PARAMS))}.",
                field=base[:30],
                params={"names": base[:30], "supported": ", ".join(sorted(PATIENT_SEARCH_PARAMS))},
            )
        if modifier and (base not in PATIENT_STRING_PARAMS or modifier not in STRING_MODIFIERS):
            raise InvalidInput(
                "search.modifier_unsupported",
                f"{base} takes no :{modifier[:20]} here (name, family and given take "
                ":exact and :contains).",
                field=key[:40],
                params={
                    "name": base[:30],
                    "modifier": modifier[:20],
                    "takes": STRING_MODIFIERS_TAKEN,
                },
            )
        if base in ("_count", "_offset", "_summary"):
            continue
        parsed.names.append(base)
        for value in query.getlist(key):
            ors = [part.strip() for part in str(value).split(",") if part.strip()]
            if not ors:
                raise InvalidInput(
                    "search.param_invalid",
                    f"{base} needs a value.",
                    field=base,
                    params={"name": base, "expected": GIVEN_A_VALUE},
                )
            if base == "_id":
                pks = [row_id_text(part) for part in ors]
                if None in pks:
                    raise InvalidInput(
                        "search.param_invalid", "_id is a Patient id (digits).", field="_id"
                    )
                ids = {pk for pk in pks if pk is not None}
                parsed.ids = ids if parsed.ids is None else parsed.ids & ids
                continue
            either = Q()
            for part in ors:
                if base == "birthdate":
                    either |= _birthdate_q(part)
                elif base == "gender":
                    # A citizen's legal sex is female or male; other and unknown match none.
                    either |= token(base, part).q(
                        system_field=None, code_field="sex", implied_system=GENDER_SYSTEM
                    )
                else:
                    either |= _string_q(base, modifier, part)
            parsed.filters.append(either)
    if parsed.ids is not None and len(parsed.ids) > MAX_IDS:
        raise InvalidInput(
            "search.param_invalid",
            f"At most {MAX_IDS} ids in one search.",
            field="_id",
            params={"name": "_id", "most": MAX_IDS, "expected": AT_MOST_IDS},
        )
    return parsed


def _string_q(element: str, modifier: str, value: str) -> Q:
    """R4's string search (search.html#string): by default the start of the
    name, or of any word in it, and ``:contains`` anywhere in it, both after
    the name and the value are "normalized by case and accent" (a partner's
    system that writes Jose or Sorensen finds José and Sørensen); ``:exact``
    is the name as written, letter for letter."""
    fields = {"family": ("family_name",), "given": ("given_name",)}.get(
        element, ("family_name", "given_name")
    )
    q = Q()
    for name in fields:
        if modifier == "exact":
            q |= Q(**{name: value})
            continue
        column = Unaccent(F(name))
        if modifier == "contains":
            q |= Q(IContains(column, Unaccent(Value(value))))
        else:
            q |= (
                Q(IStartsWith(column, Unaccent(Value(value))))
                | Q(IContains(column, Unaccent(Value(f" {value}"))))
                | Q(IContains(column, Unaccent(Value(f"-{value}"))))
            )
    return q


def _birthdate_q(value: str) -> Q:
    prefix, raw = date_prefix(value)
    start, end = date_range(raw, field="birthdate", times=False)
    return compared("birth_date", prefix, start, end)


def patient_search(
    *, actor: Actor, params: PatientSearch, purpose: str, count: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Citizens matching ``params`` among those the gate lets the actor see, and
    how many — never counting a hidden one. Asked by ``_id``, each citizen is one
    gate decision (a refusal audited as such); otherwise the search runs over the
    visible citizens and every citizen shown is audited, as an emergency access
    where only the reader's break-the-glass shows the citizen."""
    overrides: dict[int, Decision] = {}
    if params.ids is not None:
        permitted = [
            citizen_id
            for citizen_id in sorted(params.ids)
            if search_citizen(
                actor=actor,
                citizen_id=citizen_id,
                category=CATEGORY_PATIENT,
                purpose=purpose,
                resource_type="Patient",
                detail={"params": params.names},
            )
            is not None
        ]
        qs = Citizen.objects.filter(pk__in=permitted)
    else:
        if not may_search_citizens(actor=actor, purpose=purpose, resource_type="Patient"):
            return [], 0
        visible = visible_record(actor=actor, category=CATEGORY_PATIENT, purpose=purpose)
        overrides = visible.overrides
        qs = visible.citizens.exclude(pk__in=visible.refused)
    for condition in params.filters:
        qs = qs.filter(condition)
    total = qs.count()
    page = list(
        qs.select_related("municipality", "gp_practice").order_by(
            "family_name", "given_name", "pk"
        )[offset : offset + count]
    )
    if params.ids is None:
        audit_searched(
            actor=actor,
            purpose=purpose,
            page=[c.pk for c in page],
            matches=qs,
            citizen_field="pk",
            overrides=overrides,
            category=CATEGORY_PATIENT,
            resource_type="Patient",
            detail={"params": params.names},
            searched=params.names,
        )
    return [patient_resource(c) for c in page], total
