"""Restricted analyses (R6): named, aggregate-only, small counts suppressed.

Each analysis counts *citizens* in a table (rows by columns) with row and
column totals. Cells from 1 to ``CONSENT_ANALYSIS_MIN_CELL - 1`` are
suppressed (primary suppression); then, wherever a published total has
exactly one suppressed part, the smallest other part is suppressed too
(complementary suppression), repeated until stable — so no suppressed cell
can be recovered by subtracting published cells from a published total.
Citizens whose refusal covers every recipient for the purpose ``analysis``
(or has no purpose limit and no recipient limit) are left out; if such a
refusal names a data period, only their record data dated inside it is.

Only analysts run them; every run is recorded in the audit log with its
parameters.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from consent.audit.services import Action, Purpose, audit_record
from consent.fhir import MUNICIPAL_SERVICES
from consent.models import (
    CareRelationship,
    ConsentDirective,
    DataCategory,
    RecordResource,
    record_data_date,
)
from core.actors import Actor
from core.errors import Forbidden, InvalidInput, NotFoundOrNotAllowed
from core.models import Citizen, Organisation, Role

SUPPRESSED = None  # a suppressed cell is published as null / "<5"


@dataclass
class Table:
    title: str
    row_header: str
    rows: list[str]
    columns: list[str]
    cells: list[list[int | None]]
    row_totals: list[int | None]
    column_totals: list[int | None]
    total: int | None
    parameters: dict[str, Any] = field(default_factory=dict)
    min_cell: int = 5

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "parameters": self.parameters,
            "suppression": f"counts below {self.min_cell} and cells that would reveal them "
            "are null",
            "columns": self.columns,
            "rows": [
                {self.row_header: name, "cells": cells, "total": total}
                for name, cells, total in zip(self.rows, self.cells, self.row_totals, strict=True)
            ],
            "column_totals": self.column_totals,
            "total": self.total,
        }

    def as_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([self.row_header, *self.columns, "total"])

        def show(value: int | None) -> str:
            return f"<{self.min_cell}" if value is None else str(value)

        for name, cells, total in zip(self.rows, self.cells, self.row_totals, strict=True):
            writer.writerow([name, *(show(c) for c in cells), show(total)])
        writer.writerow(["total", *(show(c) for c in self.column_totals), show(self.total)])
        return out.getvalue()


Key = tuple[Any, ...]


def suppress(
    counts: list[list[int]], min_cell: int
) -> tuple[list[list[int | None]], list[int | None], list[int | None], int | None]:
    """Primary and complementary suppression of a table with its margins.

    Every published total is a *line* of parts (a row of cells, a column of
    cells, the rows' totals, the columns' totals). A shown total with exactly
    one hidden part would reveal it, so a second part is hidden; a hidden
    total whose parts are all shown would be revealed by adding them, so one
    part is hidden. Repeated until nothing changes.
    """
    n_rows = len(counts)
    n_cols = len(counts[0]) if counts else 0
    value: dict[Key, int] = {}
    for r in range(n_rows):
        for c in range(n_cols):
            value[("cell", r, c)] = counts[r][c]
        value[("row", r)] = sum(counts[r])
    for c in range(n_cols):
        value[("col", c)] = sum(counts[r][c] for r in range(n_rows))
    value[("grand",)] = sum(sum(row) for row in counts)
    hidden = {key: 0 < v < min_cell for key, v in value.items()}
    lines: list[tuple[Key, list[Key]]] = [
        (("row", r), [("cell", r, c) for c in range(n_cols)]) for r in range(n_rows)
    ]
    lines += [(("col", c), [("cell", r, c) for r in range(n_rows)]) for c in range(n_cols)]
    lines.append((("grand",), [("row", r) for r in range(n_rows)]))
    lines.append((("grand",), [("col", c) for c in range(n_cols)]))

    def known_zero(key: Key) -> bool:
        """A zero that a shown zero total gives away: hiding it protects nothing."""
        if value[key] != 0:
            return False
        if key[0] != "cell":
            return True
        return value[("row", key[1])] == 0 or value[("col", key[2])] == 0

    lines_of: dict[Key, list[list[Key]]] = {}
    for _, parts in lines:
        for k in parts:
            lines_of.setdefault(k, []).append(parts)

    def pairs_up(key: Key, current: list[Key]) -> int:
        """0 if hiding ``key`` also protects another line's lone hidden part."""
        lone = any(
            sum(1 for k in line if hidden[k]) == 1
            for line in lines_of.get(key, [])
            if line is not current
        )
        return 0 if lone else 1

    def hide_another(total: Key, parts: list[Key]) -> bool:
        shown = [k for k in parts if not hidden[k]]
        pick = [k for k in shown if value[k] > 0] or [k for k in shown if not known_zero(k)]
        if pick:
            hidden[min(pick, key=lambda k: (pairs_up(k, parts), value[k]))] = True
            return True
        if not hidden[total]:
            hidden[total] = True
            return True
        return False

    changed = True
    while changed:
        changed = False
        for total, parts in lines:
            n_hidden = sum(1 for k in parts if hidden[k])
            if (not hidden[total] and n_hidden == 1) or (hidden[total] and n_hidden == 0):
                changed |= hide_another(total, parts)

    def shown(key: Key) -> int | None:
        return None if hidden[key] else value[key]

    return (
        [[shown(("cell", r, c)) for c in range(n_cols)] for r in range(n_rows)],
        [shown(("row", r)) for r in range(n_rows)],
        [shown(("col", c)) for c in range(n_cols)],
        shown(("grand",)),
    )


