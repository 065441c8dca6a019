"""Restricted analyses (R6): named, aggregate-only, differentially private.

Only analysts run them. Each analysis counts *citizens* in a table (rows by
columns). The exact counts never leave this module: every cell gets discrete
Laplace noise (``consent.privacy``) scaled to the most one citizen can change
the table and to the epsilon a new answer costs. The row, column and grand
totals are sums of the noisy cells, so they are noisy too and cost nothing
more. Then every value below ``CONSENT_ANALYSIS_MIN_CELL`` — zero and
negatives included, since a noisy zero says nothing exact — is suppressed, and
wherever a published total would give a hidden value away, another part is
hidden too (complementary suppression). Both are computed from the noisy table
alone, so they cost no privacy.

Suppression inside one table cannot stop an analyst from combining tables:
nested diagnosis prefixes (differencing), a count against its complement and a
total, or a small group padded with a large one and the padding subtracted
(a tracker). Noise does: each answer an analyst combines carries its own noise,
and each costs epsilon from the analyst's privacy budget — an append-only
ledger, summed over a rolling window. A new answer that would take the
analyst's spending above the budget is refused (``analysis.budget_exhausted``).
The same question asked again within the window gets the same answer back at
no cost, so asking it again cannot average the noise away. See
``docs/decisions/0005-differential-privacy-for-analyses.md``.

Citizens whose refusal covers every recipient for the purpose ``analysis``
(or has no purpose limit and no recipient limit) are left out; if such a
refusal names a data period, only their record data dated inside it is.

Every run — a new answer, an answer given again, a refusal — is recorded in
the audit log.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy, ngettext

from consent.audit.services import Action, Outcome, Purpose, audit_record
from consent.fhir import MUNICIPAL_SERVICES
from consent.models import (
    AnalysisRelease,
    CareRelationship,
    ConsentDirective,
    DataCategory,
    PrivacyBudgetEntry,
    RecordResource,
    record_data_date,
)
from consent.privacy import discrete_laplace
from core.actors import Actor
from core.errors import Forbidden, InvalidInput, NotFoundOrNotAllowed
from core.models import Citizen, Organisation, Role, User
from core.validation import full_clean_or_raise

SUPPRESSED = None  # a suppressed value is published as null / "<5"

# Every released table says this, in the analyst's language.
NOISE_NOTE = gettext_lazy(
    "The counts carry random noise (differential privacy) and are not exact; the totals "
    "are sums of the noisy counts. Asking the same question again within the budget "
    "window gives the same answer."
)


@dataclass(frozen=True)
class Privacy:
    """What an answer cost and what the analyst has left."""

    epsilon: Decimal  # what the answer cost when it was first given
    epsilon_spent: Decimal  # what this request cost: nothing when the answer is given again
    reused: bool
    released_at: dt.datetime
    budget: Decimal
    budget_spent: Decimal  # inside the window, this request included
    window_days: int

    @property
    def budget_remaining(self) -> Decimal:
        return max(self.budget - self.budget_spent, Decimal(0))

    def as_dict(self) -> dict[str, Any]:
        return {
            "noisy": True,
            "mechanism": "discrete_laplace",
            "epsilon": float(self.epsilon),
            "epsilon_spent": float(self.epsilon_spent),
            "reused": self.reused,
            "released_at": self.released_at.isoformat(),
            "budget": float(self.budget),
            "budget_spent": float(self.budget_spent),
            "budget_remaining": float(self.budget_remaining),
            "window_days": self.window_days,
            "note": str(NOISE_NOTE),
        }


@dataclass
class Table:
    """One released answer: noisy, suppressed, with what it cost."""

    analysis: str
    title: str
    row_header: str  # the key of each row's name in JSON, e.g. "municipality"
    row_header_label: str
    rows: list[str]
    columns: list[str]
    cells: list[list[int | None]]
    row_totals: list[int | None]
    column_totals: list[int | None]
    total: int | None
    parameters: dict[str, Any]
    min_cell: int
    privacy: Privacy

    def suppression_note(self) -> str:
        return gettext(
            "Counts below %(min_cell)s, and counts that would reveal them, are not shown."
        ) % {"min_cell": self.min_cell}

    def as_dict(self) -> dict[str, Any]:
        return {
            "analysis": self.analysis,
            "title": self.title,
            "parameters": self.parameters,
            "suppression": self.suppression_note(),
            "columns": self.columns,
            "rows": [
                {self.row_header: name, "cells": cells, "total": total}
                for name, cells, total in zip(self.rows, self.cells, self.row_totals, strict=True)
            ],
            "column_totals": self.column_totals,
            "total": self.total,
            "privacy": self.privacy.as_dict(),
        }

    def as_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        total_label = gettext("Total")
        writer.writerow([self.row_header_label, *self.columns, total_label])

        def show(value: int | None) -> str:
            return f"<{self.min_cell}" if value is None else str(value)

        for name, cells, total in zip(self.rows, self.cells, self.row_totals, strict=True):
            writer.writerow([name, *(show(c) for c in cells), show(total)])
        writer.writerow([total_label, *(show(c) for c in self.column_totals), show(self.total)])
        # Below the table, so the table itself reads as before in a spreadsheet.
        writer.writerow([])
        writer.writerow([self.suppression_note()])
        writer.writerow([str(NOISE_NOTE)])
        privacy = self.privacy
        writer.writerow([gettext("Epsilon of this answer"), _number(privacy.epsilon)])
        writer.writerow([gettext("Epsilon spent by this request"), _number(privacy.epsilon_spent)])
        writer.writerow(
            [
                gettext("Budget left (last %(days)s days)") % {"days": privacy.window_days},
                _number(privacy.budget_remaining),
            ]
        )
        return out.getvalue()


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


Key = tuple[Any, ...]


def suppress(
    counts: list[list[int]], min_cell: int
) -> tuple[list[list[int | None]], list[int | None], list[int | None], int | None]:
    """Primary and complementary suppression of a table with its margins.

    Every value below ``min_cell`` is hidden (the counts are noisy, so zero
    and negatives too). Every published total is a *line* of parts (a row of
    cells, a column of cells, the rows' totals, the columns' totals). A shown
    total with exactly one hidden part would reveal it, so a second part is
    hidden; a hidden total whose parts are all shown would be revealed by
    adding them, so one part is hidden. Repeated until nothing changes.
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
    hidden = {key: v < min_cell for key, v in value.items()}
    lines: list[tuple[Key, list[Key]]] = [
        (("row", r), [("cell", r, c) for c in range(n_cols)]) for r in range(n_rows)
    ]
    lines += [(("col", c), [("cell", r, c) for r in range(n_rows)]) for c in range(n_cols)]
    lines.append((("grand",), [("row", r) for r in range(n_rows)]))
    lines.append((("grand",), [("col", c) for c in range(n_cols)]))

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
        if shown:
            hidden[min(shown, key=lambda k: (pairs_up(k, parts), value[k]))] = True
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


