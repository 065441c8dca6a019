"""What the analyses leave out (R6 with R4): the citizens whose refusal covers
the analyst who asks for the purpose ``analysis`` — every recipient, her
organisation (or one above it, when the refusal includes sub-units) or her by
name — and, where such a refusal names a data period, only their record data
dated inside it. Which refusals cover her, and which a later consent of the
citizen lifts, is the gate's own rule (:func:`consent.gate.refusal_for`), so
the analyses leave out what every other door withholds from her."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import QuerySet
from django.utils import timezone

from consent.gate import HiddenPeriod, Purpose, consent_in_force, refusal_for
from consent.models import ConsentDirective, RecordResource
from consent.selectors import without_hidden_data
from core.actors import Actor
from core.models import Membership, Role


def _refusing_directives() -> dict[int, list[ConsentDirective]]:
    """Every citizen with a refusal in force, with all her directives in
    force: her consents too, which lift the refusals recorded before them."""
    in_force = consent_in_force(timezone.now())
    refusing = in_force.filter(provision=ConsentDirective.Provision.DENY).values("citizen_id")
    by_citizen: dict[int, list[ConsentDirective]] = defaultdict(list)
    for directive in in_force.filter(citizen_id__in=refusing).prefetch_related(
        "recipient_organisations", "recipient_users"
    ):
        by_citizen[directive.citizen_id].append(directive)
    return by_citizen


def _covering(
    by_citizen: dict[int, list[ConsentDirective]], actor: Actor
) -> list[tuple[int, dt.datetime | None, dt.datetime | None]]:
    found: list[tuple[int, dt.datetime | None, dt.datetime | None]] = []
    for citizen_id, directives in by_citizen.items():
        whole, periods = refusal_for(directives, actor, Purpose.ANALYSIS)
        if whole:
            found.append((citizen_id, None, None))
        found.extend((citizen_id, start, end) for start, end in periods)
    return found


def analysis_refusals(actor: Actor) -> list[tuple[int, dt.datetime | None, dt.datetime | None]]:
    """Refusals covering ``actor`` for analysis: (citizen, data period start,
    data period end) — no data period means all the citizen's data."""
    return _covering(_refusing_directives(), actor)


def refused_to_any_analyst() -> dict[int, tuple[HiddenPeriod, ...]]:
    """What a release given alike to every analyst leaves out (the follow-up
    figures, decision 0035): each citizen whose refusal covers analysis by
    any analyst now named (an active analyst's membership), with the data
    periods it names — ``(None, None)`` for all her data. Exact counts kept
    apart per analyst would differ by exactly these citizens, so one refusal
    naming one analyst or her organisation leaves the citizen out for all."""
    by_citizen = _refusing_directives()
    found: dict[int, set[HiddenPeriod]] = defaultdict(set)
    if by_citizen:
        analysts = Membership.objects.filter(role=Role.ANALYST, is_active=True).select_related(
            "user", "organisation"
        )
        for membership in analysts:
            for citizen_id, start, end in _covering(by_citizen, Actor.for_membership(membership)):
                found[citizen_id].add((start, end))
    return {
        citizen_id: ((None, None),) if (None, None) in periods else tuple(periods)
        for citizen_id, periods in found.items()
    }


def excluded_ids(actor: Actor) -> set[int]:
    """Citizens whose active refusal covers analysis of all their data by ``actor``."""
    return {cid for cid, start, end in analysis_refusals(actor) if start is None and end is None}


def record_for_analysis(actor: Actor) -> QuerySet[RecordResource]:
    """The record without the citizens refused wholly to ``actor`` and without
    the data dated inside a data period refused to her."""
    whole: set[int] = set()
    periods: dict[int, list[HiddenPeriod]] = defaultdict(list)
    for cid, start, end in analysis_refusals(actor):
        if start is None and end is None:
            whole.add(cid)
        else:
            periods[cid].append((start, end))
    return without_hidden_data(
        RecordResource.objects.exclude(citizen_id__in=whole),
        {cid: tuple(found) for cid, found in periods.items()},
    )
