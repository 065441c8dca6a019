"""The auditor's pages: search with filters, flagged entries to review, an
entry's detail with its review, export, and the chain's verification.

Reads go through the same selectors as the API and are recorded the same way
(purpose ``audit``) before the page is rendered.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from consent.audit.api import csv_response
from consent.audit.chain import chain_verify
from consent.audit.cosignatures import witness_status
from consent.audit.fhir import break_glass_reason
from consent.audit.models import Action, Flag, Outcome, Purpose
from consent.audit.selectors import (
    audit_entry_get,
    audit_export,
    audit_page_shown,
    audit_query_parse,
    flags_and_reviews,
)
from consent.audit.services import audit_record_auditor_view, entry_review
from core.errors import PlatformError
from core.models import Role
from core.pages import page_actor, render_page
from core.permissions import page

PAGE_SIZE = 50


def _search(request: HttpRequest, *, template: str, forced: dict[str, str]) -> HttpResponse:
    actor = page_actor(request)
    params: dict[str, str] = {k: str(v) for k, v in request.GET.items() if v and k != "offset"}
    params.update(forced)
    offset = request.GET.get("offset", "0")
    context: dict[str, object] = {
        "params": params,
        "flags": Flag.choices,
        "purposes": Purpose.choices,
        "actions": Action.choices,
        "outcomes": Outcome.choices,
        "rows": [],
        **_witness_context(),
    }
    try:
        query = audit_query_parse(params)
        start = int(offset) if offset.isdigit() else 0
        shown = audit_page_shown(actor=actor, query=query, offset=start, count=PAGE_SIZE)
    except PlatformError as exc:
        return render_page(request, template, context, error=exc)
    for entry in shown.entries:
        entry.flag_list = _flag_labels(shown.flags.get(entry.id, []))  # type: ignore[attr-defined]
        entry.review = shown.reviews.get(entry.id)  # type: ignore[attr-defined]
    context.update(
        rows=shown.entries,
        next_query=urlencode({**params, "offset": start + PAGE_SIZE}) if shown.more else "",
        export_query=urlencode(params),
    )
    return render_page(request, template, context)


def _flag_labels(kinds: list[str]) -> list[str]:
    """The flags as the page names them (translated there), never as codes."""
    return [str(Flag(kind).label) for kind in kinds]


@page(Role.AUDITOR)
def audit_search_page(request: HttpRequest) -> HttpResponse:
    return _search(request, template="audit/search.html", forced={})


def _witness_context() -> dict[str, object]:
    """The age of the last witnessed checkpoint and the witnesses' alarms."""
    return {"witness": witness_status(), "witness_limit": settings.AUDIT_WITNESS_STALE_MINUTES}


@page(Role.AUDITOR)
def audit_flagged_page(request: HttpRequest) -> HttpResponse:
    return _search(request, template="audit/flagged.html", forced={"unreviewed": "1"})


@page(Role.AUDITOR)
def audit_entry_page(request: HttpRequest, entry_id: int) -> HttpResponse:
    actor = page_actor(request)
    try:
        entry = audit_entry_get(entry_id=entry_id)
    except PlatformError as exc:
        return render_page(request, "audit/entry.html", {}, error=exc)
    flags, reviews = flags_and_reviews([entry.id])
    audit_record_auditor_view(
        actor=actor,
        action=Action.READ,
        citizen_ids=[entry.citizen_id],
        query={"entry": str(entry.id)},
    )
    return render_page(
        request,
        "audit/entry.html",
        {
            "entry": entry,
            "flag_list": _flag_labels(flags.get(entry.id, [])),
            "review": reviews.get(entry.id),
            "break_glass_id": entry.detail.get("break_glass_id"),
            "break_glass_reason": break_glass_reason(entry),
        },
    )


@page(Role.AUDITOR)
@require_POST
def audit_review_page(request: HttpRequest, entry_id: int) -> HttpResponse:
    actor = page_actor(request)
    try:
        entry_review(entry_id=entry_id, actor=actor, comment=request.POST.get("comment", ""))
    except PlatformError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The entry is marked reviewed."))
    return redirect("audit-entry-page", entry_id=entry_id)


@page(Role.AUDITOR)
def audit_export_page(request: HttpRequest) -> HttpResponse:
    actor = page_actor(request)
    params: dict[str, str] = {k: str(v) for k, v in request.GET.items() if v}
    try:
        query = audit_query_parse(params)
        rows, flags = audit_export(actor=actor, query=query, as_format="csv")
    except PlatformError as exc:
        return render_page(request, "audit/search.html", {"params": params, "rows": []}, error=exc)
    return csv_response(rows, flags)


@page(Role.AUDITOR)
def audit_verify_page(request: HttpRequest) -> HttpResponse:
    page_actor(request)
    result = chain_verify()
    return render_page(request, "audit/verify.html", {"result": result})
