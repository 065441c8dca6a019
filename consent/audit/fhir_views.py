"""``/fhir/AuditEvent``: the audit log read and searched as FHIR by auditors,
on the gated base (:mod:`core.fhir.resources`). Every read and search is
itself recorded (purpose ``audit``); an id that names no entry is recorded and
answered as on every other door (``audit.entry_not_found``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from consent.audit.fhir import (
    LOCAL_ROLE,
    OUTCOME_BY_CODE,
    TASK_SYSTEM,
    audit_event_resource,
)
from consent.audit.models import (
    Action,
    AuditEntry,
)
from consent.audit.scope import AuditorScope, auditor_scope
from consent.audit.selectors import (
    LIST_FIELDS,
    ActorKind,
    AuditQuery,
    audit_page_recorded,
    audit_query_parse,
    audit_scope_of,
    audit_search,
    paging_pinned,
    parse_instant,
)
from consent.audit.services import (
    audit_record_auditor_view,
    audit_record_unknown_entry,
)
from consent.selectors.dates import date_prefix, date_range, local_days
from core.errors import InvalidInput
from core.fhir.resources import Asked, FHIRResource, Found, Param
from core.fhir.search import token
from core.labels import TASKS
from core.messages import ONE_OF, REFERENCE_OR_ID
from core.models import Role
from core.validation import row_id_text

OUTCOME_SYSTEM = "http://hl7.org/fhir/audit-event-outcome"
# A year, a month or a day: FHIR's date, read by the one date parser of every search.
_DATE = re.compile(r"[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?")


def _fhir_date_range(value: str) -> tuple[dt.datetime, dt.datetime, bool]:
    """The range [start, end) one ``date`` value stands for, and whether it is
    the last instant there is (which has no next one to end at). A year, a
    month or a day is read as the date search of every other type reads it:
    whole Copenhagen days (:mod:`consent.selectors.dates`), the calendar's
    last one ending at the last instant as ``to=9999-12-31`` does; a date-time
    as the auditor's other doors read it."""
    if _DATE.fullmatch(value):
        first, after = date_range(value, field="date", times=False)
        start, end = local_days(first, after, field="date")
        return start, timezone.make_aware(dt.datetime.max) if end is None else end, False
    # A value the one parser does not read (``ap2026``, a time without its
    # offset, ``2026-03-29T10+01:00``) is refused as on every other type,
    # naming the forms a date takes, not with a general "not valid".
    date_range(value, field="date")
    try:
        start = parse_instant(value, "date")
        end = parse_instant(value, "date", end=True)  # a date: the next day's start
    except InvalidInput as exc:  # in FHIR's words, as the type's other parameters
        if exc.code == "time.naive":
            raise  # as every door refuses a time without its offset
        raise InvalidInput("search.param_invalid", exc.message, field="date") from None
    if end == start:  # a date-time: that instant (the last one there is has no next)
        try:
            end = start + dt.timedelta(microseconds=1)
        except OverflowError:
            return start, end, True
    return start, end, False


def _fhir_date(
    values: list[str],
) -> tuple[dt.datetime | None, dt.datetime | None, tuple[tuple[dt.datetime, dt.datetime], ...]]:
    """``since``, ``until`` and the ranges left out (``ne``) of repeated
    ``date`` values, with FHIR's prefixes: for an entry's instant ``sa`` is
    ``gt`` and ``eb`` is ``lt``."""
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    outside: list[tuple[dt.datetime, dt.datetime]] = []
    last_instant = False
    for raw in values:
        prefix, value = date_prefix(raw)
        start, end, last = _fhir_date_range(value)
        last_instant = last_instant or last
        if prefix in ("eq", "ge"):
            since = max(since, start) if since else start
        if prefix in ("gt", "sa"):
            since = max(since, end) if since else end
        if prefix in ("eq", "le"):
            until = min(until, end) if until else end
        if prefix in ("lt", "eb"):
            until = min(until, start) if until else start
        if prefix == "ne":
            outside.append((start, end))
    # As on every door: an empty answer would read as a clean log. (The last
    # instant there is has no next one to end at: that alone may end where it starts.)
    if (
        since is not None
        and until is not None
        and (since > until or (since == until and not last_instant))
    ):
        raise InvalidInput(
            "search.param_invalid", "The dates searched end before they begin.", field="date"
        )
    return since, until, tuple(outside)


