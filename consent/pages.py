"""Pages of ``consent``: the citizen's insight report (R5, *Min Log*),
printable, and the analyst's restricted analyses (R6).

The analyses page lists the named analyses with what the analyst has left of
the privacy budget. A run is a POST, sent once per form (``core.form_once``),
that sends her on to the answer's own page (post/redirect/get): a reload, a
double tap or back and send again shows that answer, runs nothing and spends
nothing. The answer's page (and its CSV) is hers alone, read again at no
cost and recorded like the run. Every member of staff reaches the run and the
answer's page, so that :mod:`consent.analyses` — not the page's role list —
refuses anyone but an analyst and records the refusal (R9).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils.translation import gettext, gettext_noop

from consent.analyses import (
    ANALYSES,
    NOISE_NOTE,
    SERVICE_LABELS,
    Table,
    analysis_budget,
    analysis_release_read,
    analysis_run,
)
from consent.audit.selectors import audit_citizens_find
from consent.audit.services import Action, Purpose
from consent.fhir import MUNICIPAL_SERVICES
from consent.selectors import INSIGHT_YEARS, insight_report
from core.errors import Forbidden, InvalidInput, NotFoundOrNotAllowed, PlatformError
from core.form_once import FIELD as FORM_REF
from core.form_once import once_per_form
from core.middleware import not_allowed
from core.models import Citizen, Role
from core.pages import page_actor, render_page
from core.permissions import actor_from_request, page, serves
from core.refusals import Concerns
from core.times import shown

# Another role's look-up here is recorded as denied (R9), on the citizen
# whose CPR number it posted if there is one (never the number itself), as
# the auditor's own look-up is recorded.
INSIGHT_LOOKUP = Concerns("AuditEvent", cpr="cpr", purpose=Purpose.AUDIT, action=Action.SEARCH)


@page(Role.AUDITOR, concerns=INSIGHT_LOOKUP)
@serves("GET", "POST")
def insight_find(request: HttpRequest) -> HttpResponse:
    """Find the citizen by CPR number or replacement CPR (in the form body,
    never in the URL); the report's address carries the internal id."""
    if request.method == "GET":
        return render_page(request, "consent/insight_find.html", {})
    cpr = request.POST.get("cpr", "")
    try:
        Citizen.typed(cpr)
        # Recorded like the auditor's every look-up (R9), a miss too: who
        # the platform knows is itself something found.
        # Only a citizen whose whole log is the auditor's: the report shows all of it.
        found = audit_citizens_find(actor=page_actor(request), cpr=cpr, wholly=True)
    except InvalidInput as exc:
        return render_page(request, "consent/insight_find.html", {}, error=exc)
    if not found:
        missing = InvalidInput("citizen.not_found", "No citizen with that CPR number.", field="cpr")
        return render_page(request, "consent/insight_find.html", {}, error=missing)
    return redirect("consent-insight", citizen_id=found[0].pk)


# Open to every member of staff so that the gate, not the page's role list,
# refuses anyone but an auditor: the refusal names a citizen and is recorded.
@page()
@serves("GET")
def insight(request: HttpRequest, citizen_id: int) -> HttpResponse:
    actor = actor_from_request(request)
    assert actor is not None
    try:
        report = insight_report(actor=actor, citizen_id=citizen_id)
    except NotFoundOrNotAllowed:
        raise Http404 from None
    return render(
        request,
        "consent/insight.html",
        {"report": report, "accesses": report.accesses, "years": INSIGHT_YEARS},
    )


def _analyses_context(request: HttpRequest) -> dict[str, Any]:
    return {
        "analyses": list(ANALYSES.values()),
        "budget": analysis_budget(actor=page_actor(request)),
        "services": [(code, SERVICE_LABELS[code]) for code in MUNICIPAL_SERVICES],
        "asked": request.POST.get("analysis", ""),
    }


# Another role refused here is recorded (R6, R9): about no citizen.
@page(
    Role.ANALYST,
    concerns=Concerns(resource_type="Analysis", purpose="analysis", action="search"),
)
@serves("GET")
def analyses_page(request: HttpRequest) -> HttpResponse:
    """The named analyses, each with its questions, and the privacy budget left."""
    return render_page(request, "consent/analyses.html", _analyses_context(request))


@page()
@serves("POST")
@once_per_form(notice=gettext_noop("This question was already sent; its answer is shown."))
def analysis_run_page(request: HttpRequest) -> HttpResponse:
    """Run one analysis and send the analyst to its answer: noisy, with small
    counts hidden and why. ``export`` sends her to the same answer as a
    spreadsheet."""
    actor = page_actor(request)
    name = request.POST.get("analysis", "")
    params = {
        key: values
        for key, values in request.POST.lists()
        if key not in ("analysis", "export", "csrfmiddlewaretoken", FORM_REF)
    }
    export = bool(request.POST.get("export"))
    try:
        table = analysis_run(actor=actor, name=name, params=params, export=export)
    except Forbidden as exc:
        if exc.code == "analysis.role":
            return not_allowed(request)
        return render_page(request, "consent/analyses.html", _analyses_context(request), error=exc)
    except PlatformError as exc:
        return render_page(request, "consent/analyses.html", _analyses_context(request), error=exc)
    if export:
        return redirect("analysis-result-csv", release_id=table.release_id)
    privacy = table.privacy
    if privacy.reused:
        messages.info(
            request,
            gettext(
                "You asked this question on %(at)s: the same answer is shown again, at no cost."
            )
            % {"at": shown(privacy.released_at, "j. F Y H:i")},
        )
    else:
        messages.info(
            request,
            gettext("This answer cost %(cost)s of your budget.")
            % {"cost": floatformat(privacy.epsilon_spent, "-2")},
        )
    return redirect(reverse("analysis-result", kwargs={"release_id": table.release_id}) + "#result")


def _answer(request: HttpRequest, release_id: int, *, export: bool) -> Table | HttpResponse:
    """The answer the analyst was given, through :func:`analysis_release_read`;
    another role or another's answer: "not available" (recorded there)."""
    try:
        return analysis_release_read(
            actor=page_actor(request), release_id=release_id, export=export
        )
    except (Forbidden, NotFoundOrNotAllowed):
        return not_allowed(request)


@page()
@serves("GET")
def analysis_result_page(request: HttpRequest, release_id: int) -> HttpResponse:
    """An answer the analyst was given (where a run sends her): read again
    at no cost."""
    table = _answer(request, release_id, export=False)
    if isinstance(table, HttpResponse):
        return table
    context = _analyses_context(request)
    context.update(table=table, rows=_rows(table), noise_note=NOISE_NOTE)
    return render_page(request, "consent/analyses.html", context)


@page()
@serves("GET")
def analysis_result_csv(request: HttpRequest, release_id: int) -> HttpResponse:
    """The same answer as a spreadsheet."""
    table = _answer(request, release_id, export=True)
    if isinstance(table, HttpResponse):
        return table
    response = HttpResponse(table.as_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{table.analysis}.csv"'
    return response


def _rows(table: Table) -> list[tuple[str, list[int | None], int | None]]:
    return list(zip(table.rows, table.cells, table.row_totals, strict=True))
