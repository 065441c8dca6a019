"""The auditor's API under ``/api/audit/`` (``/fhir/AuditEvent`` is
:mod:`consent.audit.fhir_views`). Auditors only.

Every search, read and export an auditor makes is itself recorded (purpose
``audit``) before the answer leaves, one entry per citizen in the result.
Each reads the part of the log her organisation answers for
(:mod:`consent.audit.scope`); the verification stays the whole log's, which
shows no entry's content.

One module, a little over 500 lines: it is the auditor's door under
``/api/audit/``, its views with the shapes the OpenAPI description gives them
and the strict reading of the query they share (the auditor's pages and the
log's own API read theirs through it too).
"""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    OpenApiTypes,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from consent.audit.cosignatures import WitnessStatus, witness_status
from consent.audit.fhir import (
    audit_bundle,
    break_glass_reason,
)
from consent.audit.models import (
    DIGEST_FIELDS,
    Action,
    AuditEntry,
    EntryReview,
    Flag,
    Outcome,
    Purpose,
)
from consent.audit.scope import auditor_scope
from consent.audit.selectors import (
    audit_entry_read,
    audit_export,
    audit_page_shown,
    audit_query_parse,
    audit_scope_of,
    paging_pinned,
    parse_time_range,
    refused_input_recorded,
)
from consent.audit.services import (
    entry_review,
)
from consent.audit.verify import log_verify
from core.api import actor_of
from core.created import Creates
from core.errors import InvalidInput
from core.fhir.views import base_url
from core.labels import TASKS
from core.messages import WHOLE_NUMBER, WHOLE_NUMBER_FROM
from core.models import Role
from core.openapi import FhirResource, id_query
from core.permissions import roles
from core.query_gate import FORMAT, operation_takes, query_refuse_unlisted
from core.refusals import Concerns
from core.spreadsheet import csv_text
from core.times import api_instant
from core.validation import is_digits

AUDITORS = [roles(Role.AUDITOR)]
# Another role's attempt on the auditors' endpoints is recorded as denied (R9):
# on the log as a whole, or on the citizen of the entry it names.
# A search or export of one citizen's entries is an attempt on her log (R9).
LOG_SEARCH = Concerns("AuditEvent", query="citizen", purpose=Purpose.AUDIT, action=Action.SEARCH)
LOG_EXPORT = Concerns("AuditEvent", query="citizen", purpose=Purpose.AUDIT, action=Action.EXPORT)
LOG_VERIFY = Concerns("AuditEvent", purpose=Purpose.AUDIT, action=Action.READ)
LOG_ENTRY = Concerns("AuditEvent", AuditEntry, path="entry_id", purpose=Purpose.AUDIT)
MAX_LIMIT = 200
TIME_PARAM = (
    "ISO date (a whole day, Copenhagen time) or date-time with its offset from UTC"
    " (2026-10-25T02:30:00+01:00, ...Z); a date-time without one is refused (time.naive)."
)
# The entry's own fields, as its digest covers them; of the detail, the parts
# an auditor sorts by have columns of their own (below).
CSV_COLUMNS = ["id", "recorded_at", *(f for f in DIGEST_FIELDS if f != "detail")]
# From the entry's detail: the break-the-glass an emergency access was made
# under, and the reason the clinician stated for it. Then the auditors' flags.
CSV_EXTRA_COLUMNS = ["break_glass_id", "break_glass_reason", "flags"]


def _review_dict(review: EntryReview | None) -> dict[str, Any] | None:
    if review is None:
        return None
    return {
        "reviewed_by": review.reviewed_by.username,
        "reviewed_by_id": review.reviewed_by_id,
        "reviewed_at": api_instant(review.reviewed_at),
        "comment": review.comment,
    }


