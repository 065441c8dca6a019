"""Searching the shared record (``GET /fhir/Condition?patient=…&date=…``): the
parameters, and a page of matches with its total, both counting only what the
gate lets the reader see. With ``patient`` it is one citizen's decision;
without, the search runs over every citizen visible to the reader and records
each one it shows (R9)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from consent.fhir import CATEGORY_SYSTEM
from consent.gate import (
    CATEGORY_SUMMARY,
    Decision,
    audit_searched,
    may_search_citizens,
    search_citizen,
    visible_record,
)
from consent.models import DataCategory, RecordResource
from consent.selectors.dates import compared, date_prefix, date_range, local_days
from consent.selectors.record import hidden_for, without_hidden_data
from core.actors import Actor
from core.errors import InvalidInput
from core.fhir.resources import RESULT_PARAMS
from core.fhir.search import Token, token
from core.validation import row_id_text


@dataclass
class SearchParams:
    patient: str | None = None
    category: str | None = None
    code: str | None = None
    dates: list[str] = field(default_factory=list)
    # ``dates`` read when the search is parsed, before the gate decides: a
    # value no calendar or clock reads (a time without its offset) is refused
    # for every reader alike, never answered with an empty page for one the
    # gate shows nothing (which also told apart a citizen the reader may see).
    date_filters: list[Q] = field(default_factory=list)
    # ``category`` and ``code`` read as FHIR tokens (``|I10`` is I10 with no
    # system), each value's commas "or": any of the tokens matches.
    category_tokens: list[Token] = field(default_factory=list)
    code_tokens: list[Token] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """The parameters given that narrow the rows, by name (no value)."""
        given = {"category": self.category, "code": self.code, "date": self.dates}
        return [name for name, value in given.items() if value]

    @property
    def gate_category(self) -> str:
        """The category the gate decides on: the one asked for, if exactly one is."""
        asked = {t.code for t in self.category_tokens}
        if len(asked) == 1 and None not in asked:
            return str(next(iter(asked)))
        return CATEGORY_SUMMARY


def _tokens(name: str, raw: str | None) -> list[Token]:
    return [token(name, part) for part in (raw or "").split(",") if part.strip()]


SEARCH_PARAMS = {"patient", "subject", "category", "code", "date", *RESULT_PARAMS}


def parse_search(query: Any) -> SearchParams:
    unknown = sorted(set(query.keys()) - SEARCH_PARAMS)
    if unknown:
        raise InvalidInput(
            "search.param_unknown",
            f"Unsupported search parameter(s): {', '.join(p[:30] for p in unknown)}.",
            field=unknown[0],
            params={
                "names": ", ".join(p[:30] for p in unknown),
                "supported": ", ".join(sorted(SEARCH_PARAMS)),
            },
        )
    patient = query.get("patient") or query.get("subject")
    if patient is not None:
        patient = patient.removeprefix("Patient/")
        if row_id_text(patient) is None:
            raise InvalidInput(
                "search.patient_invalid",
                "patient is a Patient id (CPR search is POST /fhir/Patient/_search).",
                field="patient",
            )
    category, code = query.get("category"), query.get("code")
    dates = query.getlist("date") if hasattr(query, "getlist") else []
    return SearchParams(
        patient=patient,
        category=category,
        code=code,
        dates=dates,
        date_filters=[_date_filter(value) for value in dates],
        category_tokens=_tokens("category", category),
        code_tokens=_tokens("code", code),
    )


def _date_filter(value: str) -> Q:
    prefix, raw = date_prefix(value)
    start, end = date_range(raw, field="date")
    if not isinstance(start, dt.datetime):
        # A day, month or year as the reader's calendar has it (Copenhagen),
        # not UTC's: what happened at 01:30 on 1 April is found under 1 April.
        start, end = local_days(start, end, field="date")
    return compared("effective_at", prefix, start, end)


def _filtered(qs: QuerySet[RecordResource], params: SearchParams) -> QuerySet[RecordResource]:
    if params.category_tokens:
        # Every entry's category is coded in the platform's one category system.
        either = Q(pk__in=[])
        for category in params.category_tokens:
            if category.code is None or category.code in DataCategory.values:
                either |= category.q(
                    system_field=None, code_field="category", implied_system=CATEGORY_SYSTEM
                )
        qs = qs.filter(either)
    if params.code_tokens:
        either = Q(pk__in=[])
        for code in params.code_tokens:
            either |= code.q(system_field="code_system", code_field="code")
        qs = qs.filter(either)
    for date_filter in params.date_filters:
        qs = qs.filter(date_filter)
    return qs


def record_search(
    *,
    actor: Actor,
    resource_type: str,
    params: SearchParams,
    purpose: str,
    count: int,
    offset: int,
) -> tuple[list[RecordResource], int]:
    """A page of matches and the total — both counting only what the actor may see."""
    qs = RecordResource.objects.filter(resource_type=resource_type)
    overrides: dict[int, Decision] = {}
    if params.patient is not None:
        citizen = search_citizen(
            actor=actor,
            citizen_id=int(params.patient),
            category=params.gate_category,
            purpose=purpose,
            resource_type=resource_type,
        )
        if citizen is None:
            return [], 0
        qs = without_hidden_data(qs.filter(citizen_id=citizen.pk), hidden_for(citizen))
    else:
        if not may_search_citizens(actor=actor, purpose=purpose, resource_type=resource_type):
            return [], 0
        visible = visible_record(actor=actor, category=CATEGORY_SUMMARY, purpose=purpose)
        overrides = visible.overrides
        qs = without_hidden_data(
            qs.filter(citizen__in=visible.citizens.values("pk")).exclude(
                citizen_id__in=visible.refused
            ),
            visible.hidden,
        )
    qs = _filtered(qs, params)
    total = qs.count()
    page = list(
        qs.select_related("source_organisation").order_by("-effective_at", "-pk")[
            offset : offset + count
        ]
    )
    if params.patient is None:
        audit_searched(
            actor=actor,
            purpose=purpose,
            page=[r.citizen_id for r in page],
            matches=qs,
            citizen_field="citizen_id",
            overrides=overrides,
            category=CATEGORY_SUMMARY,
            resource_type=resource_type,
            detail={"category": params.category or "", "code": params.code or ""},
            searched=params.names,
        )
    return page, total
