"""The coordinator's follow-up figures with charts (aggregates only: no citizen data)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import models
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from acute import selectors as acute_selectors
from acute.models import Outcome, Urgency
from core.errors import InvalidInput, PlatformError
from core.logging import scrub
from core.models import Role
from core.pages import bar_chart, page_actor, render_page
from core.permissions import page
from core.refusals import Concerns


def _choice_label(choices: type[models.TextChoices], value: str) -> str:
    """A stored choice as a person reads it (the label, translated); never the raw value."""
    try:
        return _(choices(value).label)
    except ValueError:
        return value


# The period's fields by the labels the form shows, not the link's "start" and "end".
_FIELD_LABELS = {"start": gettext_lazy("From"), "end": gettext_lazy("To")}
# What the page's form sends; the API's period and output are not drawn here.
_PAGE_PARAMS = ("start", "end")


def _refuse_unknown(query: QueryDict) -> None:
    """A parameter the page does not take is refused, as on ``/api/``: read
    as no period, ``?from=…`` showed the last 30 days as if asked for."""
    unknown = sorted(set(query) - set(_PAGE_PARAMS))
    if unknown:
        names = ", ".join(scrub(k)[:30] for k in unknown)
        raise InvalidInput(
            "figures.param_unknown",
            _(
                "The address holds %(names)s, which this page does not take;"
                " choose the period with From and To."
            )
            % {"names": names},
            field=scrub(unknown[0])[:30],
        )


# Another role refused here is recorded (R6, R9): about no citizen.
@page(
    Role.COORDINATOR,
    concerns=Concerns(resource_type="Figures", purpose="operations", action="export"),
)
def coordinator_figures(request: HttpRequest) -> HttpResponse:
    """Follow-up figures with charts (aggregates only: no citizen data)."""
    today = timezone.localdate()
    typed = {name: request.GET.get(name, "") for name in ("start", "end")}
    dates: dict[str, dt.date] = {}
    refused: list[PlatformError] = []
    fields: tuple[tuple[str, dt.date], ...]
    try:
        acute_selectors.figures_params_once(dict(request.GET.lists()))
        _refuse_unknown(request.GET)
        fields = (("start", today - dt.timedelta(29)), ("end", today))
    except PlatformError as not_taken:
        refused.append(not_taken)
        fields = ()
    for name, default in fields:
        try:
            dates[name] = (
                acute_selectors.figures_date(typed[name], field=name) if typed[name] else default
            )
        except PlatformError as invalid:
            refused.append(invalid)
    if refused:
        acute_selectors.figures_refused(
            actor=page_actor(request), reason_code=refused[0].code, field=refused[0].field
        )
        return render_page(
            request,
            "acute/figures.html",
            {"posted": typed},
            error=PlatformError.all_of(refused),
            field_labels=_FIELD_LABELS,
        )
    start, end = dates["start"], dates["end"]
    try:
        rows = acute_selectors.figures_release(
            actor=page_actor(request), start=start, end=end, period="day"
        )
    except PlatformError as exc:
        return render_page(
            request,
            "acute/figures.html",
            {"start": start, "end": end, "posted": typed},
            error=exc,
            field_labels=_FIELD_LABELS,
        )
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    outcomes: dict[str, int] = defaultdict(int)
    visits: dict[str, int] = defaultdict(int)
    for row in rows:
        if row["figure"] == "reached_within_deadline" and row["dimension"] == "urgency":
            totals[row["value"]][0] += row["met"] or 0
            totals[row["value"]][1] += row["count"]
        elif row["figure"] == "episode_outcome":
            outcomes[row["value"]] += row["count"]
        elif row["figure"] == "visits":
            visits[row["value"]] += row["count"]
    # Only referrals whose deadline is decided are counted (a share of none is
    # no share, not 0 %); a chart with nothing to draw says so instead.
    within = [
        (_choice_label(Urgency, k), round(100 * met / n))
        for k, (met, n) in sorted(totals.items())
        if n
    ]
    outcome_counts = [(_choice_label(Outcome, k), n) for k, n in sorted(outcomes.items())]
    visit_counts = sorted(visits.items())
    return render_page(
        request,
        "acute/figures.html",
        {
            "start": start,
            "end": end,
            "within": within,
            "within_chart": bar_chart(within) if within else None,
            "outcomes_chart": bar_chart(outcome_counts) if outcome_counts else None,
            "visits_chart": bar_chart(visit_counts) if visit_counts else None,
            "rows": rows,
        },
    )