def _analysis_refusals() -> list[tuple[int, dt.datetime | None, dt.datetime | None]]:
    """Active refusals covering analysis (no recipient limit): (citizen, data
    period start, data period end) — no data period means all the citizen's data."""
    now = timezone.now()
    rows = (
        ConsentDirective.objects.filter(
            provision=ConsentDirective.Provision.DENY,
            withdrawal__isnull=True,
            period_start__lte=now,
            recipient_organisations__isnull=True,
            recipient_users__isnull=True,
        )
        .filter(Q(period_end__isnull=True) | Q(period_end__gt=now))
        .values_list("citizen_id", "purposes", "data_period_start", "data_period_end")
    )
    return [
        (cid, start, end)
        for cid, purposes, start, end in rows
        if not purposes or "analysis" in purposes
    ]


def _excluded_ids() -> set[int]:
    """Citizens whose active refusal covers analysis of all their data."""
    return {cid for cid, start, end in _analysis_refusals() if start is None and end is None}


def _record_for_analysis() -> Any:
    """The record without the citizens refused wholly and without the data
    dated inside a refused data period."""
    refusals = _analysis_refusals()
    whole = {cid for cid, start, end in refusals if start is None and end is None}
    by_period = Q()
    for cid, start, end in refusals:
        if start is None and end is None:
            continue
        one = Q(citizen_id=cid)
        if start is not None:
            one &= Q(dated__gte=start)
        if end is not None:
            one &= Q(dated__lt=end)
        by_period |= one
    qs = RecordResource.objects.exclude(citizen_id__in=whole)
    if by_period:
        qs = qs.annotate(dated=record_data_date()).exclude(by_period)
    return qs


def _municipalities() -> list[Organisation]:
    return list(
        Organisation.objects.filter(
            kind=Organisation.Kind.MUNICIPALITY, participates=True
        ).order_by("municipality_code")
    )


ICD10_PREFIX = re.compile(r"^[A-EG-Z][0-9]{0,2}(\.[0-9]{0,2})?$")