@dataclass(frozen=True)
class Counts:
    """An exact table of citizens. Never released: only its noisy copy is."""

    rows: list[str]
    counts: list[list[int]]


@dataclass(frozen=True)
class Analysis:
    name: str
    description: Promise
    # The most one citizen (with or without all their data) changes the table,
    # summed over its cells: what the noise is scaled to.
    sensitivity: int
    parameters: Callable[[Mapping[str, str]], dict[str, Any]]
    count: Callable[[dict[str, Any]], Counts]
    title: Callable[[dict[str, Any]], str]
    columns: Callable[[dict[str, Any]], list[str]]
    row_header: str
    row_header_label: Promise


ICD10_PREFIX = re.compile(r"^[A-EG-Z][0-9]{0,2}(\.[0-9]{0,2})?$")

SERVICE_LABELS: dict[str, Promise] = {
    "home-help": gettext_lazy("home help"),
    "personal-care": gettext_lazy("personal care"),
    "home-nursing": gettext_lazy("home nursing"),
}


def _diagnosis_and_service_parameters(raw: Mapping[str, str]) -> dict[str, Any]:
    diagnosis = raw.get("diagnosis", "").strip().upper()
    if not ICD10_PREFIX.match(diagnosis):
        raise InvalidInput(
            "analysis.diagnosis_invalid",
            gettext("The diagnosis is an ICD-10 code or prefix outside chapter F, e.g. E11."),
            field="diagnosis",
        )
    service = raw.get("service", "").strip().lower()
    if service not in MUNICIPAL_SERVICES:
        raise InvalidInput(
            "analysis.service_invalid",
            gettext("The service is one of %(services)s.")
            % {"services": ", ".join(MUNICIPAL_SERVICES)},
            field="service",
        )
    return {"diagnosis": diagnosis, "service": service}