def entry_dict(entry: AuditEntry, flags: list[str], review: EntryReview | None) -> dict[str, Any]:
    return {
        "id": entry.id,
        "recorded_at": api_instant(entry.recorded_at),
        "actor": {
            "user_id": entry.actor_user_id,
            "username": entry.actor_username,
            "role": entry.actor_role,
            "organisation_id": entry.actor_organisation_id,
            "organisation_name": entry.actor_organisation_name,
            "task": entry.task,
            "partner_organisation_id": entry.partner_organisation_id,
        },
        "citizen_id": entry.citizen_id,
        "action": entry.action,
        "resource_type": entry.resource_type,
        "resource_id": entry.resource_id,
        "purpose": entry.purpose,
        "outcome": entry.outcome,
        "reason_code": entry.reason_code,
        "request_id": entry.request_id,
        "client_address": entry.client_address,
        "user_agent": entry.user_agent,
        "detail": entry.detail,
        "flags": flags,
        "review": _review_dict(review),
    }


# --- the shapes for the OpenAPI description (core/openapi.py) -----------------------


class ReviewOut(serializers.Serializer[Any]):
    reviewed_by = serializers.CharField()
    reviewed_by_id = serializers.IntegerField()
    reviewed_at = serializers.DateTimeField()
    comment = serializers.CharField(allow_blank=True)


class EntryActorOut(serializers.Serializer[Any]):
    user_id = serializers.IntegerField(allow_null=True)
    username = serializers.CharField(allow_blank=True)
    role = serializers.CharField(allow_blank=True)
    organisation_id = serializers.IntegerField(allow_null=True)
    organisation_name = serializers.CharField(allow_blank=True)
    task = serializers.CharField(allow_blank=True, help_text="Background work: the task's name.")
    partner_organisation_id = serializers.IntegerField(allow_null=True)


class EntryOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    recorded_at = serializers.DateTimeField()
    actor = EntryActorOut()
    citizen_id = serializers.IntegerField(allow_null=True)
    action = serializers.ChoiceField(choices=Action.choices)
    resource_type = serializers.CharField(allow_blank=True)
    resource_id = serializers.CharField(allow_blank=True)
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    reason_code = serializers.CharField(allow_blank=True)
    request_id = serializers.CharField(allow_blank=True)
    client_address = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField(allow_blank=True)
    detail = serializers.DictField()
    flags = serializers.ListField(child=serializers.ChoiceField(choices=Flag.choices))
    review = ReviewOut(allow_null=True)


class EntryReviewedOut(ReviewOut):
    entry_id = serializers.IntegerField()


class ReviewIn(serializers.Serializer[Any]):
    comment = serializers.CharField(allow_blank=True)


class CheckedLogOut(serializers.Serializer[Any]):
    log = serializers.CharField()
    size = serializers.IntegerField()
    signed_at = serializers.DateTimeField()


class WitnessRefusalOut(serializers.Serializer[Any]):
    witness = serializers.CharField()
    refused_at = serializers.DateTimeField()
    problem = serializers.CharField(allow_blank=True)


class WitnessOut(serializers.Serializer[Any]):
    last_witnessed_at = serializers.DateTimeField(
        allow_null=True, help_text="When a witness last cosigned a checkpoint (none: never)."
    )
    age_seconds = serializers.IntegerField(allow_null=True)
    stale = serializers.BooleanField(
        help_text="No cosignature for longer than `stale_after_minutes`, or none at all."
    )
    stale_after_minutes = serializers.IntegerField()
    refusals = WitnessRefusalOut(
        many=True, help_text="The newest checkpoints a witness refused as not append-only."
    )


def witness_dict(status: WitnessStatus, now: dt.datetime) -> dict[str, Any]:
    last = status.last_witnessed
    return {
        "last_witnessed_at": last,
        "age_seconds": None if last is None else max(0, int((now - last).total_seconds())),
        "stale": status.stale,
        "stale_after_minutes": settings.AUDIT_WITNESS_STALE_MINUTES,
        "refusals": [
            {"witness": r.witness, "refused_at": r.cosigned_at, "problem": r.problem}
            for r in status.refusals
        ],
    }


