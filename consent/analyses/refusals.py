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


def analysis_refusals(actor: Actor) -> list[tuple[int, dt.datetime | None, dt.datetime | None]]:
    """Refusals covering ``actor`` for analysis: (citizen, data period start,
    data period end) — no data period means all the citizen's data. Read
    from every citizen with a refusal in force: their consents too, which
    lift the refusals recorded before them."""
    in_force = consent_in_force(timezone.now())
    refusing = in_force.filter(provision=ConsentDirective.Provision.DENY).values("citizen_id")
    by_citizen: dict[int, list[ConsentDirective]] = defaultdict(list)
    for directive in in_force.filter(citizen_id__in=refusing).prefetch_related(
        "recipient_organisations", "recipient_users"
    ):
        by_citizen[directive.citizen_id].append(directive)
    found: list[tuple[int, dt.datetime | None, dt.datetime | None]] = []
    for citizen_id, directives in by_citizen.items():
        whole, periods = refusal_for(directives, actor, Purpose.ANALYSIS)
        if whole:
            found.append((citizen_id, None, None))
        found.extend((citizen_id, start, end) for start, end in periods)
    return found


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
