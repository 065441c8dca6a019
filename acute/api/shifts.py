"""Nurse shifts in the JSON API: the rota, the nurse's status and position."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from acute import selectors, services
from acute.api.output import ShiftOut, shift_out
from acute.api.roles import COORDINATOR, NURSE
from acute.models import NurseShift, Skill
from core.api import actor_of, valid
from core.created import Creates
from core.errors import NotFoundOrNotAllowed
from core.models import Role, User
from core.openapi import results_of
from core.permissions import roles
from core.times import InstantField


class ShiftIn(serializers.Serializer[Any]):
    nurse = serializers.IntegerField(min_value=1)
    kind = serializers.ChoiceField(choices=NurseShift.Kind.choices)
    starts_at = InstantField()
    ends_at = InstantField()
    skills = serializers.ListField(child=serializers.ChoiceField(choices=Skill.choices))
    max_load = serializers.IntegerField(min_value=1, max_value=10, default=3)
    base_name = serializers.CharField(max_length=100)
    base_latitude = serializers.FloatField(min_value=-90, max_value=90)
    base_longitude = serializers.FloatField(min_value=-180, max_value=180)


class ShiftListView(APIView):
    """``GET``: nurses on shift now with their load. ``POST``: put a nurse on the rota."""

    permission_classes = [COORDINATOR]
    creates = Creates(None)

    @extend_schema(
        operation_id="acute_shifts_on_now", responses={200: results_of("ShiftsOnNow", ShiftOut)}
    )
    def get(self, request: Request) -> Response:
        # ``load``: the selector's count of every open visit of hers; her own
        # acute function's nurses only, the ones she may send.
        actor = actor_of(request)
        shifts = selectors.shifts_on(
            acute_function_id=actor.organisation.pk if actor.organisation else 0
        )
        return Response(
            {"results": [shift_out(s, s.load) for s in shifts]}  # type: ignore[attr-defined]
        )

    @extend_schema(operation_id="acute_shifts_create", request=ShiftIn, responses={201: ShiftOut})
    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        data = valid(ShiftIn, request.data)
        nurse = User.objects.filter(pk=data.pop("nurse")).first()
        if nurse is None or actor.organisation is None:
            raise NotFoundOrNotAllowed("shift.nurse_unknown", "No such nurse.", field="nurse")
        shift = services.shift_create(
            nurse=nurse, acute_function=actor.organisation, **data, actor=actor
        )
        return Response(shift_out(shift, 0), status=201)


class ShiftStatusIn(serializers.Serializer[Any]):
    # En route and on a visit follow her visits (the service says so).
    status = serializers.ChoiceField(choices=NurseShift.Status.choices)


class PositionIn(serializers.Serializer[Any]):
    latitude = serializers.FloatField(min_value=-90, max_value=90)
    longitude = serializers.FloatField(min_value=-180, max_value=180)


def _shift_reached(pk: int) -> NurseShift:
    """The shift a status or position is set on, with its nurse (staff data,
    no gate; the service decides who may set it)."""
    shift = NurseShift.objects.select_related("nurse").filter(pk=pk).first()
    if shift is None:
        raise NotFoundOrNotAllowed()
    return shift


class ShiftStatusView(APIView):
    """The nurse sets her status; the coordinator may too."""

    permission_classes = [roles(Role.ACUTE_NURSE, Role.COORDINATOR)]

    @extend_schema(
        operation_id="acute_shifts_status_set", request=ShiftStatusIn, responses={200: ShiftOut}
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        shift = _shift_reached(pk)
        status = valid(ShiftStatusIn, request.data)["status"]
        return Response(
            shift_out(services.shift_status_set(shift=shift, status=status, actor=actor))
        )


class ShiftPositionView(APIView):
    """The tablet reports the nurse's position."""

    permission_classes = [NURSE]

    @extend_schema(
        operation_id="acute_shifts_position_report", request=PositionIn, responses={200: ShiftOut}
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        shift = _shift_reached(pk)
        data = valid(PositionIn, request.data)
        shift = services.shift_position_report(shift=shift, actor=actor, **data)
        return Response(shift_out(shift))
