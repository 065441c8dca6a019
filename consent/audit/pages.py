"""The auditor's pages: search with filters, flagged entries to review, an
entry's detail with its review and the way on to the next flagged one, export,
and the chain's verification.

A citizen is looked up by CPR number or by name in the body of a POST and the
answer is rendered at once: the CPR number is never in a URL or a redirect
(``docs/decisions/0002-cpr-never-in-a-url.md``,
``docs/decisions/0015-the-auditor-finds-a-citizen-by-post.md``); links onward
(older entries, export) carry the citizen's internal id only. Reads go through
the same selectors as the API and are recorded the same way (purpose
``audit``) before the page is rendered; names are read only for entries that
have been recorded. Each auditor sees the part of the log her organisation
answers for (:mod:`consent.audit.scope`); the verification stays the whole
log's.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import replace
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy

from consent.audit.api import (
    LOG_ENTRY,
    LOG_EXPORT,
    LOG_SEARCH,
    LOG_VERIFY,
)
from consent.audit.cosignatures import WITNESS_ALARM, witness_alarm_acknowledge, witness_status
from consent.audit.disclosures import disclosure_recipients
from consent.audit.errors import ALARM_NOT_FOUND, ENTRY_NOT_FOUND
from consent.audit.fhir import break_glass_reason, searched_params
from consent.audit.models import Action, AuditEntry, Flag, Outcome, Purpose
from consent.audit.scope import AuditorScope
from consent.audit.selectors import (
    CITIZENS_FOUND_MAX,
    ActorKind,
    audit_citizen_terms,
    audit_citizens_find,
    audit_entry_read,
    audit_export,
    audit_names,
    audit_next_flagged,
    audit_organisations,
    audit_page_shown,
    audit_query_parse,
    audit_scope_of,
    audit_user_id,
    audit_username,
    paging_pinned,
    refused_input_recorded,
)
from consent.audit.services import entry_review
from consent.audit.verify import log_verify
from core.actors import Actor
from core.catchment import MunicipalityNotParticipating
from core.errors import InvalidInput, PlatformError
from core.form_once import once_per_form
from core.labels import TASKS, reason_label, resource_type_label, task_label
from core.messages import WHOLE_NUMBER, labels, user_message
from core.models import Citizen, Role
from core.pages import PageError, page_actor, render_page
from core.permissions import page, serves
from core.query_gate import query_refuse_unlisted
from core.refusals import Concerns
from core.spreadsheet import BOM, csv_text
from core.templatetags.platform import moment
from core.validation import is_digits

PAGE_SIZE = 50
# Another role's search here is recorded as denied, on the citizen whose CPR
# number it posted if there is one (never the number itself).
SEARCH_BY_CPR = replace(LOG_SEARCH, cpr="cpr")
WITNESS_ALARM_CONCERN = Concerns(WITNESS_ALARM, purpose=Purpose.AUDIT, action=Action.UPDATE)

# The search's filters as they travel in links: internal ids and codes only.
FILTERS = (
    *("citizen", "user", "organisation", "from", "to", "purpose", "action"),
    *("role", "task", "actor_kind", "outcome", "flag"),
)
# The entry the older pages are pinned to (``as_of``) travels in the paging links alone.
PAGING = ("as_of",)


def _filters(data: Mapping[str, str]) -> dict[str, str]:
    params = {key: str(data.get(key, "")).strip() for key in (*FILTERS, *PAGING)}
    params = {key: value for key, value in params.items() if value}
    # A CPR number in a query string is refused by the parser, never echoed back.
    params.update({key: "-" for key in ("cpr", "identifier") if key in data})
    return params


def _refuse_unknown(query: QueryDict, *also: str) -> None:
    """A link's parameter the search does not take is refused, as on
    ``/api/``: read as no filter, a misspelt ``citzen=`` searched (and
    exported) the whole log. So is one given twice: read as its last,
    ``citizen=5&citizen=7`` showed and exported citizen 7 alone."""
    query_refuse_unlisted(query, {*FILTERS, *PAGING, "cpr", "identifier", *also}, supported=FILTERS)


def _offset(raw: str) -> int:
    """Where the page starts: a whole number, as on ``/api/``; anything else is
    refused rather than read as the first page (or sent on to the database)."""
    if raw == "":
        return 0
    if not is_digits(raw) or len(raw) > 9:
        raise InvalidInput(
            "audit.param_invalid",
            "offset must be a whole number.",
            field="offset",
            params={"name": "offset", "expected": WHOLE_NUMBER},
        )
    return int(raw)


def _search(request: HttpRequest, *, template: str, forced: dict[str, str]) -> HttpResponse:
    actor = page_actor(request)
    data = request.POST if request.method == "POST" else request.GET
    params = _filters(data)
    if request.method == "POST":
        params.pop("cpr", None)  # in a form body a CPR number is what the search is for
    params.update(forced)
    offset = request.GET.get("offset", "0")
    context = _search_context(params, data)
    try:
        scope = audit_scope_of(actor=actor, action=Action.SEARCH)
        # What the auditor asked refused is recorded; a search shown records itself.
        with refused_input_recorded(
            actor=actor, action=Action.SEARCH, params=params, asked=request.GET
        ):
            _refuse_unknown(request.GET, "offset", *forced)
            if request.method == "POST":
                _check_form(data, params, username=str(context["username"]), scope=scope)
                if data.get("cpr", "").strip() or data.get("name", "").strip():
                    found = audit_citizens_find(
                        actor=actor, cpr=data.get("cpr", ""), name=data.get("name", "")
                    )
                    if len(found) != 1:
                        return _choose_citizen(request, template, context, params, found)
                    params["citizen"] = str(found[0].pk)
                elif "citizen" in params and data.get("citizen_clear"):
                    params.pop("citizen")
            query = audit_query_parse(params, scope=scope, local=True)
            start = _offset(offset)
        shown = audit_page_shown(actor=actor, query=query, offset=start, count=PAGE_SIZE)
    except PlatformError as exc:
        return _search_refused(request, template, context, exc)
    names = audit_names(shown.entries, scope=scope, citizen_id=query.citizen_id)
    for entry in shown.entries:
        entry.flag_list = _flag_labels(shown.flags.get(entry.id, []))  # type: ignore[attr-defined]
        entry.review = shown.reviews.get(entry.id)  # type: ignore[attr-defined]
        entry.citizen_name = names.citizen(entry.citizen_id)  # type: ignore[attr-defined]
        entry.actor_name = names.users.get(entry.actor_user_id or 0, "")  # type: ignore[attr-defined]
    pinned = paging_pinned(query=query, entries=shown.entries, offset=start)
    as_of = {"as_of": str(pinned.as_of)} if pinned.as_of is not None else {}
    context.update(
        rows=shown.entries,
        searched=True,
        citizen_name=names.citizen(query.citizen_id),
        next_query=(
            urlencode({**params, **as_of, "offset": start + PAGE_SIZE}) if shown.more else ""
        ),
        export_query=urlencode({k: v for k, v in params.items() if k not in PAGING}),
    )
    return render_page(request, template, context)


# The search form's lists: a value not on a list (only a tampered form sends
# one) is refused naming the list and its choices as the page shows them,
# never the parameter's name and the codes the API takes.
_LISTS = {
    name: (title, labels(pgettext_lazy("record label", str(label)) for _v, label in choices))
    for name, title, choices in (
        ("purpose", gettext_lazy("Purpose"), Purpose.choices),
        ("action", gettext_lazy("Action"), Action.choices),
        ("outcome", gettext_lazy("Outcome"), Outcome.choices),
        ("flag", gettext_lazy("Flag"), Flag.choices),
    )
}
# Roles and tasks are named as the pages name them elsewhere (their own translations).
_LISTS["role"] = (gettext_lazy("Role"), labels(label for _v, label in Role.choices))
_LISTS["task"] = (gettext_lazy("Background task"), labels(TASKS.values()))
_LISTS["actor_kind"] = (gettext_lazy("Made by"), labels(label for _v, label in ActorKind.choices))
# The period's fields by the labels the form shows, not the link's "from" and
# "to"; the ids a link carries (a citizen chosen, a member of staff, an
# organisation) by what the page calls them, never the parameter's name.
_FIELD_LABELS = {
    "from": gettext_lazy("From"),
    "to": gettext_lazy("To"),
    "citizen": gettext_lazy("Citizen"),
    "user": gettext_lazy("Who"),
    "organisation": gettext_lazy("Organisation"),
}


def _search_refused(
    request: HttpRequest, template: str, context: dict[str, object], refused: PlatformError
) -> HttpResponse:
    """The search form again with the refusal, naming its fields and lists as the form does."""
    return render_page(
        request,
        template,
        context,
        error=refused,
        field_names={"user": "username"},
        lists=_LISTS,
        field_labels=_FIELD_LABELS,
    )


def _search_context(params: dict[str, str], data: Mapping[str, str]) -> dict[str, object]:
    """What the search page shows before any result: the form's choices and
    the witnesses' word, for every door that shows that page."""
    return {
        "params": params,
        "flags": Flag.choices,
        "purposes": Purpose.choices,
        "actions": Action.choices,
        "outcomes": Outcome.choices,
        "roles": Role.choices,
        "tasks": sorted(((name, str(label)) for name, label in TASKS.items()), key=lambda t: t[1]),
        "actor_kinds": ActorKind.choices,
        "organisations": audit_organisations(),
        "username": str(data.get("username", "")).strip() or audit_username(params.get("user", "")),
        "rows": [],
        "searched": False,
        **_witness_context(),
    }


