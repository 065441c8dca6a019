"""Physician orders: phone and written, confirmation, prescriptions, cancellation (R8)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from acute.clinical import selectors, services
from acute.clinical.api.shapes import (
    COORDINATOR,
    PHYSICIAN,
    OrderDetailsIn,
    OrderOut,
    PhoneOrderIn,
    VisitWriteView,
    order_out,
)
from acute.clinical.models import (
    MedicationOrder,
)
from acute.models import Visit
from consent.audit.services import Action
from core.actors import Actor
from core.api import actor_of, valid
from core.permissions import roles
from core.refusals import Concerns
from core.times import InstantField


@extend_schema_view(
    post=extend_schema(
        operation_id="clinical_phone_orders_record", request=PhoneOrderIn, responses={201: OrderOut}
    )
)
class PhoneOrdersView(VisitWriteView[PhoneOrderIn]):
    """``POST /api/clinical/visits/<id>/phone-orders``: a *telefonordination* (R8)."""

    concerns = Concerns("MedicationRequest", Visit, path="visit_id")
    form_class = PhoneOrderIn

    def record(self, *, actor: Actor, visit: Visit, form: PhoneOrderIn) -> dict[str, Any]:
        order = services.phone_order_record(
            actor=actor, visit=visit, details=form.details(), **form.call()
        )
        return order_out(order)


@extend_schema_view(
    post=extend_schema(
        operation_id="clinical_written_orders_record",
        request=OrderDetailsIn,
        responses={201: OrderOut},
    )
)
class WrittenOrdersView(VisitWriteView[OrderDetailsIn]):
    """``POST /api/clinical/visits/<id>/written-orders``: the physician's own
    electronic order (the only way for §4 medicines)."""

    permission_classes = [roles(PHYSICIAN)]
    concerns = Concerns("MedicationRequest", Visit, path="visit_id")
    form_class = OrderDetailsIn
    own_visit = False

    def record(self, *, actor: Actor, visit: Visit, form: OrderDetailsIn) -> dict[str, Any]:
        order = services.written_order_record(actor=actor, visit=visit, details=form.details())
        return order_out(order)


def orders_list(name: str) -> serializers.Serializer[Any]:
    return inline_serializer(name, {"orders": OrderOut(many=True)})


class MyOrdersView(APIView):
    """``GET /api/clinical/orders/mine[?status=]``: the physician's own orders."""

    permission_classes = [roles(PHYSICIAN)]
    # Another role refused here is recorded (R9): the orders name citizens.
    concerns = Concerns("MedicationRequest", action="search")

    @extend_schema(
        operation_id="clinical_orders_mine",
        parameters=[
            OpenApiParameter("status", str, enum=MedicationOrder.Status.values, required=False)
        ],
        responses={200: orders_list("MyOrders")},
    )
    def get(self, request: Request) -> Response:
        status = request.query_params.get("status") or None
        if status is not None and status not in MedicationOrder.Status.values:
            raise serializers.ValidationError({"status": gettext("Unknown order status.")})
        orders = selectors.physician_orders(actor=actor_of(request), status=status)
        return Response({"orders": [order_out(o) for o in orders]})


class OverdueOrdersView(APIView):
    """``GET /api/clinical/orders/overdue``: unconfirmed phone orders and unsent prescriptions."""

    permission_classes = [roles(PHYSICIAN, COORDINATOR)]
    concerns = Concerns("MedicationRequest", action="search")

    @extend_schema(
        operation_id="clinical_orders_overdue", responses={200: orders_list("OverdueOrders")}
    )
    def get(self, request: Request) -> Response:
        orders = selectors.orders_overdue(actor=actor_of(request))
        return Response({"orders": [order_out(o) for o in orders]})


class _OrderStepView(APIView):
    """A step taken on an order: the input checked (400 naming the fields),
    the order reached through ``access`` (anyone it is not for gets "not
    found", audited), the step with the input, the order back. Unless said
    otherwise, the ordering physician's step on her own order."""

    permission_classes = [roles(PHYSICIAN)]
    concerns = Concerns("MedicationRequest", MedicationOrder, path="order_id")
    form_class: type[serializers.Serializer[Any]] | None = None
    access: Callable[..., MedicationOrder] = staticmethod(selectors.order_access_for_physician)
    step: Callable[..., MedicationOrder]

    def post(self, request: Request, order_id: int) -> Response:
        data = valid(self.form_class, request.data) if self.form_class else {}
        actor = actor_of(request)
        order = type(self).access(actor=actor, order_id=order_id, action=Action.UPDATE)
        return Response(order_out(type(self).step(actor=actor, order=order, **data)))