def diagnosis_and_service(*, diagnosis: str, service: str) -> Table:
    """Citizens with an ICD-10 diagnosis (prefix, e.g. E11 or J44) per
    municipality, who do and do not receive a municipal service."""
    diagnosis = diagnosis.strip().upper()
    if not ICD10_PREFIX.match(diagnosis):
        raise InvalidInput(
            "analysis.diagnosis_invalid",
            "diagnosis is an ICD-10 code or prefix outside chapter F, e.g. E11.",
            field="diagnosis",
        )
    if service not in MUNICIPAL_SERVICES:
        raise InvalidInput(
            "analysis.service_invalid",
            f"service is one of {', '.join(MUNICIPAL_SERVICES)}.",
            field="service",
        )
    record = _record_for_analysis()
    with_diagnosis = record.filter(
        category=DataCategory.SOMATIC_DIAGNOSIS, code__istartswith=diagnosis
    )
    receives = record.filter(
        citizen=OuterRef("pk"), category=DataCategory.MUNICIPAL_HELP, code=service
    )
    # Counted in the database: one row per (municipality, receives or not).
    grouped = (
        Citizen.objects.filter(pk__in=with_diagnosis.values("citizen_id"))
        .annotate(receives=Exists(receives))
        .values("municipality_id", "receives")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts_by: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for row in grouped:
        counts_by[row["municipality_id"]][0 if row["receives"] else 1] = row["n"]
    municipalities = _municipalities()
    counts = [counts_by[m.pk] for m in municipalities]
    return _table(
        title=f"Citizens with diagnosis {diagnosis}* by municipality and {service}",
        row_header="municipality",
        rows=[m.name for m in municipalities],
        columns=[f"receives {service}", f"does not receive {service}"],
        counts=counts,
        parameters={"diagnosis": diagnosis, "service": service},
    )


def contacts_around_acute_episode(*, days: int) -> Table:
    """Citizens with hospital contacts in the ``days`` before and after the start
    of an acute episode (a referral or visit of the acute function), per
    municipality."""
    if not 1 <= days <= 365:
        raise InvalidInput("analysis.days_invalid", "days is 1 to 365.", field="days")
    excluded = _excluded_ids()
    window = dt.timedelta(days=days)
    episodes = list(
        CareRelationship.objects.filter(
            organisation__kind=Organisation.Kind.ACUTE_FUNCTION,
            basis__in=[CareRelationship.Basis.REFERRAL, CareRelationship.Basis.VISIT],
        )
        .exclude(citizen_id__in=excluded)
        .values_list("citizen_id", "citizen__municipality_id", "started_at")
    )
    contacts: dict[int, list[dt.datetime]] = defaultdict(list)
    for citizen_id, at in (
        _record_for_analysis()
        .filter(
            category=DataCategory.HOSPITAL_CONTACT,
            citizen_id__in={e[0] for e in episodes},
            effective_at__isnull=False,
        )
        .values_list("citizen_id", "effective_at")
    ):
        if at is not None:
            contacts[citizen_id].append(at)
    before: dict[int, set[int]] = defaultdict(set)
    after: dict[int, set[int]] = defaultdict(set)
    for citizen_id, municipality_id, started in episodes:
        for at in contacts.get(citizen_id, []):
            if started - window <= at < started:
                before[municipality_id].add(citizen_id)
            elif started <= at < started + window:
                after[municipality_id].add(citizen_id)
    municipalities = _municipalities()
    return _table(
        title=f"Citizens with hospital contacts {days} days before/after an acute episode",
        row_header="municipality",
        rows=[m.name for m in municipalities],
        columns=[f"contact in {days} days before", f"contact in {days} days after"],
        counts=[[len(before[m.pk]), len(after[m.pk])] for m in municipalities],
        parameters={"days": days},
    )


def _table(
    *,
    title: str,
    row_header: str,
    rows: list[str],
    columns: list[str],
    counts: list[list[int]],
    parameters: dict[str, Any],
) -> Table:
    min_cell = settings.CONSENT_ANALYSIS_MIN_CELL
    cells, row_totals, column_totals, total = suppress([list(r) for r in counts], min_cell)
    return Table(
        title=title,
        row_header=row_header,
        rows=rows,
        columns=columns,
        cells=cells,
        row_totals=row_totals,
        column_totals=column_totals,
        total=total,
        parameters=parameters,
        min_cell=min_cell,
    )


def _int(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name, str(default))
    if not raw.isdigit():
        raise InvalidInput("analysis.param_invalid", f"{name} is a whole number.", field=name)
    return int(raw)


ANALYSES: dict[str, tuple[str, Callable[[dict[str, str]], Table]]] = {
    "diagnosis-and-service": (
        "Citizens with a diagnosis per municipality who do / do not receive a municipal service "
        "(parameters: diagnosis, service)",
        lambda p: diagnosis_and_service(
            diagnosis=p.get("diagnosis", ""), service=p.get("service", "")
        ),
    ),
    "contacts-around-acute-episode": (
        "Citizens with hospital contacts before / after an acute episode per municipality "
        "(parameter: days, default 30)",
        lambda p: contacts_around_acute_episode(days=_int(p, "days", 30)),
    ),
}


def analysis_run(*, actor: Actor, name: str, params: dict[str, str], export: bool) -> Table:
    """Run a named analysis (analysts only) and audit the run with its parameters."""
    if actor.role != Role.ANALYST:
        raise Forbidden("analysis.role", "Only analysts run analyses (R6).", rule="R6")
    entry = ANALYSES.get(name)
    if entry is None:
        raise NotFoundOrNotAllowed("analysis.unknown", "No such analysis.")
    known = {k: str(v)[:100] for k, v in params.items()}
    table = entry[1](known)
    audit_record(
        actor=actor,
        action=Action.EXPORT if export else Action.SEARCH,
        purpose=Purpose.ANALYSIS,
        citizen_id=None,
        resource_type="Analysis",
        resource_id=name,
        reason_code="restricted_analysis",
        detail={"analysis": name, "parameters": table.parameters, "csv": export},
    )
    return table


__all__ = ["ANALYSES", "Table", "analysis_run", "suppress"]
