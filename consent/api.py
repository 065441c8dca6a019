"""Internal API of ``consent``: break-the-glass and the restricted analyses."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    OpenApiTypes,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from consent import services
from consent.analyses import (
    ANALYSES,
    CONTACT_DAYS_DEFAULT,
    CONTACT_DAYS_LEAST,
    CONTACT_DAYS_MOST,
    Table,
    analysis_budget,
    analysis_release_read,
    analysis_request_refuse,
    analysis_run,
)
from consent.gate import CLINICAL_ROLES
from consent.models import BreakGlass
from core.api import actor_of, valid
from core.boundary import json_object_required
from core.created import Creates
from core.errors import InvalidInput
from core.models import Role
from core.permissions import roles
from core.refusals import Concerns
from core.times import api_instant


# The contract names the two grounds a partner may state; the service judges
# what is sent (any other is break_glass.basis_invalid, recorded).
@extend_schema_field({"type": "string", "enum": list(BreakGlass.Basis.values)})
class BasisField(serializers.CharField):
    pass


class BreakGlassIn(serializers.Serializer[Any]):
    citizen_id = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=500, allow_blank=True)
    basis = BasisField(max_length=24)


class BreakGlassCitizenIn(serializers.Serializer[Any]):
    citizen_id = serializers.IntegerField(min_value=1)


class BreakGlassOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    citizen_id = serializers.IntegerField()
    basis = BasisField()
    started_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class BreakGlassView(APIView):
    """``POST /api/consent/break-glass``: a clinician overrides access to one
    citizen for a few minutes, stating why (*værdispring*). Every staff role
    may ask: the service refuses the others, and records the attempt (R9)."""

    permission_classes = [roles(*Role.values)]
    concerns = Concerns("Patient", body="citizen_id", purpose="emergency", action="break_glass")
    creates = Creates(None)

    @extend_schema(
        operation_id="consent_break_glass_open",
        # Every role reaches the service, which refuses and records all but clinicians (R9).
        extensions={"x-roles": sorted(CLINICAL_ROLES)},
        request=BreakGlassIn,
        responses={201: BreakGlassOut},
    )
    def post(self, request: Request) -> Response:
        data = valid(BreakGlassCitizenIn, request.data)  # refuses a body that is not an object
        body = request.data if isinstance(request.data, dict) else {}
        # The reason and basis are the service's to judge, so that a refusal of
        # either is recorded on the citizen's trail (R9) with its own code.
        glass = services.break_glass_open(
            actor=actor_of(request),
            citizen_id=data["citizen_id"],
            reason=body.get("reason"),
            basis=body.get("basis"),
        )
        return Response(
            {
                "id": glass.pk,
                "citizen_id": glass.citizen_id,
                "basis": glass.basis,
                "started_at": api_instant(glass.started_at),
                "expires_at": api_instant(glass.expires_at),
            },
            status=201,
        )


class PrivacyBudgetOut(serializers.Serializer[Any]):
    budget = serializers.FloatField()
    budget_spent = serializers.FloatField()
    budget_remaining = serializers.FloatField()
    epsilon_per_run = serializers.FloatField()
    window_days = serializers.IntegerField()


class AnalysisOut(serializers.Serializer[Any]):
    name = serializers.CharField()
    description = serializers.CharField()


class ReleasePrivacyOut(serializers.Serializer[Any]):
    noisy = serializers.BooleanField()
    mechanism = serializers.CharField()
    epsilon = serializers.FloatField()
    epsilon_spent = serializers.FloatField()
    reused = serializers.BooleanField()
    released_at = serializers.DateTimeField()
    budget = serializers.FloatField()
    budget_spent = serializers.FloatField()
    budget_remaining = serializers.FloatField()
    window_days = serializers.IntegerField()
    note = serializers.CharField()


class AnalysisRowOut(serializers.Serializer[Any]):
    municipality = serializers.CharField(help_text="The row's name; the key is the row header.")
    cells = serializers.ListField(
        child=serializers.IntegerField(allow_null=True), help_text="null: suppressed (R6)."
    )
    total = serializers.IntegerField(allow_null=True)


class AnalysisTableOut(serializers.Serializer[Any]):
    analysis = serializers.CharField()
    title = serializers.CharField()
    parameters = serializers.DictField()
    suppression = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    rows = AnalysisRowOut(many=True)
    column_totals = serializers.ListField(child=serializers.IntegerField(allow_null=True))
    total = serializers.IntegerField(allow_null=True)
    privacy = ReleasePrivacyOut()


ANALYSES_CONCERN = Concerns(resource_type="Analysis", purpose="analysis", action="search")


class AnalysisQuestionIn(serializers.Serializer[Any]):
    """The question's parameters; each analysis takes its own and refuses the
    others (``analysis.param_unknown``), so none is required here."""

    diagnosis = serializers.CharField(
        required=False,
        help_text="diagnosis-and-service: an ICD-10 code or its start outside chapter F (E11).",
    )
    service = serializers.CharField(
        required=False,
        help_text="diagnosis-and-service: the municipal service (home-help, personal-care, "
        "home-nursing).",
    )
    # Read as the analysis reads it (never validated here): the bounds stated.
    days = serializers.IntegerField(
        required=False,
        min_value=CONTACT_DAYS_LEAST,
        max_value=CONTACT_DAYS_MOST,
        help_text="contacts-around-acute-episode: days before and after,"
        f" {CONTACT_DAYS_LEAST} to {CONTACT_DAYS_MOST} (default {CONTACT_DAYS_DEFAULT});"
        " outside them `analysis.days_invalid`.",
    )


class AnalysisAnswerOut(AnalysisTableOut):
    id = serializers.IntegerField(help_text="The answer's id: read again at its Location.")


class AnalysisListView(APIView):
    """``GET /api/consent/analyses``: the named analyses and what the analyst
    has left of the privacy budget (R6). Another role refused here is
    recorded (R6, R9): about no citizen."""

    permission_classes = [roles(Role.ANALYST)]
    concerns = ANALYSES_CONCERN

    @extend_schema(
        operation_id="consent_analyses_list",
        responses={
            200: inline_serializer(
                "Analyses",
                {"analyses": AnalysisOut(many=True), "privacy_budget": PrivacyBudgetOut()},
            )
        },
    )
    def get(self, request: Request) -> Response:
        budget = analysis_budget(actor=actor_of(request))
        return Response(
            {
                "analyses": [
                    {"name": name, "description": str(analysis.description)}
                    for name, analysis in ANALYSES.items()
                ],
                "privacy_budget": budget.as_dict(),
            }
        )


def _question_of(body: dict[str, Any]) -> dict[str, list[str]]:
    """The question's parameters as the analysis reads them, each as it was
    written: text as sent, any other JSON value as its JSON (``30``,
    ``null``), which the analysis refuses in its own words where it takes
    text of another shape — recorded, as every refused run is."""
    return {
        str(key): [value if isinstance(value, str) else json.dumps(value)]
        for key, value in body.items()
    }


def _answer(table: Table) -> dict[str, Any]:
    return {"id": table.release_id, **table.as_dict()}


class AnalysisRunView(APIView):
    """``POST /api/consent/analyses/<name>`` with the question's parameters
    in the body: runs the analysis (R6) and answers with the table and where
    it is read again (``Location``, the answer's id). A new answer for the
    analyst is ``201``, paid from her privacy budget; the same question asked
    again over the same data within the window is the answer she was given,
    ``200`` at no cost (decision 0005), as the analyst's page sends her to it
    again. A run is never a ``GET``: a crawler, a prefetch or a retried read
    must not spend a budget, so a ``GET`` here is ``405``.

    Every member of staff reaches the service, which refuses all but analysts
    and records the refused attempt (R6, R9)."""

    permission_classes = [roles(*Role.values)]
    # A body refused at the door (a field no question takes) is recorded as a
    # refused run (R9): about no citizen.
    concerns = ANALYSES_CONCERN
    creates = Creates("consent-analysis-answer", kwarg="release_id")

    def query_refused(self, request: Request, refused: InvalidInput) -> None:
        # A run takes its question in the body, never in its address: the
        # refusal is the run's, refused for a role as a run is, and recorded.
        analysis_request_refuse(
            actor=actor_of(request), name=str(self.kwargs.get("name", "")), refused=refused
        )

    @extend_schema(
        operation_id="consent_analyses_run",
        # Every role reaches the service, which refuses and records all but analysts (R6, R9).
        extensions={"x-roles": [Role.ANALYST]},
        parameters=[
            OpenApiParameter("name", str, OpenApiParameter.PATH, enum=sorted(ANALYSES)),
            OpenApiParameter(
                "Location",
                OpenApiTypes.URI,
                OpenApiParameter.HEADER,
                response=[200],
                description="Where the answer already given is read.",
            ),
        ],
        request=AnalysisQuestionIn,
        responses={
            201: AnalysisAnswerOut,
            200: OpenApiResponse(
                AnalysisAnswerOut,
                description="The same question asked again within the window: the answer "
                "already given to the analyst, at no cost.",
            ),
        },
    )
    def post(self, request: Request, name: str) -> Response:
        json_object_required(request.data)  # an array or text is no question
        body = request.data if isinstance(request.data, dict) else {}
        table = analysis_run(
            actor=actor_of(request), name=name, params=_question_of(body), export=False
        )
        answer = _answer(table)
        if not table.privacy.reused:
            return Response(answer, status=201)
        # Nothing new for her: where the answer she was given is read.
        response = Response(answer, status=200)
        response["Location"] = self.creates.location(request, answer) or ""
        return response


class AnalysisCsvRetiredView(APIView):
    """``…/analyses/<name>/csv`` ran an analysis by ``GET`` and is no
    operation any more: every method is ``405``, so a client still asking
    learns the method changed rather than that the analysis vanished. The
    CSV of an answer is ``GET …/analyses/runs/<id>/csv``."""

    permission_classes = [roles(*Role.values)]


class AnalysisAnswerView(APIView):
    """``GET /api/consent/analyses/runs/<id>``: an answer the analyst was
    given, read again at no cost (R6); ``…/csv`` the same as a spreadsheet.
    Anyone else — another role, an analyst it was not given — is told it
    does not exist, and the attempt is recorded (R9)."""

    permission_classes = [roles(*Role.values)]
    export = False

    @extend_schema(
        operation_id="consent_analyses_answer",
        extensions={"x-roles": [Role.ANALYST]},
        responses={200: AnalysisAnswerOut},
    )
    def get(self, request: Request, release_id: int) -> Response | HttpResponse:
        table = analysis_release_read(
            actor=actor_of(request), release_id=release_id, export=self.export
        )
        if self.export:
            response = HttpResponse(table.as_csv(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{table.analysis}.csv"'
            return response
        return Response(_answer(table))


class AnalysisAnswerCsvView(AnalysisAnswerView):
    """``GET /api/consent/analyses/runs/<id>/csv``: the same answer as a spreadsheet."""

    export = True

    @extend_schema(
        operation_id="consent_analyses_answer_csv",
        extensions={"x-roles": [Role.ANALYST]},
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The table as CSV.")
        },
    )
    def get(self, request: Request, release_id: int) -> Response | HttpResponse:
        return super().get(request, release_id)