@extend_schema_view(
    post=extend_schema(
        operation_id="clinical_orders_confirm", request=None, responses={200: OrderOut}
    )
)
class ConfirmOrderView(_OrderStepView):
    """``POST /api/clinical/orders/<id>/confirm``: the ordering physician
    confirms her phone order electronically."""

    step = staticmethod(services.medication_order_confirm)


@extend_schema_view(
    post=extend_schema(
        operation_id="clinical_orders_prescription_sent", request=None, responses={200: OrderOut}
    )
)
class PrescriptionSentView(_OrderStepView):
    """``POST /api/clinical/orders/<id>/prescription-sent``: the prescription is at the pharmacy."""

    step = staticmethod(services.prescription_mark_sent)


class CancelOrderIn(serializers.Serializer[Any]):
    # Blank and over-long reasons are refused by the service with their own
    # codes (``order.cancel_reason_required``, ``order.cancel_reason_too_long``),
    # the same on the API as on her page.
    reason = serializers.CharField(allow_blank=True, trim_whitespace=False)


@extend_schema_view(
    post=extend_schema(
        operation_id="clinical_orders_cancel", request=CancelOrderIn, responses={200: OrderOut}
    )
)
class CancelOrderView(_OrderStepView):
    """``POST /api/clinical/orders/<id>/cancel`` with ``{"reason"}``: the ordering
    physician withdraws her order."""

    form_class = CancelOrderIn
    step = staticmethod(services.medication_order_cancel)


class OrderReceivedIn(serializers.Serializer[Any]):
    # What was received, how it was seen and a note; ``seen_by`` is judged by
    # the service (``order.received_seen_by_invalid``), the same on the page.
    confirmation = serializers.BooleanField(required=False, default=False)
    prescription = serializers.BooleanField(required=False, default=False)
    seen_by = serializers.ChoiceField(choices=MedicationOrder.SeenBy.choices)
    note = serializers.CharField(required=False, default="", allow_blank=True)


@extend_schema_view(
    post=extend_schema(
        operation_id="clinical_orders_received", request=OrderReceivedIn, responses={200: OrderOut}
    )
)
class OrderReceivedView(_OrderStepView):
    """``POST /api/clinical/orders/<id>/received`` with ``{"confirmation",
    "prescription", "seen_by", "note"}``: the coordinator records that the
    confirmation or prescription of an order whose physician is no user of
    the platform reached the acute function by another route (R8)."""

    permission_classes = [roles(COORDINATOR)]
    form_class = OrderReceivedIn
    access = staticmethod(selectors.order_access_for_acute_function)
    step = staticmethod(services.medication_order_received_record)


class OrderWithdrawalPhonedIn(serializers.Serializer[Any]):
    # Who phoned (as she gave her name) and the note, judged by the service
    # with their own codes, the same as on the board's form.
    phoned_by = serializers.CharField(allow_blank=True, trim_whitespace=False)
    phoned_at = InstantField(required=False)
    reason = serializers.CharField(allow_blank=True, trim_whitespace=False)


class OrderWithdrawalPhonedView(APIView):
    """``POST /api/clinical/orders/<id>/withdrawal-phoned`` with ``{"phoned_by",
    "phoned_at", "reason"}``: the coordinator records that the physician of an
    order, who is no user of the platform, phoned to withdraw it (R8) —
    through the physician's own withdrawal, on her behalf."""

    permission_classes = [roles(COORDINATOR)]
    concerns = Concerns("MedicationRequest", MedicationOrder, path="order_id")

    @extend_schema(
        operation_id="clinical_orders_withdrawal_phoned",
        request=OrderWithdrawalPhonedIn,
        responses={200: OrderOut},
    )
    def post(self, request: Request, order_id: int) -> Response:
        data = valid(OrderWithdrawalPhonedIn, request.data)
        actor = actor_of(request)
        order = selectors.order_access_for_acute_function(
            actor=actor, order_id=order_id, action=Action.UPDATE
        )
        order = services.medication_order_cancel(
            actor=actor,
            order=order,
            reason=data["reason"],
            phoned=services.WithdrawalPhoned(by=data["phoned_by"], at=data.get("phoned_at")),
        )
        return Response(order_out(order))