def _check_form(
    data: Mapping[str, str], params: dict[str, str], *, username: str, scope: AuditorScope
) -> None:
    """Every refused field of the search form at once (each filter on its own,
    the staff member's username, the citizen's CPR number or name); the
    username found becomes the ``user`` filter."""
    errors: list[PlatformError] = []
    for key, value in list(params.items()):
        try:
            audit_query_parse({key: value}, scope=scope, local=True)
        except InvalidInput as exc:
            errors.append(exc)
    try:
        if username:
            params["user"] = str(audit_user_id(username))
    except InvalidInput as exc:
        errors.append(exc)
    if data.get("cpr", "").strip() or data.get("name", "").strip():
        try:
            audit_citizen_terms(cpr=data.get("cpr", ""), name=data.get("name", ""))
        except InvalidInput as exc:
            errors.append(exc)
    if errors:
        raise PlatformError.all_of(errors)


def _choose_citizen(
    request: HttpRequest,
    template: str,
    context: dict[str, object],
    params: dict[str, str],
    found: list[Citizen],
) -> HttpResponse:
    """None or several citizens matched: say so, or let the auditor pick one
    (each a link with the internal id and the other filters)."""
    others = {k: v for k, v in params.items() if k != "citizen"}
    context.update(
        citizens_found=found[:CITIZENS_FOUND_MAX],
        citizens_more=len(found) > CITIZENS_FOUND_MAX,
        citizens_none=not found,
        choose_query=urlencode(others),
        posted={"name": request.POST.get("name", "")},
    )
    return render_page(request, template, context)