class VerificationOut(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    checked = serializers.IntegerField()
    first_id = serializers.IntegerField(allow_null=True)
    last_id = serializers.IntegerField(allow_null=True)
    broken_id = serializers.IntegerField(allow_null=True)
    problem = serializers.CharField(allow_blank=True)
    message = serializers.CharField()
    logs = CheckedLogOut(many=True, help_text="Each year's newest checkpoint (whole log only).")
    witnesses = WitnessOut(help_text="The witnesses' word on the log, as the console shows it.")


def _listed(choices: Any) -> str:
    return "One or more, comma-separated: " + ", ".join(f"`{c}`" for c in choices.values) + "."


FILTERS = [
    id_query("citizen", "A citizen's internal id."),
    id_query("user", "A user's id."),
    id_query("organisation", "An organisation's id."),
    OpenApiParameter("from", str, required=False, description=TIME_PARAM),
    OpenApiParameter("to", str, required=False, description=TIME_PARAM),
    OpenApiParameter("purpose", str, required=False, description=_listed(Purpose)),
    OpenApiParameter("action", str, required=False, description=_listed(Action)),
    OpenApiParameter(
        "role", str, required=False, description="The role the actor acted in. " + _listed(Role)
    ),
    OpenApiParameter(
        "task",
        str,
        required=False,
        description="Background work: the task or command as the entry names it. "
        + "One or more, comma-separated: "
        + ", ".join(f"`{t}`" for t in sorted(TASKS))
        + ".",
    ),
    OpenApiParameter(
        "actor_kind",
        str,
        required=False,
        description="Who made the entry: `person` (a person's own request), `task` (background"
        " work: a scheduled job or a command), `partner` (a message from or to a partner)."
        " One or more, comma-separated.",
    ),
    OpenApiParameter("outcome", str, required=False, enum=Outcome.values),
    OpenApiParameter("flag", str, required=False, enum=Flag.values),
    OpenApiParameter("unreviewed", str, required=False, enum=["1", "true"]),
    id_query(
        "as_of",
        "An entry's id: only it and older entries are searched. The `next` link carries"
        " the newest entry the first page found, so the pages stay put while new"
        " entries arrive.",
    ),
]


def _search_refused(view: APIView, request: Request, refused: InvalidInput, *, action: str) -> None:
    """A search or export whose query the API's gate refuses
    (``core/query_gate.py``: a parameter it does not take, or one given
    twice) is an attempt all the same (R9), recorded as denied. A misspelt
    ``citzen=`` was read as no filter at all and searched (and recorded
    against) every citizen in the log; ``citizen=5&citizen=7`` as 7 alone.
    ``cpr`` and ``identifier`` are refused for what they are
    (``audit.cpr_not_accepted``)."""
    actor = actor_of(request)
    query = request.query_params
    params = {k: str(v) for k, v in query.items() if k != "as"}
    with refused_input_recorded(actor=actor, action=action, params=params, asked=query):
        takes = operation_takes(type(view), "GET").names
        query_refuse_unlisted(query, {*takes, "cpr", "identifier", FORMAT}, supported=sorted(takes))
        audit_query_parse(params, scope=auditor_scope(actor))
        raise refused


def whole_number_param(request: Request, name: str, *, digits: int, default: int | None) -> int:
    """A query parameter that is a whole number of at most ``digits`` digits;
    ``default`` when it is left out (none: it must be given)."""
    raw = request.query_params.get(name, "")
    if raw == "" and default is not None:
        return default
    if not is_digits(raw) or len(raw) > digits:
        raise InvalidInput(
            "audit.param_invalid",
            f"{name} must be a whole number.",
            field=name,
            params={"name": name, "expected": WHOLE_NUMBER},
        )
    return int(raw)


def _offset_limit(request: Request) -> tuple[int, int]:
    """``limit`` is 1 to ``MAX_LIMIT``: 0 or more than the most was read as
    1 or the most, a page the caller did not ask for; it is refused instead."""
    offset = whole_number_param(request, "offset", digits=9, default=0)
    limit = whole_number_param(request, "limit", digits=9, default=50)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(
            "audit.param_invalid",
            f"limit must be a whole number from 1 to {MAX_LIMIT}.",
            field="limit",
            params={"name": "limit", "least": 1, "most": MAX_LIMIT, "expected": WHOLE_NUMBER_FROM},
        )
    return offset, limit


class AuditEntryListView(APIView):
    """``GET /api/audit/entries`` filtered by ``citizen, user, organisation, from, to,
    purpose, action, role, task, actor_kind, outcome, flag, unreviewed``; paged by
    ``offset``/``limit``."""

    permission_classes = AUDITORS
    concerns = LOG_SEARCH

    def query_refused(self, request: Request, refused: InvalidInput) -> None:
        _search_refused(self, request, refused, action=Action.SEARCH)

    @extend_schema(
        operation_id="audit_entries_search",
        parameters=[
            *FILTERS,
            OpenApiParameter("offset", {"type": "integer", "minimum": 0}, required=False),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                required=False,
                description=f"1 to {MAX_LIMIT} (default 50); any other value is refused"
                " (400 audit.param_invalid).",
            ),
        ],
        responses={
            200: inline_serializer(
                "AuditEntries",
                {
                    "results": EntryOut(many=True),
                    "offset": serializers.IntegerField(),
                    "limit": serializers.IntegerField(),
                    "next": serializers.URLField(allow_null=True),
                },
            )
        },
    )
    def get(self, request: Request) -> Response:
        actor = actor_of(request)
        asked = {k: str(v) for k, v in request.query_params.items()}
        scope = audit_scope_of(actor=actor, action=Action.SEARCH)
        with refused_input_recorded(
            actor=actor, action=Action.SEARCH, params=asked, asked=request.query_params
        ):
            query = audit_query_parse(request.query_params, scope=scope)
            offset, limit = _offset_limit(request)
        shown = audit_page_shown(actor=actor, query=query, offset=offset, count=limit)
        next_url = None
        if shown.more:
            pinned = paging_pinned(query=query, entries=shown.entries, offset=offset)
            params = {**pinned.as_params(), "offset": str(offset + limit), "limit": str(limit)}
            next_url = f"{request.build_absolute_uri(request.path)}?{urlencode(params)}"
        return Response(
            {
                "results": [
                    entry_dict(e, shown.flags.get(e.id, []), shown.reviews.get(e.id))
                    for e in shown.entries
                ],
                "offset": offset,
                "limit": limit,
                "next": next_url,
            }
        )


