"""Pages of ``consent``: the citizen's insight report (R5, *Min Log*), printable."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from consent.selectors import INSIGHT_YEARS, insight_report
from core.errors import NotFoundOrNotAllowed
from core.models import Citizen, Role
from core.permissions import actor_from_request, page


@page(Role.AUDITOR)
@require_http_methods(["GET", "POST"])
def insight_find(request: HttpRequest) -> HttpResponse:
    """Find the citizen by CPR number (in the form body, never in the URL)."""
    error = ""
    if request.method == "POST":
        cpr = request.POST.get("cpr", "").replace("-", "").strip()
        found = Citizen.objects.filter(cpr=cpr).values_list("pk", flat=True).first()
        if found is not None and len(cpr) == 10:
            return redirect("consent-insight", citizen_id=found)
        error = "No citizen with that CPR number."
    return render(
        request, "consent/insight_find.html", {"error": error}, status=400 if error else 200
    )


# Open to every member of staff so that the gate, not the page's role list,
# refuses anyone but an auditor: the refusal names a citizen and is recorded.
@page()
@require_http_methods(["GET"])
def insight(request: HttpRequest, citizen_id: int) -> HttpResponse:
    actor = actor_from_request(request)
    assert actor is not None
    try:
        report = insight_report(actor=actor, citizen_id=citizen_id)
    except NotFoundOrNotAllowed:
        raise Http404 from None
    return render(request, "consent/insight.html", {"report": report, "years": INSIGHT_YEARS})