def _flag_labels(kinds: list[str]) -> list[str]:
    """The flags as the page names them (translated there), never as codes."""
    return [str(Flag(kind).label) for kind in kinds]


@page(Role.AUDITOR, concerns=SEARCH_BY_CPR)
@serves("GET", "POST")
def audit_search_page(request: HttpRequest) -> HttpResponse:
    return _search(request, template="audit/search.html", forced={})


def _witness_context() -> dict[str, object]:
    """The age of the last witnessed checkpoint and the witnesses' alarms."""
    return {"witness": witness_status(), "witness_limit": settings.AUDIT_WITNESS_STALE_MINUTES}


@page(Role.AUDITOR, concerns=LOG_SEARCH)
@serves("GET")
def audit_flagged_page(request: HttpRequest) -> HttpResponse:
    return _search(request, template="audit/flagged.html", forced={"unreviewed": "1"})


def _entry_context(actor: Actor, entry_id: int) -> dict[str, object]:
    """An entry with its flags, review and names, its reading recorded first."""
    found = audit_entry_read(actor=actor, entry_id=entry_id)
    entry = found.entry
    names = audit_names([entry], scope=found.scope)
    return {
        "entry": entry,
        "citizen_name": names.citizen(entry.citizen_id),
        "actor_name": names.users.get(entry.actor_user_id or 0, ""),
        "recipient": disclosure_recipients([entry]).get(entry.id, ""),
        "flag_list": _flag_labels(found.flags),
        "review": found.review,
        "break_glass_id": entry.detail.get("break_glass_id"),
        "break_glass_reason": break_glass_reason(entry),
        # A search that showed no citizen says what it searched by (names only).
        "searched_params": searched_params(entry),
        "next_flagged": audit_next_flagged(scope=found.scope, after_entry_id=entry.id),
    }


