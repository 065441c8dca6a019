"""Physician orders: phone and written, confirmation, prescriptions, cancellation (R8)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from acute.clinical import selectors, services
from acute.clinical.api.shapes import (
    COORDINATOR,
    NURSE,
    PHYSICIAN,
    OrderDetailsIn,
    PhoneOrderIn,
    order_out,
    visit_write,
)
from acute.clinical.models import (
    MedicationOrder,
)
from core.api import actor_of, valid
from core.permissions import roles


class PhoneOrdersView(APIView):
    """``POST /api/clinical/visits/<id>/phone-orders``: a *telefonordination* (R8)."""

    permission_classes = [roles(NURSE)]

    def post(self, request: Request, visit_id: int) -> Response:
        actor, visit, form = visit_write(request, visit_id, PhoneOrderIn)
        d = form.validated_data
        order = services.phone_order_record(
            actor=actor,
            visit=visit,
            details=form.details(),
            ordered_at=d["ordered_at"],
            ordered_by_name=d["ordered_by_name"],
            ordered_by_role=d["ordered_by_role"],
            ordered_by_organisation_name=d["ordered_by_organisation"],
            ordered_by_authorisation_id=d["ordered_by_authorisation_id"],
            read_back=d["read_back"],
            read_back_confirmed=d["read_back_confirmed"],
        )
        return Response(order_out(order), status=201)


class WrittenOrdersView(APIView):
    """``POST /api/clinical/visits/<id>/written-orders``: the physician's own
    electronic order (the only way for §4 medicines)."""

    permission_classes = [roles(PHYSICIAN)]

    def post(self, request: Request, visit_id: int) -> Response:
        actor, visit, form = visit_write(request, visit_id, OrderDetailsIn, own_visit=False)
        order = services.written_order_record(actor=actor, visit=visit, details=form.details())
        return Response(order_out(order), status=201)


class MyOrdersView(APIView):
    """``GET /api/clinical/orders/mine[?status=]``: the physician's own orders."""

    permission_classes = [roles(PHYSICIAN)]

    def get(self, request: Request) -> Response:
        status = request.query_params.get("status") or None
        if status is not None and status not in MedicationOrder.Status.values:
            raise serializers.ValidationError({"status": "Unknown order status."})
        orders = selectors.physician_orders(actor=actor_of(request), status=status)
        return Response({"orders": [order_out(o) for o in orders]})


class OverdueOrdersView(APIView):
    """``GET /api/clinical/orders/overdue``: unconfirmed phone orders and unsent prescriptions."""

    permission_classes = [roles(PHYSICIAN, COORDINATOR)]

    def get(self, request: Request) -> Response:
        orders = selectors.orders_overdue(actor=actor_of(request))
        return Response({"orders": [order_out(o) for o in orders]})


class _OwnOrderStepView(APIView):
    """A step the ordering physician takes on her own order: the order reached
    as hers (anyone else gets "not found", audited), the step, the order back."""

    permission_classes = [roles(PHYSICIAN)]
    step: Callable[..., MedicationOrder]

    def post(self, request: Request, order_id: int) -> Response:
        actor = actor_of(request)
        order = selectors.order_access_for_physician(actor=actor, order_id=order_id)
        return Response(order_out(type(self).step(actor=actor, order=order)))


class ConfirmOrderView(_OwnOrderStepView):
    """``POST /api/clinical/orders/<id>/confirm``: the ordering physician
    confirms her phone order electronically."""

    step = staticmethod(services.medication_order_confirm)


class PrescriptionSentView(_OwnOrderStepView):
    """``POST /api/clinical/orders/<id>/prescription-sent``: the prescription is at the pharmacy."""

    step = staticmethod(services.prescription_mark_sent)


class CancelOrderIn(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=300)


class CancelOrderView(APIView):
    """``POST /api/clinical/orders/<id>/cancel`` with ``{"reason"}``: the ordering
    physician withdraws her order."""

    permission_classes = [roles(PHYSICIAN)]

    def post(self, request: Request, order_id: int) -> Response:
        data = valid(CancelOrderIn, request.data)
        actor = actor_of(request)
        order = selectors.order_access_for_physician(actor=actor, order_id=order_id)
        order = services.medication_order_cancel(actor=actor, order=order, reason=data["reason"])
        return Response(order_out(order))
