"""The trial's follow-up figures (*opfølgningstal*): aggregates only, no
citizen data, as rows or CSV.

Coordinators run the function and get the exact totals, by day or month. An
analyst evaluates the trial across citizens (R6): she gets whole months that
have ended, with every count below the minimum cell size, and every count
that would give one away, suppressed. A month's first release to analysts is
kept and given again to every later request of it, so no two answers of one
month differ by a citizen decided, written or corrected in between
(docs/decisions/0035). A month first released after a citizen refused
analysis (R4) leaves her out, for every analyst. Every release is audited."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from acute.deadlines import LOCAL
from acute.models import Episode, FiguresMonthRelease, Referral, Visit
from consent.analyses import refused_to_any_analyst, suppress
from consent.audit.services import Action, Outcome, Purpose, audit_record
from consent.gate import HiddenPeriod, in_hidden_period
from core.actors import Actor
from core.errors import InvalidInput, PlatformError
from core.logging import scrub
from core.models import Role
from core.spreadsheet import BOM, csv_decimal, csv_text
from core.times import read_day

PERIODS = ("day", "month")
_CHUNK = 2000
# Citizens, or periods of their data, that figures leave out (R4).
LeftOut = Mapping[int, tuple[HiddenPeriod, ...]]


def _hidden(left_out: LeftOut, citizen_id: int, at: dt.datetime) -> bool:
    return in_hidden_period(at, left_out.get(citizen_id, ()))


def _period_key(at: dt.datetime, period: str) -> str:
    local = at.astimezone(LOCAL)
    return f"{local:%Y-%m-%d}" if period == "day" else f"{local:%Y-%m}"


def deadline_met(
    *,
    deadline_at: dt.datetime,
    reached_at: dt.datetime | None,
    open_: bool,
    on_hold: bool,
    closed_at: dt.datetime | None,
    now: dt.datetime,
) -> bool | None:
    """Whether a referral met its deadline (R10), or None while that is not
    decided: a nurse at the door in time met it; one who came later, or none
    by a deadline that has passed, missed it. Not decided, and so not counted:
    an open referral whose deadline is still ahead, or that is on hold while
    the citizen is in hospital (its deadline moves on when she comes home),
    and a referral closed with its episode before its deadline without a
    visit (the citizen admitted, or the episode ended otherwise)."""
    if reached_at is not None:
        return reached_at <= deadline_at
    if open_:
        return None if on_hold or deadline_at >= now else False
    return False if deadline_at < (closed_at or now) else None


# The platform's figures are of its own referrals: a date outside these years
# is a slip of the keys, and the last day of 9999 has no next day to end at.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def _within_years(*, start: dt.date, end: dt.date) -> None:
    for name, day in (("start", start), ("end", end)):
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise InvalidInput(
                "figures.date_out_of_range",
                "The dates must lie in the years 2000 to 2100.",
                field=name,
            )


# The one form of a date the figures take, on the API and the page alike
# (core.times.read_day): ``fromisoformat`` alone also reads ``20260101`` and
# ``2026-W01-1``, and DRF's date field ``2026-1-1`` and full-width digits, so
# one form was answered on one door and refused on the other.


def figures_date(raw: str, *, field: str) -> dt.date:
    """A date of the figures as typed: ``YYYY-MM-DD`` in ASCII digits, a real
    day, nothing else (``figures.date_invalid``, naming the field, never what
    was typed)."""
    day = read_day(raw)
    if day is not None:
        return day
    raise InvalidInput(
        "figures.date_invalid", "Dates as YYYY-MM-DD.", field=field, params={"name": field}
    )


def figures_params_once(params: Mapping[str, Sequence[str]]) -> None:
    """Each of the figures' parameters is given once: read as its last value,
    ``period=day&period=month`` was answered by month and
    ``start=…&start=…`` for one of two periods, without the reader knowing
    which. Refused (``figures.param_repeated``) on the API and the page alike."""
    repeated = sorted(k for k, values in params.items() if len(values) > 1)
    if repeated:
        names = ", ".join(scrub(k)[:30] for k in repeated)
        raise InvalidInput(
            "figures.param_repeated",
            f"{names} may be given only once for the figures.",
            field=scrub(repeated[0])[:30],
            params={"names": names},
        )


def figures(
    *, start: dt.date, end: dt.date, period: str, left_out: LeftOut | None = None
) -> list[dict[str, Any]]:
    """The trial's follow-up figures per period (local days or months), from
    referrals received in ``[start, end]``: reached within deadline (of those
    whose deadline is decided, :func:`deadline_met`) per urgency,
    municipality and referrer; mean minutes from referral to arrival; episodes
    treated at home versus admitted; visits per municipality. Aggregates only.
    ``left_out``: the citizens (or periods of their data) the figures leave
    out, each referral, episode end and visit by the moment it is dated."""
    hidden = left_out or {}
    _within_years(start=start, end=end)
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
        "status",
        "on_hold_since",
        "episode__closed_at",
        "citizen_id",
    )
    now = timezone.now()
    buckets: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    # Per period: how many arrived and their minutes summed, never a list of
    # every arrival (a year of referrals is read in chunks, not held at once).
    arrivals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for row in referrals.iterator(chunk_size=_CHUNK):
        received_at, deadline_at, reached_at, urgency, source, municipality = row[:6]
        status, on_hold_since, closed_at, citizen_id = row[6:]
        if _hidden(hidden, citizen_id, received_at):
            continue
        key = _period_key(received_at, period)
        if reached_at is not None:
            arrivals[key][0] += 1
            arrivals[key][1] += (reached_at - received_at).total_seconds() / 60
        met = deadline_met(
            deadline_at=deadline_at,
            reached_at=reached_at,
            open_=status == Referral.Status.ACCEPTED,
            on_hold=on_hold_since is not None,
            closed_at=closed_at,
            now=now,
        )
        if met is None:
            continue
        for dimension, value in (
            ("urgency", urgency),
            ("municipality", municipality),
            ("referrer", source),
            ("all", "all"),
        ):
            bucket = buckets[(key, dimension, value)]
            bucket[0] += 1
            bucket[1] += int(met)
    outcomes: dict[tuple[str, str], int] = defaultdict(int)
    for closed_at, outcome, citizen_id in (
        Episode.objects.filter(
            status=Episode.Status.COMPLETED, closed_at__gte=since, closed_at__lt=until
        )
        .values_list("closed_at", "outcome", "citizen_id")
        .iterator(chunk_size=_CHUNK)
    ):
        if closed_at is not None and not _hidden(hidden, citizen_id, closed_at):
            outcomes[(_period_key(closed_at, period), outcome)] += 1
    visits: dict[tuple[str, str], int] = defaultdict(int)
    # A visit counts for the municipality its episode belongs to (who shares
    # the cost), not where the citizen lives today: a citizen who moved, or a
    # municipality that has left the function, keeps its past visits.
    for on_site_at, municipality, citizen_id in (
        Visit.objects.filter(on_site_at__gte=since, on_site_at__lt=until)
        .values_list("on_site_at", "episode__municipality__name", "episode__citizen_id")
        .iterator(chunk_size=_CHUNK)
    ):
        if on_site_at is not None and not _hidden(hidden, citizen_id, on_site_at):
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
    for key, (arrived, minutes) in sorted(arrivals.items()):
        rows.append(
            {
                "period": key,
                "figure": "minutes_referral_to_arrival",
                "dimension": "all",
                "value": "mean",
                "count": int(arrived),
                "met": None,
                "share": None,
                "mean_minutes": round(minutes / arrived, 1),
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


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return csv_decimal(value)
    if isinstance(value, str):
        return csv_text(value)
    return str(value)


def figures_csv(rows: Iterable[dict[str, Any]]) -> str:
    """The rows for a spreadsheet: a byte order mark so a municipality's æ,
    ø and å read right, decimal commas, and no text cell (a municipality's or
    a referrer's name) that could start a formula."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.DictWriter(out, fieldnames=FIGURE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(row.get(k)) for k in FIGURE_COLUMNS})
    return out.getvalue()


def figures_release(
    *, actor: Actor, start: dt.date, end: dt.date, period: str
) -> list[dict[str, Any]]:
    """The figures as ``actor`` may have them, audited: exact for the
    coordinator's operations, whole months with small counts suppressed for
    the analyst (R6). A request refused for its dates or period is audited
    too, as refused."""
    analyst = actor.role == Role.ANALYST
    min_cell = settings.CONSENT_ANALYSIS_MIN_CELL
    kept: dict[str, Any] = {}
    try:
        _within_years(start=start, end=end)
        if analyst:
            _whole_months(start=start, end=end, period=period)
            rows, first_released = _months_released(start=start, end=end, min_cell=min_cell)
            kept = {"min_cell": min_cell, "months_first_released": first_released}
        else:
            rows = figures(start=start, end=end, period=period)
    except PlatformError as refused:
        figures_refused(actor=actor, reason_code=refused.code, field=refused.field)
        raise
    audit_record(
        actor=actor,
        action=Action.EXPORT,
        purpose=Purpose.ANALYSIS if analyst else Purpose.OPERATIONS,
        citizen_id=None,
        resource_type="Figures",
        detail={
            "start": start.isoformat(),
            "end": end.isoformat(),
            "period": period,
            "rows": len(rows),
            **kept,
        },
    )
    return rows


# The order :func:`figures` gives its rows in: by figure, then period.
_FIGURE_ORDER = {
    name: rank
    for rank, name in enumerate(
        ("reached_within_deadline", "minutes_referral_to_arrival", "episode_outcome", "visits")
    )
}


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first day of every month from ``start`` (a first day) to ``end``."""
    months, month = [], start
    while month <= end:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def _months_released(
    *, start: dt.date, end: dt.date, min_cell: int
) -> tuple[list[dict[str, Any]], int]:
    """The analysts' rows of whole, ended months (R6), and how many of the
    months were released for the first time now. A month released before is
    given as it was (:class:`acute.models.FiguresMonthRelease`); one not yet
    is worked out, suppressed and kept. Two analysts asking at once for a
    month not yet kept both get the one kept first."""
    months = _months(start, end)
    with transaction.atomic():
        kept = set(
            FiguresMonthRelease.objects.filter(month__in=months).values_list("month", flat=True)
        )
        now = timezone.now()
        # A citizen who refused analysis (R4) is not counted in a month
        # released from now on; a month released before keeps her, as given.
        left_out = refused_to_any_analyst() if len(kept) < len(months) else {}
        new = [
            FiguresMonthRelease(
                month=month,
                rows=suppressed(
                    figures(
                        start=month,
                        end=(month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1),
                        period="month",
                        left_out=left_out,
                    ),
                    min_cell=min_cell,
                ),
                min_cell=min_cell,
                released_at=now,
            )
            for month in months
            if month not in kept
        ]
        FiguresMonthRelease.objects.bulk_create(new, ignore_conflicts=True)
        released = FiguresMonthRelease.objects.filter(month__in=months).order_by("month")
        rows = [dict(row) for release in released for row in release.rows]
    rows.sort(key=lambda row: (_FIGURE_ORDER[row["figure"]], row["period"]))
    return rows, len(new)


def figures_refused(*, actor: Actor, reason_code: str, field: str | None = None) -> None:
    """A request for the figures refused for what it asked (its dates, its
    period, a parameter they do not take), on the audit log as refused: about
    no citizen, naming the field, never what was typed into it."""
    audit_record(
        actor=actor,
        action=Action.EXPORT,
        purpose=Purpose.ANALYSIS if actor.role == Role.ANALYST else Purpose.OPERATIONS,
        citizen_id=None,
        outcome=Outcome.DENIED,
        resource_type="Figures",
        reason_code=reason_code,
        detail={"field": field} if field else {},
    )


def _whole_months(*, start: dt.date, end: dt.date, period: str) -> None:
    if period != "month":
        raise InvalidInput(
            "figures.period_not_allowed",
            "Analysts get the figures by month.",
            field="period",
        )
    if start.day != 1:
        raise InvalidInput(
            "figures.range_not_whole_months",
            "The start must be the first day of a month.",
            field="start",
        )
    if (end + dt.timedelta(days=1)).day != 1:
        raise InvalidInput(
            "figures.range_not_whole_months",
            "The end must be the last day of a month.",
            field="end",
        )
    if end >= timezone.localdate().replace(day=1):
        # A month still under way grows by the day: two answers a day apart
        # would differ by that day's referrals, down to a single citizen.
        raise InvalidInput(
            "figures.month_not_ended",
            "Analysts get the figures of months that have ended.",
            field="end",
        )


def suppressed(rows: list[dict[str, Any]], *, min_cell: int) -> list[dict[str, Any]]:
    """The rows with every count below ``min_cell`` hidden (``None``), and
    every count hidden that would let one be worked out from a total.

    Each period's deadline figures form a table per dimension (one row per
    urgency, municipality or referrer; columns met and not met; its margins
    are the row counts, the met and not-met totals and the period's total);
    outcomes and visits are one-row tables whose total is the period's.
    Shares are shown only where the counts behind them are; the mean minutes
    to arrival where at least ``min_cell`` arrivals are behind it, their
    number only where it gives no count away beside the deadline total.
    """
    out = [dict(row) for row in rows]
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    totals: dict[str, dict[str, Any]] = {}
    for row in out:
        if row["figure"] == "reached_within_deadline" and row["dimension"] == "all":
            totals[row["period"]] = row
        elif row["figure"] != "minutes_referral_to_arrival":
            groups[(row["period"], row["figure"], row["dimension"])].append(row)
    hidden_totals: set[str] = set()
    hidden_met: set[str] = set()
    for (period, figure, _dimension), members in groups.items():
        if figure == "reached_within_deadline":
            table = [[row["met"], row["count"] - row["met"]] for row in members]
            cells, row_totals, column_totals, grand = suppress(table, min_cell)
            for row, (met, _not_met), count in zip(members, cells, row_totals, strict=True):
                row["count"], row["met"] = count, met
                _share_if_shown(row)
            if grand is None:
                hidden_totals.add(period)
            if None in column_totals:
                hidden_met.add(period)
        else:
            cells, _rows, _columns, grand = suppress([[row["count"] for row in members]], min_cell)
            for row, count in zip(members, cells[0], strict=True):
                row["count"] = count
                if count is None:
                    row["share"] = None
    for period, row in totals.items():
        if period in hidden_totals or row["count"] < min_cell:
            row["count"] = row["met"] = row["share"] = None
        elif period in hidden_met or min(row["met"], row["count"] - row["met"]) < min_cell:
            row["met"] = row["share"] = None
    for row in out:
        if row["figure"] != "minutes_referral_to_arrival":
            continue
        if row["count"] < min_cell:
            row["count"] = row["mean_minutes"] = None
        elif _arrivals_give_away(row["count"], totals.get(row["period"]), min_cell):
            # A mean of this many arrivals tells no one's; their number would.
            row["count"] = None
    return out


def _arrivals_give_away(arrived: int, total: dict[str, Any] | None, min_cell: int) -> bool:
    """Whether a period's count of arrivals, beside its deadline total as
    published, gives a small count away: every referral a nurse reached is a
    decided one, so the decided less the arrivals are those nobody reached,
    and the arrivals less those met are those reached late."""
    if total is None:
        return False
    decided, met = total["count"], total["met"]
    return (decided is not None and decided - arrived < min_cell) or (
        met is not None and arrived - met < min_cell
    )


def _share_if_shown(row: dict[str, Any]) -> None:
    if row["count"] is None or row["met"] is None:
        row["met"] = row["share"] = None