def _entry_refused(request: HttpRequest, exc: PlatformError) -> HttpResponse:
    """The entry page with its refusal. An id that names no entry is said as
    the API, FHIR and ``audit_prove`` say it (404 ``audit.entry_not_found``),
    and so is an entry outside her scope (decision 0039): it is not the "not
    available" of a refused read, which would send her to the coordinator on
    duty."""
    if exc.code == ENTRY_NOT_FOUND:
        shown = PageError(code=exc.code, message=user_message(exc), field=None, rule=None, count=1)
        return render(request, "audit/entry.html", {"error": shown}, status=404)
    return render_page(request, "audit/entry.html", {}, error=exc)


@page(Role.AUDITOR, concerns=LOG_ENTRY)
@serves("GET")
def audit_entry_page(request: HttpRequest, entry_id: int) -> HttpResponse:
    actor = page_actor(request)
    try:
        context = _entry_context(actor, entry_id)
    except PlatformError as exc:
        return _entry_refused(request, exc)
    return render_page(request, "audit/entry.html", context)


@page(Role.AUDITOR, concerns=LOG_ENTRY)
@serves("POST")
@once_per_form
def audit_review_page(request: HttpRequest, entry_id: int) -> HttpResponse:
    """Mark a flagged entry reviewed, then go on to the next flagged one."""
    actor = page_actor(request)
    try:
        scope = audit_scope_of(actor=actor, action=Action.UPDATE)
        comment = request.POST.get("comment", "")
        entry_review(entry_id=entry_id, actor=actor, comment=comment, scope=scope)
    except PlatformError as exc:
        if exc.code == ENTRY_NOT_FOUND or isinstance(exc, MunicipalityNotParticipating):
            # Recorded by the review (or the refusal); there is no entry to show again.
            return _entry_refused(request, exc)
        try:
            context = _entry_context(actor, entry_id)
        except PlatformError as missing:
            return _entry_refused(request, missing)
        return render_page(request, "audit/entry.html", context, error=exc)
    following = audit_next_flagged(scope=scope, after_entry_id=entry_id)
    if following is None:
        messages.success(request, _("The entry is marked reviewed. No flagged entries are left."))
        return redirect("audit-flagged")
    messages.success(request, _("The entry is marked reviewed. Here is the next flagged entry."))
    return redirect("audit-entry-page", entry_id=following)


