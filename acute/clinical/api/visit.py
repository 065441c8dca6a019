"""The test catalogue and what is recorded on a visit: results, procedures, delegations."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from acute.clinical import selectors, services
from acute.clinical.api.shapes import (
    COORDINATOR,
    NURSE,
    PHYSICIAN,
    DelegationIn,
    DelegationOut,
    OrderOut,
    ProcedureIn,
    ProcedureOut,
    ResultCorrectIn,
    ResultOut,
    ResultsIn,
    ResultWithdrawIn,
    TestOut,
    VisitWriteView,
    delegation_out,
    order_out,
    procedure_out,
    result_out,
    result_write,
    test_out,
)
from acute.clinical.models import LabResult
from acute.models import Visit
from consent.audit.services import Action
from core.actors import Actor
from core.api import actor_of
from core.created import Creates
from core.openapi import results_of, unique_conflicts
from core.permissions import roles
from core.refusals import Concerns

# --- Views --------------------------------------------------------------------


class CatalogueView(APIView):
    """``GET /api/clinical/catalogue``: the tests and procedures, with what needs a delegation."""

    permission_classes = [roles(NURSE, COORDINATOR, PHYSICIAN)]

    @extend_schema(
        operation_id="clinical_catalogue",
        responses={200: inline_serializer("Catalogue", {"tests": TestOut(many=True)})},
    )
    def get(self, request: Request) -> Response:
        return Response({"tests": [test_out(t) for t in selectors.catalogue()]})


class VisitClinicalView(APIView):
    """``GET /api/clinical/visits/<id>``: results, procedures, delegations and orders."""

    permission_classes = [roles(NURSE, COORDINATOR, PHYSICIAN)]
    concerns = Concerns("Encounter", Visit, path="visit_id")

    @extend_schema(
        operation_id="clinical_visit_read",
        responses={
            200: inline_serializer(
                "VisitClinical",
                {
                    "visit": serializers.IntegerField(),
                    "citizen": serializers.IntegerField(),
                    "results": ResultOut(many=True),
                    "procedures": ProcedureOut(many=True),
                    "delegations": DelegationOut(many=True),
                    "orders": OrderOut(many=True),
                },
            )
        },
    )
    def get(self, request: Request, visit_id: int) -> Response:
        visit = selectors.visit_access(
            actor=actor_of(request), visit_id=visit_id, action=Action.READ, own_visit=False
        )
        return Response(
            {
                "visit": visit.pk,
                "citizen": visit.citizen_id,
                "results": [result_out(r) for r in selectors.visit_results(visit=visit)],
                "procedures": [procedure_out(p) for p in selectors.visit_procedures(visit=visit)],
                "delegations": [
                    delegation_out(d) for d in selectors.visit_delegations(visit=visit)
                ],
                "orders": [order_out(o) for o in selectors.visit_orders(visit=visit)],
            }
        )


@extend_schema_view(
    post=extend_schema(
        operation_id="clinical_results_record",
        request=ResultsIn,
        responses={201: results_of("RecordedResults", ResultOut)},
    )
)
class ResultsView(VisitWriteView[ResultsIn]):
    """``POST /api/clinical/visits/<id>/results``: the visit's nurse records results (R7)."""

    concerns = Concerns("Observation", Visit, path="visit_id")
    form_class = ResultsIn

    def record(self, *, actor: Actor, visit: Visit, form: ResultsIn) -> dict[str, Any]:
        entries = [services.ResultInput(**item) for item in form.validated_data["results"]]
        results = services.lab_results_record(actor=actor, visit=visit, entries=entries)
        return {"results": [result_out(r) for r in results]}


@extend_schema_view(
    post=extend_schema(
        operation_id="clinical_procedures_record",
        request=ProcedureIn,
        responses={201: ProcedureOut},
    )
)
class ProceduresView(VisitWriteView[ProcedureIn]):
    """``POST /api/clinical/visits/<id>/procedures``: catheter or feeding tube
    (R7), or a delegated procedure."""

    concerns = Concerns("Procedure", Visit, path="visit_id")
    form_class = ProcedureIn

    def record(self, *, actor: Actor, visit: Visit, form: ProcedureIn) -> dict[str, Any]:
        procedure = services.procedure_record(actor=actor, visit=visit, **form.validated_data)
        return procedure_out(procedure)


@extend_schema_view(
    post=extend_schema(
        operation_id="clinical_delegations_record",
        request=DelegationIn,
        responses={201: DelegationOut, 409: unique_conflicts(("delegation.exists", "code"))},
    )
)
class DelegationsView(VisitWriteView[DelegationIn]):
    """``POST /api/clinical/visits/<id>/delegations``: a physician delegated a
    task (who, when, what)."""

    concerns = Concerns("Delegation", Visit, path="visit_id")
    form_class = DelegationIn

    def record(self, *, actor: Actor, visit: Visit, form: DelegationIn) -> dict[str, Any]:
        delegation = services.delegation_record(actor=actor, visit=visit, **form.validated_data)
        return delegation_out(delegation)


class ResultWithdrawView(APIView):
    """``POST /api/clinical/results/<id>/withdraw`` with ``{"reason"}``: the
    result is marked entered in error (with what was computed from it); the
    GP who was sent it is sent a retraction or a modification."""

    permission_classes = [roles(NURSE)]
    concerns = Concerns("Observation", LabResult, path="result_id")

    @extend_schema(
        operation_id="clinical_result_withdraw",
        request=ResultWithdrawIn,
        responses={200: results_of("WithdrawnResults", ResultOut)},
    )
    def post(self, request: Request, result_id: int) -> Response:
        actor, result, data = result_write(request, result_id, ResultWithdrawIn)
        amended = services.lab_result_withdraw(actor=actor, result=result, **data)
        return Response({"results": [result_out(r) for r in amended.withdrawn]})


class ResultCorrectView(APIView):
    """``POST /api/clinical/results/<id>/correct`` with ``{"reason", "value",
    "unit"}``: the result is marked entered in error and the right value
    recorded as a new result that replaces it (eGFR computed again); the GP
    who was sent it is sent the modification."""

    permission_classes = [roles(NURSE)]
    concerns = Concerns("Observation", LabResult, path="result_id")
    creates = Creates(None)

    @extend_schema(
        operation_id="clinical_result_correct",
        request=ResultCorrectIn,
        responses={201: results_of("CorrectedResults", ResultOut)},
    )
    def post(self, request: Request, result_id: int) -> Response:
        actor, result, data = result_write(request, result_id, ResultCorrectIn)
        amended = services.lab_result_correct(actor=actor, result=result, **data)
        return Response(
            {"results": [result_out(r) for r in [*amended.withdrawn, *amended.replacements]]},
            status=201,
        )
