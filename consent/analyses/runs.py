"""Running a named analysis for an analyst (R6): a new answer — counted, with
discrete Laplace noise in every cell, suppressed, kept with its entry in the
privacy-budget ledger — or the answer already given to the same question over
the same data within the window (at no cost when it was given to her). An
answer she was given is hers to read again by its id, at no cost. Every run,
every reading and every refusal is recorded in the audit log."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext

from consent.analyses.budget import budget_window, spent_since, when_budget_allows
from consent.analyses.catalogue import ANALYSES, Analysis
from consent.analyses.refusals import analysis_refusals
from consent.analyses.suppression import suppress
from consent.analyses.tables import Privacy, Table, number
from consent.audit.services import Action, Outcome, Purpose, audit_record
from consent.models import AnalysisRelease, PrivacyBudgetEntry
from consent.privacy import discrete_laplace
from core.actors import Actor
from core.errors import Forbidden, InvalidInput, NotFoundOrNotAllowed, PlatformError
from core.logging import scrub
from core.models import Role, User
from core.times import shown
from core.validation import full_clean_or_raise


def view_key(actor: Actor) -> str:
    """Which data a question is counted over for ``actor``: a digest of the
    refusals that leave citizens, or periods of their data, out of her
    answers (R4). Two askers with the same digest are counted over the same
    data, so the same question has one answer for both
    (:class:`consent.models.AnalysisRelease`)."""
    left_out = sorted(
        (citizen_id, start.isoformat() if start else "", end.isoformat() if end else "")
        for citizen_id, start, end in analysis_refusals(actor)
    )
    return hashlib.sha256(json.dumps(left_out).encode()).hexdigest()


def _question_lock(name: str, key: str, view: str) -> None:
    """One new answer per question and view at a time, whoever asks: two
    analysts asking it at the same moment must not both get fresh noise. A
    lock held until the transaction ends (SQLite takes one writer at a time
    anyway)."""
    if connection.vendor != "postgresql":
        return
    digest = hashlib.sha256(f"analysis\0{name}\0{key}\0{view}".encode()).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)]
        )


def _release_new(
    *,
    actor: Actor,
    analyst: User,
    analysis: Analysis,
    parameters: dict[str, Any],
    key: str,
    view: str,
    epsilon: Decimal,
    at: dt.datetime,
) -> AnalysisRelease:
    """Count (for ``actor``: the refusals covering her leave citizens out),
    add noise, suppress, and keep the answer with its ledger entry."""
    exact = analysis.count(parameters, actor)
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
        view_key=view,
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
    _receipt(analyst=analyst, release=release, epsilon=epsilon, at=at)
    return release


def _receipt(*, analyst: User, release: AnalysisRelease, epsilon: Decimal, at: dt.datetime) -> None:
    """The analyst pays for an answer the first time she is given it."""
    entry = PrivacyBudgetEntry(analyst=analyst, release=release, epsilon=epsilon, spent_at=at)
    # Whether she has it already was asked under her lock (the database's
    # unique constraint holds it too): asking again here proves nothing.
    full_clean_or_raise(entry, code="analysis.budget_entry_invalid", exclude=["analyst", "release"])
    entry.save(force_insert=True)


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
        release_id=release.pk,
    )


def _audit_run(
    *,
    actor: Actor,
    action: str,
    name: str,
    reason_code: str,
    detail: dict[str, Any],
    outcome: str = Outcome.PERMITTED,
) -> None:
    """A run or a refused one on the audit log: about no citizen, naming the
    analysis asked for (as typed, when no analysis has that name: never a CPR
    number in it)."""
    asked = scrub(name)[:64]
    audit_record(
        actor=actor,
        action=action,
        purpose=Purpose.ANALYSIS,
        citizen_id=None,
        outcome=outcome,
        resource_type="Analysis",
        resource_id=asked,
        reason_code=reason_code,
        detail={"analysis": asked, **detail},
    )


def _checked(analysis: Analysis, params: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """The question's parameters, one value each. One the analysis does not
    take is refused, never ignored: read as left out, a misspelt ``dyas=7``
    was answered (and paid for from the budget) as the default 30 days. One
    given twice is refused, never read as one of its values."""
    unknown = sorted(k for k in params if k not in analysis.takes)
    if unknown:
        names = ", ".join(scrub(k)[:30] for k in unknown)
        raise InvalidInput(
            "analysis.param_unknown",
            gettext("This analysis does not take %(names)s; it takes %(takes)s.")
            % {"names": names, "takes": ", ".join(analysis.takes)},
            field=scrub(unknown[0])[:30],
        )
    repeated = sorted(k for k, values in params.items() if len(values) > 1)
    if repeated:
        raise InvalidInput(
            "analysis.param_repeated",
            gettext("%(names)s may be given only once in a question.")
            % {"names": ", ".join(repeated)},
            field=repeated[0],
        )
    return {k: str(values[0])[:100] for k, values in params.items() if values}


def analysis_request_refuse(*, actor: Actor, name: str, refused: PlatformError) -> None:
    """A run refused before its question is read (a parameter in its address,
    which a question never takes): refused as :func:`analysis_run` refuses a
    role that is no analyst's, and otherwise recorded with ``refused``'s code
    (R9). Nothing is run; the caller raises ``refused``."""
    _analyst_required(actor=actor, action=Action.SEARCH, name=name, detail={})
    _audit_run(
        actor=actor,
        action=Action.SEARCH,
        name=name,
        reason_code=refused.code,
        detail={"field": refused.field},
        outcome=Outcome.DENIED,
    )


def _analyst_required(*, actor: Actor, action: str, name: str, detail: dict[str, Any]) -> None:
    """Only analysts run analyses or read their answers (R6); another role's
    attempt is recorded (R9) and refused."""
    if actor.role == Role.ANALYST and actor.user is not None:
        return
    _audit_run(
        actor=actor,
        action=action,
        name=name,
        reason_code="role_not_permitted",
        detail=detail,
        outcome=Outcome.DENIED,
    )
    raise Forbidden("analysis.role", gettext("Only analysts run analyses (R6)."), rule="R6")


def _question(
    *, actor: Actor, name: str, params: Mapping[str, Sequence[str]], export: bool
) -> tuple[Analysis, dict[str, Any]]:
    """The analysis asked for and its checked parameters; a refusal is recorded (R9)."""
    action = Action.EXPORT if export else Action.SEARCH
    _analyst_required(actor=actor, action=action, name=name, detail={})
    analysis = ANALYSES.get(name)
    try:
        if analysis is None:
            raise NotFoundOrNotAllowed("analysis.unknown", gettext("No such analysis."))
        parameters = analysis.parameters(_checked(analysis, params))
    except PlatformError as refused:
        # A question refused before it is counted is recorded too (R9): which
        # field was wrong, never what was typed into it.
        _audit_run(
            actor=actor,
            action=action,
            name=name,
            reason_code=refused.code,
            detail={"field": refused.field, "csv": export},
            outcome=Outcome.DENIED,
        )
        raise
    assert analysis is not None
    return analysis, parameters


def analysis_run(
    *, actor: Actor, name: str, params: Mapping[str, Sequence[str]], export: bool
) -> Table:
    """Answer a named analysis for an analyst (R6): the answer already given
    to the same question over the same data within the window — at no cost
    if she was given it before, else paid from her privacy budget as a new
    one is — or a new noisy answer paid from her budget. Every run and
    refusal is audited. ``params``: each parameter with every value it was
    given. The table carries its release's id, the address of its page."""
    action = Action.EXPORT if export else Action.SEARCH
    analysis, parameters = _question(actor=actor, name=name, params=params, export=export)
    analyst = actor.user
    assert analyst is not None
    key = json.dumps(parameters, sort_keys=True, separators=(",", ":"))
    epsilon = settings.CONSENT_ANALYSIS_EPSILON_PER_RUN
    budget = settings.CONSENT_ANALYSIS_EPSILON_BUDGET
    window_days = settings.CONSENT_ANALYSIS_BUDGET_WINDOW_DAYS
    with transaction.atomic():
        # One analyst's runs one at a time: two at once must neither both spend
        # the last of the budget nor both answer one question with fresh noise.
        list(User.objects.select_for_update().filter(pk=analyst.pk).values_list("pk"))
        view = view_key(actor)
        # And one new answer to a question over the same data, whoever asks.
        _question_lock(name, key, view)
        now = timezone.now()
        since = now - budget_window()
        release = (
            AnalysisRelease.objects.filter(
                analysis=name, parameters_key=key, view_key=view, released_at__gt=since
            )
            .order_by("-released_at")
            .first()
        )
        spent = spent_since(analyst=analyst, since=since)
        reused = (
            release is not None
            and PrivacyBudgetEntry.objects.filter(analyst=analyst, release=release).exists()
        )
        # An answer new to her costs what its noise is worth: a new one the
        # epsilon per run, one first given to another what it cost them.
        cost = Decimal(0) if reused else (epsilon if release is None else release.epsilon)
        if spent + cost <= budget:
            if release is None:
                release = _release_new(
                    actor=actor,
                    analyst=analyst,
                    analysis=analysis,
                    parameters=parameters,
                    key=key,
                    view=view,
                    epsilon=cost,
                    at=now,
                )
            elif not reused:
                # First given to another analyst over the same data: the
                # same answer, which tells her as much as a new one would.
                _receipt(analyst=analyst, release=release, epsilon=cost, at=now)
            spent += cost
            privacy = Privacy(
                epsilon=release.epsilon,
                epsilon_spent=cost,
                reused=reused,
                released_at=release.released_at,
                budget=budget,
                budget_spent=spent,
                window_days=window_days,
            )
            # Last in the transaction: the audit chain's head stays locked until commit.
            _audit_run(
                actor=actor,
                action=action,
                name=name,
                reason_code="restricted_analysis",
                detail={
                    "parameters": parameters,
                    "csv": export,
                    "release": release.pk,
                    "reused": reused,
                    "epsilon_spent": number(privacy.epsilon_spent),
                    "budget_spent": number(spent),
                    "budget": number(budget),
                },
            )
            return _table(analysis=analysis, release=release, privacy=privacy)
    # Refused: the transaction above wrote nothing; the refusal is recorded on its own.
    when = when_budget_allows(analyst=analyst, since=since, need=cost)
    _audit_run(
        actor=actor,
        action=action,
        name=name,
        reason_code="budget_exhausted",
        outcome=Outcome.DENIED,
        detail={
            "parameters": parameters,
            "csv": export,
            "epsilon_requested": number(cost),
            "budget_spent": number(spent),
            "budget": number(budget),
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
            "epsilon": formats.number_format(cost.normalize()),
            "when": shown(when, "j. F Y H:i"),
        },
        rule="R6",
    )