def _reference_id(raw: str, resource: str, name: str) -> str:
    value = raw.removeprefix(f"{resource}/")
    if row_id_text(value) is None:
        raise InvalidInput(
            "search.param_invalid",
            f"{name} must be {resource}/<internal id> or the id.",
            field=name,
            params={"name": name, "kind": resource, "expected": REFERENCE_OR_ID},
        )
    return value


# The audit query's parameters under their names here.
_FHIR_NAME = {"as_of": "as-of", "role": "agent-role", "actor_kind": "actor-kind"}


def _code(name: str, raw: str, system: str | None) -> str:
    """A token's code, in ``system`` or none given (a code of another
    system names nothing here and is refused, never read as no filter)."""
    asked = token(name, raw.strip())
    if asked.system not in (None, system) or asked.code is None:
        forms = f"code, {system}|code" if system else "code"
        raise InvalidInput(
            "search.param_invalid",
            f"{name} must be one of {forms}.",
            field=name,
            params={"name": name, "allowed": forms, "expected": ONE_OF},
        )
    return asked.code


def fhir_query(query: Any, *, scope: AuditorScope) -> AuditQuery:
    """The audit query an AuditEvent search asks (its parameters already
    checked), in the part of the log ``scope`` gives the auditor."""
    params: dict[str, str] = {}
    if query.get("patient"):
        params["citizen"] = _reference_id(query["patient"], "Patient", "patient")
    if query.get("agent"):
        params["user"] = _reference_id(query["agent"], "Practitioner", "agent")
    if query.get("as-of"):
        params["as_of"] = _reference_id(query["as-of"], "AuditEvent", "as-of")
    # Tokens, comma-separated (FHIR's "or"), each a code or system|code in
    # the one system the AuditEvent codes it in.
    for name, system, key in (
        ("agent-role", LOCAL_ROLE, "role"),
        ("task", TASK_SYSTEM, "task"),
        ("actor-kind", None, "actor_kind"),
    ):
        if query.get(name):
            params[key] = ",".join(_code(name, raw, system) for raw in query[name].split(","))
    outcome = query.get("outcome")
    if outcome:
        # A token (``0``, or ``http://hl7.org/fhir/audit-event-outcome|0``):
        # an entry's outcome is coded in that one system.
        asked = token("outcome", outcome)
        if asked.system not in (None, OUTCOME_SYSTEM) or asked.code not in OUTCOME_BY_CODE:
            raise InvalidInput("search.param_invalid", "outcome must be 0 or 4.", field="outcome")
        params["outcome"] = OUTCOME_BY_CODE[asked.code]
    try:
        parsed = audit_query_parse(params, scope=scope)
    except InvalidInput as exc:  # in FHIR's words, as the type's other parameters
        field = _FHIR_NAME.get(exc.field or "", exc.field)
        params_of = {**exc.params, "name": field} if "name" in exc.params else exc.params
        raise InvalidInput(
            "search.param_invalid", exc.message, field=field, params=params_of
        ) from None
    dates = query.getlist("date")
    if dates:
        since, until, outside = _fhir_date(dates)
        parsed = dataclasses.replace(parsed, since=since, until=until, outside=outside)
    return parsed


