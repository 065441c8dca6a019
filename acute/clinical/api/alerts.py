"""Alerts for the physician and the coordinator's board."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from acute.clinical import selectors, services
from acute.clinical.api.shapes import (
    COORDINATOR,
    PHYSICIAN,
    AlertOut,
    _time,
    alert_out,
)
from acute.clinical.models import PhysicianAlert
from core.api import actor_of
from core.permissions import roles
from core.refusals import Concerns


class MyAlertsView(APIView):
    """``GET /api/clinical/alerts``: the physician's open alerts."""

    permission_classes = [roles(PHYSICIAN)]
    # Another role refused here is recorded (R9): the alerts name citizens.
    concerns = Concerns("Flag", action="search")

    @extend_schema(
        operation_id="clinical_alerts_mine",
        responses={200: inline_serializer("MyAlerts", {"alerts": AlertOut(many=True)})},
    )
    def get(self, request: Request) -> Response:
        alerts = selectors.physician_alerts_open(actor=actor_of(request))
        return Response({"alerts": [alert_out(a) for a in alerts]})


class BoardAlertsView(APIView):
    """``GET /api/clinical/board/alerts``: critical results and escalations for the coordinators."""

    permission_classes = [roles(COORDINATOR)]
    concerns = Concerns("Flag", action="search")

    @extend_schema(
        operation_id="clinical_alerts_board",
        responses={
            200: inline_serializer(
                "BoardAlerts", {"alerts": AlertOut(many=True), "at": serializers.DateTimeField()}
            )
        },
    )
    def get(self, request: Request) -> Response:
        alerts = selectors.board_alerts_open(actor=actor_of(request))
        return Response({"alerts": [alert_out(a) for a in alerts], "at": _time(timezone.now())})


class AcknowledgeAlertView(APIView):
    """``POST /api/clinical/alerts/<id>/acknowledge``."""

    permission_classes = [roles(PHYSICIAN, COORDINATOR)]
    concerns = Concerns("Flag", PhysicianAlert, path="alert_id")

    @extend_schema(
        operation_id="clinical_alerts_acknowledge", request=None, responses={200: AlertOut}
    )
    def post(self, request: Request, alert_id: int) -> Response:
        actor = actor_of(request)
        alert = selectors.alert_access(actor=actor, alert_id=alert_id)
        alert = services.physician_alert_acknowledge(actor=actor, alert=alert)
        return Response(alert_out(alert))
