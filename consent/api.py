"""Internal API of ``consent``: break-the-glass and the restricted analyses."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from consent import services
from consent.analyses import ANALYSES, analysis_budget, analysis_run
from consent.gate import CLINICAL_ROLES
from core.api import actor_of, valid
from core.models import Role
from core.permissions import roles


class BreakGlassIn(serializers.Serializer[Any]):
    citizen_id = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=500, allow_blank=True)
    basis = serializers.CharField(max_length=24)


class BreakGlassView(APIView):
    """``POST /api/consent/break-glass``: a clinician overrides access to one
    citizen for a few minutes, stating why (*værdispring*)."""

    permission_classes = [roles(*CLINICAL_ROLES)]

    def post(self, request: Request) -> Response:
        data = valid(BreakGlassIn, request.data)
        glass = services.break_glass_open(actor=actor_of(request), **data)
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


class AnalysisListView(APIView):
    """``GET /api/consent/analyses``: the named analyses and what the analyst
    has left of the privacy budget (R6)."""

    permission_classes = [roles(Role.ANALYST)]

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


class AnalysisRunView(APIView):
    """``GET /api/consent/analyses/<name>?…`` (JSON) or ``…/<name>/csv``.

    Every member of staff reaches the service, which refuses all but analysts
    and records the refused attempt (R6, R9)."""

    permission_classes = [roles(*Role.values)]

    def get(self, request: Request, name: str, export: str = "") -> Response | HttpResponse:
        table = analysis_run(
            actor=actor_of(request),
            name=name,
            params={k: str(v) for k, v in request.query_params.items()},
            export=bool(export),
        )
        if export:
            response = HttpResponse(table.as_csv(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
            return response
        return Response(table.as_dict())
