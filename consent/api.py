"""Internal API of ``consent``: break-the-glass and the restricted analyses."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
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

from consent import services
from consent.analyses import ANALYSES, analysis_budget, analysis_question_refuse, analysis_run
from consent.gate import CLINICAL_ROLES
from core.api import actor_of, valid
from core.created import Creates
from core.errors import InvalidInput
from core.models import Role
from core.permissions import roles
from core.refusals import Concerns


class BreakGlassIn(serializers.Serializer[Any]):
    citizen_id = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=500, allow_blank=True)
    basis = serializers.CharField(max_length=24)


class BreakGlassCitizenIn(serializers.Serializer[Any]):
    citizen_id = serializers.IntegerField(min_value=1)


class BreakGlassOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    citizen_id = serializers.IntegerField()
    basis = serializers.CharField()
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
                "started_at": glass.started_at.isoformat(),
                "expires_at": glass.expires_at.isoformat(),
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

ANALYSIS_PARAMETERS = [
    OpenApiParameter("name", str, OpenApiParameter.PATH, enum=sorted(ANALYSES)),
    OpenApiParameter("diagnosis", str, required=False, description="ICD-10 code or prefix."),
    OpenApiParameter("service", str, required=False, description="A municipal service."),
    OpenApiParameter("days", int, required=False, description="Days before and after."),
]


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


def _question_params(request: Request) -> dict[str, list[str]]:
    """Every value of each (REST framework reads ``format`` itself)."""
    return {k: v for k, v in request.query_params.lists() if k != "format"}


class AnalysisRunView(APIView):
    """``GET /api/consent/analyses/<name>?…`` (JSON) or ``…/<name>/csv``.

    Every member of staff reaches the service, which refuses all but analysts
    and records the refused attempt (R6, R9)."""

    permission_classes = [roles(*Role.values)]

    def query_refused(self, request: Request, refused: InvalidInput) -> None:
        # A question refused by the API's gate is refused as the analysis
        # refuses it (analysis.param_unknown, naming what it takes), and recorded.
        analysis_question_refuse(
            actor=actor_of(request),
            name=str(self.kwargs.get("name", "")),
            params=_question_params(request),
            export=isinstance(self, AnalysisCsvView),
        )

    @extend_schema(
        operation_id="consent_analyses_run",
        # Every role reaches the service, which refuses and records all but analysts (R6, R9).
        extensions={"x-roles": [Role.ANALYST]},
        parameters=ANALYSIS_PARAMETERS,
        responses={200: AnalysisTableOut},
    )
    def get(self, request: Request, name: str, export: str = "") -> Response | HttpResponse:
        table = analysis_run(
            actor=actor_of(request),
            name=name,
            params=_question_params(request),
            export=bool(export),
        )
        if export:
            response = HttpResponse(table.as_csv(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
            return response
        return Response(table.as_dict())


class AnalysisCsvView(AnalysisRunView):
    """``GET /api/consent/analyses/<name>/csv?…``: the same answer as a spreadsheet."""

    @extend_schema(
        operation_id="consent_analyses_run_csv",
        extensions={"x-roles": [Role.ANALYST]},
        parameters=ANALYSIS_PARAMETERS,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The table as CSV.")
        },
    )
    def get(self, request: Request, name: str, export: str = "csv") -> Response | HttpResponse:
        return super().get(request, name, export="csv")