def analysis_release_read(*, actor: Actor, release_id: int, export: bool) -> Table:
    """An answer the acting analyst was given, shown again by its id (the
    page a run sends her to): no new answer, nothing spent, recorded as
    every run is (R6, R9). Anyone else — another role, an analyst who was
    never given it — is told it is "not found", as of an answer that does not
    exist, and the attempt is recorded as denied: whether an answer exists
    is no-one's to learn but the analysts' who were given it."""
    action = Action.EXPORT if export else Action.READ
    if actor.role != Role.ANALYST or actor.user is None:
        _audit_run(
            actor=actor,
            action=action,
            name=str(release_id),
            reason_code="role_not_permitted",
            detail={"release": release_id},
            outcome=Outcome.DENIED,
        )
        raise NotFoundOrNotAllowed()
    entry = (
        PrivacyBudgetEntry.objects.select_related("release")
        .filter(analyst=actor.user, release_id=release_id)
        .first()
    )
    analysis = ANALYSES.get(entry.release.analysis) if entry is not None else None
    if entry is None or analysis is None:
        _audit_run(
            actor=actor,
            action=action,
            name=str(release_id),
            reason_code="release_not_given_to_analyst",
            detail={"release": release_id},
            outcome=Outcome.DENIED,
        )
        raise NotFoundOrNotAllowed()
    release = entry.release
    now = timezone.now()
    spent = spent_since(analyst=actor.user, since=now - budget_window())
    privacy = Privacy(
        epsilon=release.epsilon,
        epsilon_spent=Decimal(0),
        reused=True,
        released_at=release.released_at,
        budget=settings.CONSENT_ANALYSIS_EPSILON_BUDGET,
        budget_spent=spent,
        window_days=settings.CONSENT_ANALYSIS_BUDGET_WINDOW_DAYS,
    )
    _audit_run(
        actor=actor,
        action=action,
        name=release.analysis,
        reason_code="restricted_analysis",
        detail={
            "parameters": release.parameters,
            "csv": export,
            "release": release.pk,
            "reused": True,
            "epsilon_spent": "0",
            "budget_spent": number(spent),
            "budget": number(privacy.budget),
        },
    )
    return _table(analysis=analysis, release=release, privacy=privacy)