class AuditEntryDetailView(APIView):
    permission_classes = AUDITORS
    concerns = LOG_ENTRY

    @extend_schema(operation_id="audit_entries_read", responses={200: EntryOut})
    def get(self, request: Request, entry_id: int) -> Response:
        found = audit_entry_read(actor=actor_of(request), entry_id=entry_id)
        return Response(entry_dict(found.entry, found.flags, found.review))


class AuditEntryReviewView(APIView):
    """``POST /api/audit/entries/<id>/review {"comment": "..."}``"""

    permission_classes = AUDITORS
    concerns = LOG_ENTRY
    creates = Creates(None)

    @extend_schema(
        operation_id="audit_entries_review",
        request=ReviewIn,
        responses={201: EntryReviewedOut},
    )
    def post(self, request: Request, entry_id: int) -> Response:
        actor = actor_of(request)
        comment = request.data.get("comment") if isinstance(request.data, dict) else None
        if not isinstance(comment, str):
            raise InvalidInput(
                "audit.review_comment_required", "A review needs a comment.", field="comment"
            )
        scope = audit_scope_of(actor=actor, action=Action.UPDATE)
        review = entry_review(entry_id=entry_id, actor=actor, comment=comment, scope=scope)
        return Response({"entry_id": entry_id, **(_review_dict(review) or {})}, status=201)