def _diagnosis_and_service_counts(parameters: dict[str, Any]) -> Counts:
    """Citizens with an ICD-10 diagnosis (prefix) per municipality, who do and
    do not receive a municipal service. A citizen is in one municipality and one
    column: sensitivity 1."""
    record = _record_for_analysis()
    with_diagnosis = record.filter(
        category=DataCategory.SOMATIC_DIAGNOSIS, code__istartswith=parameters["diagnosis"]
    )
    receives = record.filter(
        citizen=OuterRef("pk"), category=DataCategory.MUNICIPAL_HELP, code=parameters["service"]
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
    return Counts(
        rows=[m.name for m in municipalities], counts=[counts_by[m.pk] for m in municipalities]
    )


def _contacts_parameters(raw: Mapping[str, str]) -> dict[str, Any]:
    text = raw.get("days", "30").strip()
    if not text.isdigit():
        raise InvalidInput(
            "analysis.param_invalid",
            gettext("The number of days is a whole number."),
            field="days",
        )
    days = int(text)
    if not 1 <= days <= 365:
        raise InvalidInput(
            "analysis.days_invalid", gettext("The number of days is 1 to 365."), field="days"
        )
    return {"days": days}


def _contacts_counts(parameters: dict[str, Any]) -> Counts:
    """Citizens with hospital contacts in the ``days`` before and after the start
    of an acute episode (a referral or visit of the acute function), per
    municipality. A citizen is in one municipality, once in each column at
    most: sensitivity 2."""
    days = parameters["days"]
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
    return Counts(
        rows=[m.name for m in municipalities],
        counts=[[len(before[m.pk]), len(after[m.pk])] for m in municipalities],
    )


def _service(parameters: dict[str, Any]) -> str:
    return str(SERVICE_LABELS[parameters["service"]])


ANALYSES: dict[str, Analysis] = {
    a.name: a
    for a in (
        Analysis(
            name="diagnosis-and-service",
            description=gettext_lazy(
                "Citizens with a diagnosis per municipality who do / do not receive a "
                "municipal service (parameters: diagnosis, service)"
            ),
            sensitivity=1,
            parameters=_diagnosis_and_service_parameters,
            count=_diagnosis_and_service_counts,
            title=lambda p: (
                gettext("Citizens with diagnosis %(diagnosis)s* by municipality and %(service)s")
                % {"diagnosis": p["diagnosis"], "service": _service(p)}
            ),
            columns=lambda p: [
                gettext("receives %(service)s") % {"service": _service(p)},
                gettext("does not receive %(service)s") % {"service": _service(p)},
            ],
            row_header="municipality",
            row_header_label=gettext_lazy("Municipality"),
        ),
        Analysis(
            name="contacts-around-acute-episode",
            description=gettext_lazy(
                "Citizens with hospital contacts before / after an acute episode per "
                "municipality (parameter: days, default 30)"
            ),
            sensitivity=2,
            parameters=_contacts_parameters,
            count=_contacts_counts,
            title=lambda p: (
                ngettext(
                    "Citizens with hospital contacts %(days)s day before/after an acute episode",
                    "Citizens with hospital contacts %(days)s days before/after an acute episode",
                    p["days"],
                )
                % {"days": p["days"]}
            ),
            columns=lambda p: [
                ngettext(
                    "contact in %(days)s day before", "contact in %(days)s days before", p["days"]
                )
                % {"days": p["days"]},
                ngettext(
                    "contact in %(days)s day after", "contact in %(days)s days after", p["days"]
                )
                % {"days": p["days"]},
            ],
            row_header="municipality",
            row_header_label=gettext_lazy("Municipality"),
        ),
    )
}


@dataclass(frozen=True)
class Budget:
    """An analyst's privacy budget now."""

    budget: Decimal
    spent: Decimal
    epsilon_per_run: Decimal
    window_days: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "budget": float(self.budget),
            "budget_spent": float(self.spent),
            "budget_remaining": float(max(self.budget - self.spent, Decimal(0))),
            "epsilon_per_run": float(self.epsilon_per_run),
            "window_days": self.window_days,
        }