@page(Role.AUDITOR, concerns=LOG_EXPORT)
@serves("GET")
def audit_export_page(request: HttpRequest) -> HttpResponse:
    actor = page_actor(request)
    params = _filters(request.GET)
    try:
        scope = audit_scope_of(actor=actor, action=Action.EXPORT)
        with refused_input_recorded(
            actor=actor, action=Action.EXPORT, params=params, asked=request.GET
        ):
            _refuse_unknown(request.GET)
            query = audit_query_parse(params, scope=scope, local=True)
        rows, flags = audit_export(actor=actor, query=query, as_format="csv")
    except PlatformError as exc:
        # The search page as the search shows it (its choices, the witnesses'
        # word): without them it said no witness had ever cosigned.
        return _search_refused(
            request, "audit/search.html", _search_context(params, request.GET), exc
        )
    return _csv_for_people(rows, flags, scope=scope)


def _csv_for_people(
    rows: list[AuditEntry], flags: dict[int, list[str]], *, scope: AuditorScope
) -> HttpResponse:
    """The page's export, for the auditor who opens it in a spreadsheet: the
    time in Copenhagen, roles, actions, purposes, outcomes, reasons and flags
    in words, names beside the ids. (``/api/audit/export`` keeps the codes
    and UTC, for programs.) Call it for entries already recorded as read."""
    names = audit_names(rows, scope=scope)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="auditlog-{stamp}.csv"'
    response.write(BOM)  # so that a spreadsheet reads æ, ø and å as UTF-8
    writer = csv.writer(response)
    writer.writerow(
        [
            _("When (Danish time)"),
            _("Entry"),
            _("Who"),
            _("Username"),
            _("Role"),
            _("Organisation"),
            _("Citizen"),
            _("Citizen id"),
            _("Action"),
            _("Resource"),
            _("Purpose"),
            _("Outcome"),
            _("Reason"),
            _("Break-the-glass reason"),
            _("Flags"),
        ]
    )
    for e in rows:
        who = names.users.get(e.actor_user_id or 0, "") or e.actor_username
        if e.task:
            who = f"{who} · {task_label(e.task)}" if who else task_label(e.task)
        role = str(Role(e.actor_role).label) if e.actor_role in Role.values else ""
        values = [
            moment(e.recorded_at, "Y-m-d H:i:s"),
            str(e.id),
            who,
            e.actor_username,
            role,
            e.actor_organisation_name,
            names.citizen(e.citizen_id),
            "" if e.citizen_id is None else str(e.citizen_id),
            pgettext("record label", e.get_action_display()),
            resource_type_label(e.resource_type),
            pgettext("record label", e.get_purpose_display()),
            pgettext("record label", e.get_outcome_display()),
            reason_label(e.reason_code),
            break_glass_reason(e) or "",
            ", ".join(
                pgettext("record label", label) for label in _flag_labels(flags.get(e.id, []))
            ),
        ]
        writer.writerow([csv_text(v) for v in values])
    return response


@page(Role.AUDITOR, concerns=WITNESS_ALARM_CONCERN)
@serves("POST")
@once_per_form
def audit_alarm_acknowledge_page(request: HttpRequest, refusal_id: int) -> HttpResponse:
    """An auditor acknowledges a witness's alarm: recorded in the audit log,
    and the alarm stays on the console with who acknowledged it and when."""
    actor = page_actor(request)
    try:
        witness_alarm_acknowledge(refusal_id=refusal_id, actor=actor)
    except PlatformError as exc:
        # The console as it stands, with the refusal. An id that names no alarm
        # is said as such (404): an auditor sees every alarm, so it hides nothing.
        context = _search_context({}, {})
        if exc.code == ALARM_NOT_FOUND:
            shown = PageError(
                code=exc.code, message=user_message(exc), field=None, rule=None, count=1
            )
            return render(request, "audit/search.html", {**context, "error": shown}, status=404)
        return render_page(request, "audit/search.html", context, error=exc, lists=_LISTS)
    messages.success(
        request, _("The alarm is acknowledged. The acknowledgement is recorded in the audit log.")
    )
    return redirect("audit-search")


@page(Role.AUDITOR, concerns=LOG_VERIFY)
@serves("GET")
def audit_verify_page(request: HttpRequest) -> HttpResponse:
    page_actor(request)
    result = log_verify()
    return render_page(request, "audit/verify.html", {"result": result, **_witness_context()})
