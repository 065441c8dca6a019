"""Counts with recount and approval; notifications and reports."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.actors import Actor
from core.api import actor_of, decimal_text, valid
from core.created import Creates
from core.errors import InvalidInput
from core.permissions import roles
from core.validation import is_digits
from medicine_cabinet import selectors, services
from medicine_cabinet.api.common import (
    NURSE,
    OFFICER,
    CountLineOut,
    CountOut,
    NotificationOut,
    QuantityField,
    WitnessInput,
    _location,
    _organisation,
    _witness,
    count_json,
    line_json,
    notification_json,
)
from medicine_cabinet.models import (
    CountReason,
    StockCount,
)
from medicine_cabinet.refusals import MOVES_STOCK

# --- counts --------------------------------------------------------------------------------


def _count_of(request: Request, count_id: int) -> tuple[Actor, StockCount]:
    """Who is calling, and the count asked for in her acute function ("not found" otherwise)."""
    actor = actor_of(request)
    return actor, selectors.count_get(organisation=_organisation(actor), count_id=count_id)


class CountStartInput(serializers.Serializer[Any]):
    location = serializers.IntegerField(min_value=1)


class CountsView(APIView):
    permission_classes = [roles(OFFICER, NURSE)]
    creates = Creates("cabinet-count-detail", kwarg="count_id")

    @extend_schema(
        operation_id="cabinet_counts_list",
        parameters=[OpenApiParameter("status", str, enum=StockCount.Status.values, required=False)],
        responses={200: inline_serializer("Counts", {"counts": CountOut(many=True)})},
    )
    def get(self, request: Request) -> Response:
        actor = actor_of(request)
        status = request.query_params.get("status") or None
        if status and status not in StockCount.Status.values:
            raise InvalidInput("search.param_invalid", "Unknown count status.", field="status")
        rows = selectors.counts_list(organisation=_organisation(actor), status=status)
        if actor.role == NURSE:
            rows = rows.filter(started_by=actor.user)
        return Response({"counts": [count_json(c) for c in rows[:200]]})

    @extend_schema(
        operation_id="cabinet_counts_start", request=CountStartInput, responses={201: CountOut}
    )
    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        data = valid(CountStartInput, request.data)
        location = _location(actor, data["location"])
        count = services.count_start(actor=actor, location=location)
        return Response(count_json(count), status=201)


class CountDetailView(APIView):
    permission_classes = [roles(OFFICER, NURSE)]

    @extend_schema(operation_id="cabinet_counts_read", responses={200: CountOut})
    def get(self, request: Request, count_id: int) -> Response:
        _, count = _count_of(request, count_id)
        return Response(count_json(count))


class CountLineInput(serializers.Serializer[Any]):
    lot = serializers.IntegerField(min_value=1)
    quantity = QuantityField(bounds=services.COUNTED)


class CountLinesView(APIView):
    permission_classes = [roles(OFFICER, NURSE)]
    creates = Creates(None)

    @extend_schema(
        operation_id="cabinet_counts_line_record",
        request=CountLineInput,
        responses={201: CountLineOut},
    )
    def post(self, request: Request, count_id: int) -> Response:
        actor, count = _count_of(request, count_id)
        data = valid(CountLineInput, request.data)
        line = services.count_record(
            actor=actor,
            count=count,
            lot=selectors.lot_get(organisation=count.location.organisation, lot_id=data["lot"]),
            quantity=data["quantity"],
        )
        return Response(line_json(line), status=201)


class RecountInput(serializers.Serializer[Any]):
    quantity = QuantityField(bounds=services.COUNTED)
    reason_code = serializers.ChoiceField(
        choices=CountReason.choices, required=False, allow_blank=True, default=""
    )
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class CountRecountView(APIView):
    permission_classes = [roles(OFFICER, NURSE)]

    @extend_schema(
        operation_id="cabinet_counts_line_recount",
        request=RecountInput,
        responses={200: CountLineOut},
    )
    def post(self, request: Request, count_id: int, line_id: int) -> Response:
        actor, count = _count_of(request, count_id)
        line = count.lines.filter(pk=line_id).first()
        if line is None:
            raise InvalidInput("count.line_not_found", "No such line in this count.", field="line")
        data = valid(RecountInput, request.data)
        line = services.count_recount(actor=actor, line=line, **data)
        return Response(line_json(line))


class CountSubmitView(APIView):
    permission_classes = [roles(OFFICER, NURSE)]

    @extend_schema(operation_id="cabinet_counts_submit", request=None, responses={200: CountOut})
    def post(self, request: Request, count_id: int) -> Response:
        actor, count = _count_of(request, count_id)
        return Response(count_json(services.count_submit(actor=actor, count=count)))


class ApproveInput(serializers.Serializer[Any]):
    witness = WitnessInput(required=False)


class CountApproveView(APIView):
    permission_classes = [roles(OFFICER)]
    # The approval books the count's variances as stock movements: another
    # role asking for it tried to move stock, and is recorded as such (R9).
    concerns = MOVES_STOCK

    @extend_schema(
        operation_id="cabinet_counts_approve", request=ApproveInput, responses={200: CountOut}
    )
    def post(self, request: Request, count_id: int) -> Response:
        actor, count = _count_of(request, count_id)
        data = valid(ApproveInput, request.data)
        approved = services.count_approve(actor=actor, count=count, witness=_witness(request, data))
        return Response(count_json(approved))


# --- notifications and reports -----------------------------------------------------------------


class NotificationsView(APIView):
    permission_classes = [roles(OFFICER)]

    @extend_schema(
        operation_id="cabinet_notifications_open",
        responses={
            200: inline_serializer("Notifications", {"notifications": NotificationOut(many=True)})
        },
    )
    def get(self, request: Request) -> Response:
        rows = selectors.notifications_open(organisation=_organisation(actor_of(request)))
        return Response({"notifications": [notification_json(n) for n in rows[:500]]})


class NotificationAcknowledgeView(APIView):
    permission_classes = [roles(OFFICER)]

    @extend_schema(
        operation_id="cabinet_notifications_acknowledge",
        request=None,
        responses={204: OpenApiResponse(description="Acknowledged.")},
    )
    def post(self, request: Request, notification_id: int) -> Response:
        actor = actor_of(request)
        notification = selectors.notification_get(
            organisation=_organisation(actor), notification_id=notification_id
        )
        services.notification_acknowledge(actor=actor, notification=notification)
        return Response(status=204)


class MunicipalityOut(serializers.Serializer[Any]):
    code = serializers.CharField(allow_null=True)
    name = serializers.CharField()


class UsedMedicineOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    atc_code = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()


class MonthlyUseRowOut(serializers.Serializer[Any]):
    month = serializers.CharField(help_text="`YYYY-MM`, Copenhagen time.")
    medicine = UsedMedicineOut()
    municipality = MunicipalityOut()
    quantity = decimal_text()
    doses = serializers.IntegerField()


class MonthlyUseView(APIView):
    """Use per medicine per month per municipality (the cost-sharing key)."""

    permission_classes = [roles(OFFICER)]

    @extend_schema(
        operation_id="cabinet_monthly_use",
        parameters=[
            OpenApiParameter(
                "year",
                {"type": "integer", "minimum": 2000, "maximum": 2100},
                required=False,
                description="Default: this year.",
            )
        ],
        responses={
            200: inline_serializer(
                "MonthlyUse",
                {"year": serializers.IntegerField(), "rows": MonthlyUseRowOut(many=True)},
            )
        },
    )
    def get(self, request: Request) -> Response:
        organisation = _organisation(actor_of(request))
        raw = request.query_params.get("year") or str(timezone.localdate().year)
        if not is_digits(raw) or not 2000 <= int(raw) <= 2100:
            raise InvalidInput("search.param_invalid", "year must be a year.", field="year")
        rows = selectors.monthly_use(organisation=organisation, year=int(raw))
        return Response({"year": int(raw), "rows": rows})