def _window() -> dt.timedelta:
    return dt.timedelta(days=settings.CONSENT_ANALYSIS_BUDGET_WINDOW_DAYS)


def _spent(*, analyst: User, since: dt.datetime) -> Decimal:
    total = PrivacyBudgetEntry.objects.filter(analyst=analyst, spent_at__gt=since).aggregate(
        total=Sum("epsilon")
    )["total"]
    return total if total is not None else Decimal(0)


def analysis_budget(*, actor: Actor) -> Budget:
    """What the acting analyst has spent of the privacy budget in the window."""
    if actor.role != Role.ANALYST or actor.user is None:
        raise Forbidden("analysis.role", gettext("Only analysts run analyses (R6)."), rule="R6")
    return Budget(
        budget=settings.CONSENT_ANALYSIS_EPSILON_BUDGET,
        spent=_spent(analyst=actor.user, since=timezone.now() - _window()),
        epsilon_per_run=settings.CONSENT_ANALYSIS_EPSILON_PER_RUN,
        window_days=settings.CONSENT_ANALYSIS_BUDGET_WINDOW_DAYS,
    )


def _release_new(
    *,
    analyst: User,
    analysis: Analysis,
    parameters: dict[str, Any],
    key: str,
    epsilon: Decimal,
    at: dt.datetime,
) -> AnalysisRelease:
    """Count, add noise, suppress, and keep the answer with its ledger entry."""
    exact = analysis.count(parameters)
    noise_epsilon = Fraction(epsilon)
    noisy = [
        [n + discrete_laplace(epsilon=noise_epsilon, sensitivity=analysis.sensitivity) for n in row]
        for row in exact.counts
    ]
    min_cell = settings.CONSENT_ANALYSIS_MIN_CELL
    cells, row_totals, column_totals, total = suppress(noisy, min_cell)
    release = AnalysisRelease(
        analyst=analyst,
        analysis=analysis.name,
        parameters=parameters,
        parameters_key=key,
        table={
            "rows": exact.rows,
            "cells": cells,
            "row_totals": row_totals,
            "column_totals": column_totals,
            "total": total,
            "min_cell": min_cell,
        },
        epsilon=epsilon,
        sensitivity=analysis.sensitivity,
        released_at=at,
    )
    # The analyst's row is locked by the caller and the release was just
    # written: asking the database again whether they exist proves nothing.
    full_clean_or_raise(release, code="analysis.release_invalid", exclude=["analyst"])
    release.save(force_insert=True)
    entry = PrivacyBudgetEntry(analyst=analyst, release=release, epsilon=epsilon, spent_at=at)
    full_clean_or_raise(entry, code="analysis.budget_entry_invalid", exclude=["analyst", "release"])
    entry.save(force_insert=True)
    return release


def _table(*, analysis: Analysis, release: AnalysisRelease, privacy: Privacy) -> Table:
    data = release.table
    parameters = dict(release.parameters)
    return Table(
        analysis=analysis.name,
        title=analysis.title(parameters),
        row_header=analysis.row_header,
        row_header_label=str(analysis.row_header_label),
        rows=list(data["rows"]),
        columns=analysis.columns(parameters),
        cells=[list(row) for row in data["cells"]],
        row_totals=list(data["row_totals"]),
        column_totals=list(data["column_totals"]),
        total=data["total"],
        parameters=parameters,
        min_cell=int(data["min_cell"]),
        privacy=privacy,
    )


def _when_budget_allows(*, analyst: User, since: dt.datetime, need: Decimal) -> dt.datetime:
    """The moment enough of the window's spending has left it for ``need`` more."""
    budget = settings.CONSENT_ANALYSIS_EPSILON_BUDGET
    entries = PrivacyBudgetEntry.objects.filter(analyst=analyst, spent_at__gt=since).order_by(
        "spent_at"
    )
    spent = sum((e.epsilon for e in entries), Decimal(0))
    for entry in entries:
        spent -= entry.epsilon
        if spent + need <= budget:
            return entry.spent_at + _window()
    return timezone.now()


def _audit_refusal(
    *, actor: Actor, action: str, name: str, reason_code: str, detail: dict[str, Any]
) -> None:
    audit_record(
        actor=actor,
        action=action,
        purpose=Purpose.ANALYSIS,
        citizen_id=None,
        outcome=Outcome.DENIED,
        resource_type="Analysis",
        resource_id=name[:64],
        reason_code=reason_code,
        detail={"analysis": name[:64], **detail},
    )


