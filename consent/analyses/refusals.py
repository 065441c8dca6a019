"""What the analyses leave out (R6 with R4): the citizens whose refusal covers
every recipient for the purpose ``analysis`` (or has no purpose limit and no
recipient limit), and — where such a refusal names a data period — only their
record data dated inside it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import QuerySet
from django.utils import timezone

from consent.gate import HiddenPeriod, consent_in_force
from consent.models import ConsentDirective, RecordResource
from consent.selectors import without_hidden_data


def analysis_refusals() -> list[tuple[int, dt.datetime | None, dt.datetime | None]]:
    """Active refusals covering analysis (no recipient limit): (citizen, data
    period start, data period end) — no data period means all the citizen's data."""
    rows = (
        consent_in_force(timezone.now())
        .filter(
            provision=ConsentDirective.Provision.DENY,
            recipient_organisations__isnull=True,
            recipient_users__isnull=True,
        )
        .values_list("citizen_id", "purposes", "data_period_start", "data_period_end")
    )
    return [
        (cid, start, end)
        for cid, purposes, start, end in rows
        if not purposes or "analysis" in purposes
    ]


def excluded_ids() -> set[int]:
    """Citizens whose active refusal covers analysis of all their data."""
    return {cid for cid, start, end in analysis_refusals() if start is None and end is None}


def record_for_analysis() -> QuerySet[RecordResource]:
    """The record without the citizens refused wholly and without the data
    dated inside a refused data period."""
    whole: set[int] = set()
    periods: dict[int, list[HiddenPeriod]] = defaultdict(list)
    for cid, start, end in analysis_refusals():
        if start is None and end is None:
            whole.add(cid)
        else:
            periods[cid].append((start, end))
    return without_hidden_data(
        RecordResource.objects.exclude(citizen_id__in=whole),
        {cid: tuple(found) for cid, found in periods.items()},
    )
