"""The trial's follow-up figures (*opfølgningstal*): aggregates only, no
citizen data, as rows or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from acute.deadlines import LOCAL
from acute.models import Episode, Referral, Visit
from core.errors import InvalidInput

PERIODS = ("day", "month")


def _period_key(at: dt.datetime, period: str) -> str:
    local = at.astimezone(LOCAL)
    return f"{local:%Y-%m-%d}" if period == "day" else f"{local:%Y-%m}"


def figures(*, start: dt.date, end: dt.date, period: str) -> list[dict[str, Any]]:
    """The trial's follow-up figures per period (local days or months), from
    referrals received in ``[start, end]``: reached within deadline per urgency,
    municipality and referrer; mean minutes from referral to arrival; episodes
    treated at home versus admitted; visits per municipality. Aggregates only."""
    if period not in PERIODS:
        raise InvalidInput("figures.period_invalid", "Period is day or month.", field="period")
    if end < start:
        raise InvalidInput("figures.range_invalid", "The end is before the start.", field="end")
    if (end - start).days > 366:
        raise InvalidInput("figures.range_too_long", "At most a year at a time.", field="end")
    since = dt.datetime.combine(start, dt.time(0), tzinfo=LOCAL)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=LOCAL)
    referrals = Referral.objects.filter(
        received_at__gte=since, received_at__lt=until, status__in=["accepted", "closed"]
    ).values_list(
        "received_at",
        "deadline_at",
        "reached_at",
        "urgency",
        "source",
        "episode__municipality__name",
    )
    buckets: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    arrival_minutes: dict[str, list[float]] = defaultdict(list)
    for received_at, deadline_at, reached_at, urgency, source, municipality in referrals:
        key = _period_key(received_at, period)
        met = reached_at is not None and reached_at <= deadline_at
        for dimension, value in (
            ("urgency", urgency),
            ("municipality", municipality),
            ("referrer", source),
            ("all", "all"),
        ):
            bucket = buckets[(key, dimension, value)]
            bucket[0] += 1
            bucket[1] += int(met)
        if reached_at is not None:
            arrival_minutes[key].append((reached_at - received_at).total_seconds() / 60)
    outcomes: dict[tuple[str, str], int] = defaultdict(int)
    for closed_at, outcome in Episode.objects.filter(
        status=Episode.Status.COMPLETED, closed_at__gte=since, closed_at__lt=until
    ).values_list("closed_at", "outcome"):
        if closed_at is not None:
            outcomes[(_period_key(closed_at, period), outcome)] += 1
    visits: dict[tuple[str, str], int] = defaultdict(int)
    for on_site_at, municipality in Visit.objects.filter(
        on_site_at__gte=since, on_site_at__lt=until
    ).values_list("on_site_at", "citizen__municipality__name"):
        if on_site_at is not None:
            visits[(_period_key(on_site_at, period), municipality)] += 1
    rows: list[dict[str, Any]] = []
    for (key, dimension, value), (total, reached) in sorted(buckets.items()):
        rows.append(
            {
                "period": key,
                "figure": "reached_within_deadline",
                "dimension": dimension,
                "value": value,
                "count": total,
                "met": reached,
                "share": round(reached / total, 3) if total else None,
            }
        )
    for key, minutes in sorted(arrival_minutes.items()):
        rows.append(
            {
                "period": key,
                "figure": "minutes_referral_to_arrival",
                "dimension": "all",
                "value": "mean",
                "count": len(minutes),
                "met": None,
                "share": None,
                "mean_minutes": round(sum(minutes) / len(minutes), 1),
            }
        )
    totals: dict[str, int] = defaultdict(int)
    for (key, _outcome), count in outcomes.items():
        totals[key] += count
    for (key, outcome), count in sorted(outcomes.items()):
        rows.append(
            {
                "period": key,
                "figure": "episode_outcome",
                "dimension": "outcome",
                "value": outcome,
                "count": count,
                "met": None,
                "share": round(count / totals[key], 3),
            }
        )
    for (key, municipality), count in sorted(visits.items()):
        rows.append(
            {
                "period": key,
                "figure": "visits",
                "dimension": "municipality",
                "value": municipality,
                "count": count,
                "met": None,
                "share": None,
            }
        )
    return rows


FIGURE_COLUMNS = (
    "period",
    "figure",
    "dimension",
    "value",
    "count",
    "met",
    "share",
    "mean_minutes",
)


def figures_csv(rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIGURE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in FIGURE_COLUMNS})
    return out.getvalue()