def analysis_run(*, actor: Actor, name: str, params: Mapping[str, str], export: bool) -> Table:
    """Answer a named analysis for an analyst (R6): a new noisy answer paid from
    the analyst's privacy budget, or the answer already given to the same
    question within the window, at no cost. Every run and refusal is audited."""
    action = Action.EXPORT if export else Action.SEARCH
    if actor.role != Role.ANALYST or actor.user is None:
        _audit_refusal(
            actor=actor, action=action, name=name, reason_code="role_not_permitted", detail={}
        )
        raise Forbidden("analysis.role", gettext("Only analysts run analyses (R6)."), rule="R6")
    analyst = actor.user
    analysis = ANALYSES.get(name)
    if analysis is None:
        raise NotFoundOrNotAllowed("analysis.unknown", gettext("No such analysis."))
    parameters = analysis.parameters({k: str(v)[:100] for k, v in params.items()})
    key = json.dumps(parameters, sort_keys=True, separators=(",", ":"))
    epsilon = settings.CONSENT_ANALYSIS_EPSILON_PER_RUN
    budget = settings.CONSENT_ANALYSIS_EPSILON_BUDGET
    window_days = settings.CONSENT_ANALYSIS_BUDGET_WINDOW_DAYS
    with transaction.atomic():
        # One analyst's runs one at a time: two at once must neither both spend
        # the last of the budget nor both answer one question with fresh noise.
        list(User.objects.select_for_update().filter(pk=analyst.pk).values_list("pk"))
        now = timezone.now()
        since = now - _window()
        release = (
            AnalysisRelease.objects.filter(
                analyst=analyst, analysis=name, parameters_key=key, released_at__gt=since
            )
            .order_by("-released_at")
            .first()
        )
        spent = _spent(analyst=analyst, since=since)
        reused = release is not None
        if release is None and spent + epsilon <= budget:
            release = _release_new(
                analyst=analyst,
                analysis=analysis,
                parameters=parameters,
                key=key,
                epsilon=epsilon,
                at=now,
            )
            spent += epsilon
        if release is not None:
            privacy = Privacy(
                epsilon=release.epsilon,
                epsilon_spent=Decimal(0) if reused else epsilon,
                reused=reused,
                released_at=release.released_at,
                budget=budget,
                budget_spent=spent,
                window_days=window_days,
            )
            # Last in the transaction: the audit chain's head stays locked until commit.
            audit_record(
                actor=actor,
                action=action,
                purpose=Purpose.ANALYSIS,
                citizen_id=None,
                resource_type="Analysis",
                resource_id=name,
                reason_code="restricted_analysis",
                detail={
                    "analysis": name,
                    "parameters": parameters,
                    "csv": export,
                    "release": release.pk,
                    "reused": reused,
                    "epsilon_spent": _number(privacy.epsilon_spent),
                    "budget_spent": _number(spent),
                    "budget": _number(budget),
                },
            )
            return _table(analysis=analysis, release=release, privacy=privacy)
    # Refused: the transaction above wrote nothing; the refusal is recorded on its own.
    when = _when_budget_allows(analyst=analyst, since=since, need=epsilon)
    _audit_refusal(
        actor=actor,
        action=action,
        name=name,
        reason_code="budget_exhausted",
        detail={
            "parameters": parameters,
            "csv": export,
            "epsilon_requested": _number(epsilon),
            "budget_spent": _number(spent),
            "budget": _number(budget),
        },
    )
    raise Forbidden(
        "analysis.budget_exhausted",
        gettext(
            "Your privacy budget for analyses is used up: %(spent)s of %(budget)s spent in "
            "the last %(days)s days, and a new answer costs %(epsilon)s. A new answer is "
            "possible again from %(when)s. Questions already answered in that time can be "
            "asked again."
        )
        % {
            "spent": formats.number_format(spent.normalize()),
            "budget": formats.number_format(budget.normalize()),
            "days": window_days,
            "epsilon": formats.number_format(epsilon.normalize()),
            "when": formats.date_format(timezone.localtime(when), "DATETIME_FORMAT"),
        },
        rule="R6",
    )


__all__ = ["ANALYSES", "Table", "analysis_budget", "analysis_run", "suppress"]