class AuditEventResource(FHIRResource):
    """``/fhir/AuditEvent``: the log itself, to auditors only. Its gate is the
    role and the auditor's scope (:mod:`consent.audit.scope`): she reads the
    entries her organisation answers for, one outside them is no entry to
    her, and each search and read she makes is recorded (purpose ``audit``)
    before the answer leaves."""

    type = "AuditEvent"
    readers = frozenset({Role.AUDITOR})
    # An entry is the log's, not a row of the citizen it names.
    ids_name_a_citizen = False
    search_params = (
        # A search of one citizen's entries: a refused one is on her log (R9).
        Param(
            "patient", "reference", "Patient/<internal id>; never a CPR number", names_citizen=True
        ),
        Param(
            "date",
            "date",
            "A year, month, day (Copenhagen) or date-time; prefixes eq, ne, gt, lt, ge, le, "
            "sa, eb (not ap); repeated, a range",
            repeats=True,
        ),
        Param("agent", "reference", "The acting user's internal id"),
        # Each token here takes the codes the log holds (refused otherwise,
        # never answered as a clean log): the statement names them.
        Param(
            "outcome",
            "token",
            "0 permitted, 4 denied",
            codes=tuple(OUTCOME_BY_CODE),
            system=OUTCOME_SYSTEM,
        ),
        Param(
            "agent-role",
            "token",
            f"The role the acting user acted in ({LOCAL_ROLE}|<role>, as agent.role codes it); "
            "comma-separated, any of them",
            codes=tuple(Role.values),
            system=LOCAL_ROLE,
        ),
        Param(
            "task",
            "token",
            f"This platform's: the background task that made the entry ({TASK_SYSTEM}|<task>, "
            "as the task agent's identifier gives it); comma-separated, any of them",
            codes=tuple(sorted(TASKS)),
            system=TASK_SYSTEM,
        ),
        Param(
            "actor-kind",
            "token",
            "This platform's: who made the entry, person (a person's own request), task "
            "(background work) or partner (a message from or to a partner); comma-separated",
            codes=tuple(ActorKind.values),
        ),
        Param(
            "as-of",
            "reference",
            "AuditEvent/<id>: only it and older entries; the paging links carry the newest "
            "entry the first page found, so the pages stay put while entries arrive",
        ),
    )
    # Entry ids reach ten digits; the paging links carry the newest as-of.
    counter_params = frozenset({"as-of"})
    documentation = (
        "The audit log as IHE BALP-shaped AuditEvents; auditors only. "
        "Every search and read here is itself audited."
    )

    def queryset(self) -> QuerySet[AuditEntry]:
        return AuditEntry.objects.only(*LIST_FIELDS)

    def to_fhir(self, obj: AuditEntry) -> dict[str, Any]:
        return audit_event_resource(obj)

    def check_params(self, asked: Asked, query: Any) -> None:
        # Read in full before the log is searched, so that a value refused here
        # (a date, an outcome, an as-of) is recorded as a refused search (R9),
        # as on every other type.
        super().check_params(asked, query)
        scope = auditor_scope(asked.actor)
        if not scope.withdrawn:  # refused as such by the search itself
            fhir_query(query, scope=scope)

    def read(self, asked: Asked, resource_id: str) -> AuditEntry:
        scope = audit_scope_of(actor=asked.actor, action=Action.READ)
        pk = self.row_id(resource_id)
        entry = scope.entries(self.queryset().filter(id=pk)).first() if pk is not None else None
        if entry is None:
            # Recorded and answered as every other door that reads an entry
            # by its id records and answers an unknown one.
            raise audit_record_unknown_entry(
                actor=asked.actor, entry_id=resource_id, query={"entry": resource_id}
            )
        audit_record_auditor_view(
            actor=asked.actor,
            action=Action.READ,
            citizen_ids=[entry.citizen_id],
            query={"entry": resource_id},
        )
        return entry

    def search(self, asked: Asked, query: Any, count: int, offset: int) -> Found:
        parsed = fhir_query(query, scope=audit_scope_of(actor=asked.actor, action=Action.SEARCH))
        if count == 0:  # the total alone (FHIR's search summary): counted, as asked
            total = audit_search(query=parsed).count()
            audit_page_recorded(actor=asked.actor, query=parsed, offset=0, count=0)
            return Found([], total)
        rows, more = audit_page_recorded(
            actor=asked.actor, query=parsed, offset=offset, count=count
        )
        pinned = paging_pinned(query=parsed, entries=rows, offset=offset)
        links = QueryDict(mutable=True)
        for name, values in query.lists() if isinstance(query, QueryDict) else query.items():
            links.setlist(name, values if isinstance(values, list) else [values])
        if pinned.as_of is not None:
            links["as-of"] = f"AuditEvent/{pinned.as_of}"
        # No full count over millions of rows: total is exact on a last page
        # that holds entries, otherwise left out (it is optional): a page past
        # the end knows only that there are fewer entries than its offset.
        total = offset + len(rows) + (1 if more else 0)
        return Found(
            [audit_event_resource(e) for e in rows],
            total,
            more=more or (offset > 0 and not rows),
            link_params=links,
        )


RESOURCES = (AuditEventResource(),)