def csv_response(rows: list[AuditEntry], flags: dict[int, list[str]]) -> HttpResponse:
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow([*CSV_COLUMNS, *CSV_EXTRA_COLUMNS])
    for e in rows:
        values = [getattr(e, c) for c in CSV_COLUMNS]
        values[1] = api_instant(e.recorded_at)
        values += [e.detail.get("break_glass_id"), break_glass_reason(e)]
        writer.writerow(
            ["" if v is None else csv_text(str(v)) for v in values]
            + [" ".join(flags.get(e.id, []))]
        )
    return response


class AuditExportView(APIView):
    """``GET /api/audit/export?as=csv|fhir&<the search filters>``"""

    permission_classes = AUDITORS
    concerns = LOG_EXPORT

    def query_refused(self, request: Request, refused: InvalidInput) -> None:
        _search_refused(self, request, refused, action=Action.EXPORT)

    @extend_schema(
        operation_id="audit_export",
        parameters=[OpenApiParameter("as", str, required=False, enum=["csv", "fhir"]), *FILTERS],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="With `as=csv`."),
            (200, "application/fhir+json"): OpenApiResponse(
                FhirResource, description="With `as=fhir`: a Bundle of AuditEvents."
            ),
        },
    )
    def get(self, request: Request) -> Response | HttpResponse:
        actor = actor_of(request)
        params: dict[str, str] = {k: str(v) for k, v in request.query_params.items() if k != "as"}
        scope = audit_scope_of(actor=actor, action=Action.EXPORT)
        with refused_input_recorded(
            actor=actor, action=Action.EXPORT, params=params, asked=request.query_params
        ):
            # Not "format": REST framework reads that one for content negotiation.
            fmt = request.query_params.get("as", "csv")
            if fmt not in ("csv", "fhir"):
                raise InvalidInput("audit.param_invalid", "as must be csv or fhir.", field="as")
            query = audit_query_parse(params, scope=scope)
        rows, flags = audit_export(actor=actor, query=query, as_format=fmt)
        if fmt == "csv":
            return csv_response(rows, flags)
        return Response(
            audit_bundle(rows, base=base_url(request)), content_type="application/fhir+json"
        )


class AuditVerifyView(APIView):
    """``GET /api/audit/verify?from=&to=`` — checks every entry (or those of a
    time range) against the transparency log, and for the whole log each
    year's tree against its signed checkpoint."""

    permission_classes = AUDITORS
    concerns = LOG_VERIFY

    @extend_schema(
        operation_id="audit_verify",
        parameters=[
            OpenApiParameter("from", str, required=False, description=TIME_PARAM),
            OpenApiParameter("to", str, required=False, description=TIME_PARAM),
        ],
        responses={200: VerificationOut},
    )
    def get(self, request: Request) -> Response:
        actor_of(request)
        # The gate refuses a misspelt ``form=`` (read as no range, the whole
        # log was checked) and a ``from`` given twice ("intact" was said of
        # another range than asked).
        params = request.query_params
        since, until = parse_time_range(params.get("from"), params.get("to"))
        result = log_verify(since=since, until=until)
        fields = ("ok", "checked", "first_id", "last_id", "broken_id", "problem")
        logs = [
            {"log": c.log, "size": c.size, "signed_at": c.signed_at} for c in result.checkpoints
        ]
        now = timezone.now()
        body = {
            **{name: getattr(result, name) for name in fields},
            "message": result.describe(),
            "logs": logs,
            "witnesses": witness_dict(witness_status(now), now),
        }
        return Response(VerificationOut(body).data)


# --- FHIR ----------------------------------------------------------------------
