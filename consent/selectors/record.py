"""Reads of the shared record about one citizen, each through the gate: one
resource, an earlier version of it, and ``$everything`` — the consent-filtered
summary a nurse reads before a visit. Data dated inside a period the citizen
refused to the reader is left out in the query itself (R4)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet

from consent.audit.services import Action
from consent.fhir import RECORD_JSON_FIELDS, clinical_date, record_json
from consent.gate import (
    CATEGORY_SUMMARY,
    HiddenPeriod,
    access_citizen,
    access_record,
    record_fetch,
    row_id,
)
from consent.models import RecordResource, record_data_date
from core.actors import Actor
from core.errors import NotFoundOrNotAllowed
from core.fhir.patient import patient_resource
from core.models import Citizen
from core.sql import CompiledQuery, run_prepared


def record_citizen_id(*, resource_type: str, resource_id: str) -> int | None:
    """Whose record resource an id names, with no decision and nothing of the
    record read: only to put an attempt refused before the gate is asked (a
    purpose of use the platform does not know) on that citizen's log."""
    pk = row_id(resource_id)
    if not 0 < pk < 10**18:
        return None
    return (
        RecordResource.objects.filter(pk=pk, resource_type=resource_type)
        .values_list("citizen_id", flat=True)
        .first()
    )


def record_held_each(
    *, resource_type: str, resource_ids: Collection[str]
) -> dict[str, RecordResource]:
    """The record resources the ids name, in one query, each with only what
    the gate decides a read of it on (its citizen, category and data date),
    and no decision; an id naming none is left out. For the References a
    write names, which the writer's gate then judges
    (``core.fhir.references``)."""
    pks = {rid: pk for rid in resource_ids if 0 < (pk := row_id(rid)) < 10**18}
    if not pks:
        return {}
    rows = {
        row.pk: row
        for row in RecordResource.objects.filter(
            pk__in=set(pks.values()), resource_type=resource_type
        ).only("citizen_id", "category", "effective_at", "created_at")
    }
    return {rid: rows[pk] for rid, pk in pks.items() if pk in rows}


def record_read(
    *, actor: Actor, resource_type: str, resource_id: str, purpose: str
) -> RecordResource:
    """One resource, if the gate permits reading its citizen's data of its category."""
    return access_record(
        actor=actor, resource_type=resource_type, resource_id=resource_id, purpose=purpose
    )


def record_version_read(
    *, actor: Actor, resource_type: str, resource_id: str, version_id: int | None, purpose: str
) -> tuple[RecordResource, str]:
    """An earlier version (history is kept): the resource carrying that version's
    body, and the name of that version's source. A refusal of a data period
    covering the current version or this one hides it. ``version_id`` None (a
    version id that names none) is an unknown version: asked of the gate and
    recorded as any unknown version is, then not found."""
    resource = (
        RecordResource.objects.filter(pk=row_id(resource_id), resource_type=resource_type)
        .only("pk", "citizen_id", "category", "resource_type", "effective_at", "created_at")
        .first()
    )
    version = (
        resource.versions.select_related("source_organisation")
        .filter(version_id=version_id)
        .first()
        if resource is not None and version_id is not None
        else None
    )
    dates: tuple[dt.datetime, ...] = ()
    if resource is not None:
        dates = (resource.data_date,)
        if version is not None:
            dates += (clinical_date(resource_type, version.body) or resource.created_at,)
    access_citizen(
        actor=actor,
        citizen_id=resource.citizen_id if resource else -1,
        action=Action.READ,
        category=resource.category if resource else "",
        purpose=purpose,
        resource_type=resource_type,
        resource_id=resource_id,
        data_dates=dates,
        detail={"version": version_id},
    )
    if resource is None or version is None:
        raise NotFoundOrNotAllowed()
    resource.body = version.body
    resource.version_id = version.version_id
    resource.updated_at = version.recorded_at
    resource.source_organisation_id = version.source_organisation_id
    return resource, version.source_organisation.name


def without_hidden_data(
    qs: QuerySet[RecordResource], hidden: dict[int, tuple[HiddenPeriod, ...]]
) -> QuerySet[RecordResource]:
    """Leave out the resources dated inside a data period the citizen refused to
    this reader (R4), in the query itself so totals and pages agree."""
    if not hidden:
        return qs
    covered = Q()
    for citizen_id, periods in hidden.items():
        for start, end in periods:
            one = Q(citizen_id=citizen_id)
            if start is not None:
                one &= Q(dated__gte=start)
            if end is not None:
                one &= Q(dated__lt=end)
            covered |= one
    return qs.annotate(dated=record_data_date()).exclude(covered)


def hidden_for(citizen: Citizen) -> dict[int, tuple[HiddenPeriod, ...]]:
    """The data periods the gate found refused to this reader, for
    :func:`without_hidden_data`."""
    decision = getattr(citizen, "gate_decision", None)
    periods = decision.hidden_periods if decision is not None else ()
    return {citizen.pk: periods} if periods else {}


# The floor's durable write (``CONSENT_BENCH_FLOOR_WRITE``; ``bench.read_parts``
# makes the same one).
BENCH_FLOOR_INSERT = "INSERT INTO bench_read_floor (at) VALUES (clock_timestamp()) RETURNING id"


def record_read_bare(*, resource_type: str, resource_id: str) -> RecordResource:
    """Benchmark only (``CONSENT_BENCH_BARE_READS``, refused outside a bench_*
    database): the same read with no gate and no audit, to measure what they cost."""
    bench_database = str(connection.settings_dict["NAME"]).startswith("bench_")
    if not (settings.CONSENT_BENCH_BARE_READS and bench_database):
        raise NotFoundOrNotAllowed()
    found = record_fetch(resource_type, resource_id)
    if found is None:
        raise NotFoundOrNotAllowed()
    if settings.CONSENT_BENCH_FLOOR_WRITE:
        # One durable insert, committed before the data is served (the floor),
        # sent as the audit entry's is: prepared, on the kept cursor.
        run_prepared(BENCH_FLOOR_INSERT, [])
    return found


def _everything_query(
    citizen_id: int, hidden: dict[int, tuple[HiddenPeriod, ...]] | None = None
) -> QuerySet[RecordResource, tuple[Any, ...]]:
    return (
        without_hidden_data(RecordResource.objects.filter(citizen_id=citizen_id), hidden or {})
        .order_by("category", "-effective_at", "-pk")
        .values_list(*RECORD_JSON_FIELDS)
    )


# A citizen with no data period refused: the query every nurse's summary
# makes, compiled once (core/sql.py). The stand-in is no citizen's id.
_EVERYTHING = CompiledQuery(_everything_query, -7_349_221_877)


def patient_everything(*, actor: Actor, citizen_id: str, purpose: str) -> list[dict[str, Any]]:
    """The consent-filtered summary a nurse reads before a visit: the Patient and
    every resource of the shared record, newest first, one audited decision."""
    citizen = access_citizen(
        actor=actor,
        citizen_id=row_id(citizen_id),
        action=Action.READ,
        category=CATEGORY_SUMMARY,
        purpose=purpose,
        resource_type="Patient",
        resource_id=citizen_id,
        detail={"operation": "$everything"},
    )
    hidden = hidden_for(citizen)
    # Plain rows, not model instances: this is the page a nurse opens before every visit.
    if connection.vendor == "postgresql" and not hidden:
        rows = _EVERYTHING.rows(citizen.pk, binary=True)  # bodies arrive parsed
    else:
        rows = list(_everything_query(citizen.pk, hidden))
    records = [record_json(*row) for row in rows]
    return [patient_resource(citizen), *records]
