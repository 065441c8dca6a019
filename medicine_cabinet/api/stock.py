"""The formulary, cabinets and bags, stock, movements and lots.

One module, a little longer than most: these endpoints describe one ledger
(where each lot lies and how it got there) and share its serializers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.actors import Actor
from core.api import actor_of, decimal_text, valid
from core.created import Creates
from core.errors import InvalidInput
from core.openapi import id_query, unique_conflicts
from core.permissions import per_method, roles
from core.times import DayField, api_instant
from core.validation import DecimalBounds, is_digits
from medicine_cabinet import selectors, services
from medicine_cabinet.api.common import (
    COORDINATOR,
    NURSE,
    OFFICER,
    BalanceOut,
    LocationOut,
    LotOut,
    MedicineOut,
    MovementOut,
    PlainMovementOut,
    QuantityField,
    RecallDoseOut,
    WitnessInput,
    _location,
    _organisation,
    _plain_movement_json,
    _witness,
    balance_json,
    location_json,
    lot_json,
    medicine_json,
    movement_json,
    recall_dose_json,
    stock_amount,
)
from medicine_cabinet.models import (
    Balance,
    Location,
    Medicine,
    WasteReason,
)
from medicine_cabinet.refusals import MOVES_STOCK, SEES_RECALLED_DOSES

# --- formulary and locations --------------------------------------------------------

MEDICINE_LINE_UNIQUE = "medicine_unique_line"


class MedicineInput(serializers.Serializer[Any]):
    atc_code = serializers.RegexField(r"^[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}$", max_length=7)
    name = serializers.CharField(max_length=120)
    strength = serializers.CharField(max_length=60)
    form = serializers.CharField(max_length=60)
    unit = serializers.CharField(max_length=20)
    package_size = QuantityField()
    dispensing = serializers.ChoiceField(choices=Medicine.Dispensing.choices)
    dependence_forming = serializers.BooleanField()
    minimum_stock = QuantityField(
        bounds=DecimalBounds.of(Medicine, "minimum_stock", minimum=Decimal(0))
    )
    # What one stock unit holds (500 mg a tablet); read from the strength when left out.
    amount_per_unit = QuantityField(required=False, allow_null=True, default=None)
    amount_unit = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")


class MedicinesView(APIView):
    # Those who handle the medicine read the formulary; the officer alone
    # keeps it, refused to the others as any role is (403 auth.forbidden).
    permission_classes = [per_method(GET=roles(OFFICER, NURSE, COORDINATOR), POST=roles(OFFICER))]
    creates = Creates(None)

    @extend_schema(
        operation_id="cabinet_medicines_list",
        responses={200: inline_serializer("Formulary", {"medicines": MedicineOut(many=True)})},
    )
    def get(self, request: Request) -> Response:
        return Response({"medicines": [medicine_json(m) for m in Medicine.objects.all()]})

    @extend_schema(
        operation_id="cabinet_medicines_upsert",
        request=MedicineInput,
        # Two officers adding the same new line at once: the second is refused.
        responses={201: MedicineOut, 409: unique_conflicts(MEDICINE_LINE_UNIQUE)},
        description="The medicine officer adds a medicine, or updates the one with this ATC code.",
    )
    def post(self, request: Request) -> Response:
        data = valid(MedicineInput, request.data)
        medicine = services.medicine_upsert(**data)
        return Response(medicine_json(medicine), status=201)


class LocationsView(APIView):
    permission_classes = [roles(OFFICER, NURSE, COORDINATOR)]

    @extend_schema(
        operation_id="cabinet_locations_list",
        responses={200: inline_serializer("Locations", {"locations": LocationOut(many=True)})},
    )
    def get(self, request: Request) -> Response:
        organisation = _organisation(actor_of(request))
        return Response(
            {
                "locations": [
                    location_json(x) for x in selectors.locations_list(organisation=organisation)
                ]
            }
        )


class CabinetInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=120)
    count_interval_days = serializers.IntegerField(min_value=1, max_value=365, default=7)


# The rule that keeps a cabinet's name its own within the acute function.
CABINET_NAME_UNIQUE = "location_unique_name"


class CabinetsView(APIView):
    permission_classes = [roles(OFFICER)]
    creates = Creates(None)

    @extend_schema(
        operation_id="cabinet_cabinets_create",
        request=CabinetInput,
        responses={201: LocationOut, 409: unique_conflicts(CABINET_NAME_UNIQUE)},
    )
    def post(self, request: Request) -> Response:
        data = valid(CabinetInput, request.data)
        cabinet = services.cabinet_create(organisation=_organisation(actor_of(request)), **data)
        return Response(location_json(cabinet), status=201)


class MyBagView(APIView):
    """The nurse's own bag (made on first use) and what it holds."""

    permission_classes = [roles(NURSE)]

    @extend_schema(
        operation_id="cabinet_my_bag",
        responses={
            200: inline_serializer("MyBag", {"bag": LocationOut(), "stock": BalanceOut(many=True)})
        },
    )
    def get(self, request: Request) -> Response:
        actor = actor_of(request)
        bag = services.bag_for_nurse(organisation=_organisation(actor), nurse=actor.user)  # type: ignore[arg-type]
        rows = selectors.stock_by_location(organisation=bag.organisation, location=bag)
        return Response({"bag": location_json(bag), "stock": [balance_json(b) for b in rows]})


class StockView(APIView):
    """Stock by location and lot. A nurse sees the cabinets and her own bag."""

    permission_classes = [roles(OFFICER, NURSE, COORDINATOR)]

    @extend_schema(
        operation_id="cabinet_stock",
        parameters=[id_query("location", "A location's id.")],
        responses={200: inline_serializer("Stock", {"stock": BalanceOut(many=True)})},
    )
    def get(self, request: Request) -> Response:
        actor = actor_of(request)
        organisation = _organisation(actor)
        location = None
        raw = request.query_params.get("location")
        if raw:
            if not is_digits(raw):
                raise InvalidInput(
                    "search.param_invalid", "location must be an id.", field="location"
                )
            location = selectors.location_get(organisation=organisation, location_id=int(raw))
            services.check_may_see(actor, location)
        rows: QuerySet[Balance] = selectors.stock_by_location(
            organisation=organisation, location=location
        )
        if actor.role == NURSE:
            rows = rows.filter(
                Q(location__kind=Location.Kind.CABINET) | Q(location__nurse=actor.user)
            )
        return Response({"stock": [balance_json(b) for b in rows]})


class MedicineHeldOut(serializers.Serializer[Any]):
    medicine = serializers.IntegerField()
    name = serializers.CharField()
    strength = serializers.CharField()
    unit = serializers.CharField()
    quantity = decimal_text()


class LocationBalanceView(APIView):
    permission_classes = [roles(OFFICER, NURSE, COORDINATOR)]

    @extend_schema(
        operation_id="cabinet_location_balance",
        responses={
            200: inline_serializer(
                "LocationBalance",
                {"location": LocationOut(), "medicines": MedicineHeldOut(many=True)},
            )
        },
    )
    def get(self, request: Request, location_id: int) -> Response:
        actor = actor_of(request)
        location = _location(actor, location_id)
        services.check_may_see(actor, location)
        return Response(
            {
                "location": location_json(location),
                "medicines": [
                    {**row, "quantity": stock_amount(row["quantity"])}
                    for row in selectors.location_balance(location=location)
                ],
            }
        )


# --- movements ---------------------------------------------------------------------------


class ReceiveInput(serializers.Serializer[Any]):
    cabinet = serializers.IntegerField(min_value=1)
    medicine = serializers.IntegerField(min_value=1)
    batch_number = serializers.CharField(max_length=40)
    expires_on = DayField()
    quantity = QuantityField()
    unit = serializers.CharField(max_length=20)
    supplier = serializers.CharField(max_length=120)
    delivery_reference = serializers.CharField(max_length=80)
    witness = WitnessInput(required=False)


class ReceiptsView(APIView):
    permission_classes = [roles(OFFICER)]
    concerns = MOVES_STOCK
    creates = Creates(None)

    @extend_schema(
        operation_id="cabinet_receive", request=ReceiveInput, responses={201: PlainMovementOut}
    )
    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        data = valid(ReceiveInput, request.data)
        cabinet = _location(actor, data["cabinet"])
        medicine = selectors.medicine_get(medicine_id=data["medicine"])
        movement = services.stock_receive(
            actor=actor,
            cabinet=cabinet,
            medicine=medicine,
            batch_number=data["batch_number"],
            expires_on=data["expires_on"],
            quantity=data["quantity"],
            unit=data["unit"],
            supplier=data["supplier"],
            delivery_reference=data["delivery_reference"],
            witness=_witness(request, data),
        )
        return Response(_plain_movement_json(movement), status=201)


class TransferInput(serializers.Serializer[Any]):
    lot = serializers.IntegerField(min_value=1)
    from_location = serializers.IntegerField(min_value=1)
    to_location = serializers.IntegerField(min_value=1)
    quantity = QuantityField()
    unit = serializers.CharField(max_length=20)
    witness = WitnessInput(required=False)


class TransfersView(APIView):
    permission_classes = [roles(NURSE)]
    concerns = MOVES_STOCK
    creates = Creates(None)

    @extend_schema(
        operation_id="cabinet_transfer",
        request=TransferInput,
        responses={
            201: inline_serializer(
                "Transfer", {"out": PlainMovementOut(), "in": PlainMovementOut()}
            )
        },
    )
    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        data = valid(TransferInput, request.data)
        organisation = _organisation(actor)
        out, into = services.stock_transfer(
            actor=actor,
            lot=selectors.lot_get(organisation=organisation, lot_id=data["lot"]),
            source=selectors.location_get(
                organisation=organisation, location_id=data["from_location"]
            ),
            destination=selectors.location_get(
                organisation=organisation, location_id=data["to_location"]
            ),
            quantity=data["quantity"],
            unit=data["unit"],
            witness=_witness(request, data),
        )
        return Response(
            {"out": _plain_movement_json(out), "in": _plain_movement_json(into)}, status=201
        )


class LotAtLocationInput(serializers.Serializer[Any]):
    """A lot where it is kept, to be taken out of stock there, with the
    witness a dependence-forming medicine needs."""

    location = serializers.IntegerField(min_value=1)
    lot = serializers.IntegerField(min_value=1)
    witness = WitnessInput(required=False)


def _lot_at_location(request: Request, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """A :class:`LotAtLocationInput` as the service takes it: its location
    and lot read, both of the caller's acute function ("not found"
    otherwise), and its witness."""
    return {
        **data,
        "location": _location(actor, data["location"]),
        "lot": selectors.lot_get(organisation=_organisation(actor), lot_id=data["lot"]),
        "witness": _witness(request, data),
    }


class TakeOutView(APIView):
    """Stock taken out of a location (wasted, or removed as expired or
    recalled): by the medicine officer or a nurse, and a refusal recorded as
    an attempt on the stock (R9)."""

    permission_classes = [roles(OFFICER, NURSE)]
    concerns = MOVES_STOCK
    creates = Creates(None)


class WasteInput(LotAtLocationInput):
    quantity = QuantityField()
    unit = serializers.CharField(max_length=20)
    reason_code = serializers.ChoiceField(choices=WasteReason.choices)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class WasteView(TakeOutView):
    @extend_schema(
        operation_id="cabinet_waste", request=WasteInput, responses={201: PlainMovementOut}
    )
    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        data = valid(WasteInput, request.data)
        movement = services.stock_waste(actor=actor, **_lot_at_location(request, actor, data))
        return Response(_plain_movement_json(movement), status=201)


class RemovalInput(LotAtLocationInput):
    why = serializers.ChoiceField(choices=[("expired", "Expired"), ("recalled", "Recalled")])


class RemovalsView(TakeOutView):
    """Take an expired or recalled lot's whole balance out of a location."""

    @extend_schema(
        operation_id="cabinet_remove", request=RemovalInput, responses={201: PlainMovementOut}
    )
    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        data = valid(RemovalInput, request.data)
        why = data.pop("why")
        remove = (
            services.stock_remove_expired if why == "expired" else services.stock_remove_recalled
        )
        movement = remove(actor=actor, **_lot_at_location(request, actor, data))
        return Response(_plain_movement_json(movement), status=201)


# --- lots: recall, history ---------------------------------------------------------------


class RecallInput(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=300)


class LotRecallView(APIView):
    permission_classes = [roles(OFFICER)]
    concerns = SEES_RECALLED_DOSES

    @extend_schema(
        operation_id="cabinet_lot_recall",
        request=RecallInput,
        responses={
            200: inline_serializer(
                "Recall",
                {
                    "lot": serializers.IntegerField(),
                    "recalled_at": serializers.DateTimeField(allow_null=True),
                    "held_in": BalanceOut(many=True),
                    "administrations": RecallDoseOut(many=True),
                },
            )
        },
    )
    def post(self, request: Request, lot_id: int) -> Response:
        actor = actor_of(request)
        data = valid(RecallInput, request.data)
        organisation = _organisation(actor)
        lot = selectors.lot_get(organisation=organisation, lot_id=lot_id)
        holding = services.lot_recall(actor=actor, lot=lot, reason=data["reason"])
        # Who already received a dose from it, to be followed up (audited per citizen).
        given = selectors.recall_administrations(actor=actor, organisation=organisation, lot=lot)
        return Response(
            {
                "lot": lot.pk,
                "recalled_at": api_instant(lot.recalled_at),
                "held_in": [balance_json(b) for b in holding],
                "administrations": [recall_dose_json(a) for a in given],
            },
            status=200,
        )


class LotHistoryLotOut(LotOut):
    medicine = serializers.CharField()
    recalled_at = serializers.DateTimeField(allow_null=True)


class RegisterTotalsOut(serializers.Serializer[Any]):
    drawn = serializers.CharField()
    administered = serializers.CharField()
    wasted = serializers.CharField()
    returned = serializers.CharField()
    removed_from_bags = serializers.CharField()
    adjusted_in_bags = serializers.CharField()
    in_bags = serializers.CharField()
    balanced = serializers.BooleanField()


class LotHistoryView(APIView):
    permission_classes = [roles(OFFICER)]

    @extend_schema(
        operation_id="cabinet_lot_history",
        responses={
            200: inline_serializer(
                "LotHistory",
                {
                    "lot": LotHistoryLotOut(),
                    "movements": MovementOut(many=True),
                    "held_in": BalanceOut(many=True),
                },
            )
        },
    )
    def get(self, request: Request, lot_id: int) -> Response:
        organisation = _organisation(actor_of(request))
        lot = selectors.lot_get(organisation=organisation, lot_id=lot_id)
        return Response(
            {
                "lot": {
                    **lot_json(lot),
                    "medicine": str(lot.medicine),
                    "recalled_at": api_instant(lot.recalled_at),
                },
                "movements": [
                    movement_json(m)
                    for m in selectors.lot_history(organisation=organisation, lot=lot)
                ],
                "held_in": [
                    balance_json(b)
                    for b in selectors.lot_whereabouts(organisation=organisation, lot=lot)
                ],
            }
        )


class RegisterView(APIView):
    """The §4 register of one medicine: every movement and the totals."""

    permission_classes = [roles(OFFICER)]

    @extend_schema(
        operation_id="cabinet_register",
        responses={
            200: inline_serializer(
                "Register",
                {
                    "medicine": MedicineOut(),
                    "totals": RegisterTotalsOut(),
                    "entries": MovementOut(many=True),
                },
            )
        },
    )
    def get(self, request: Request, medicine_id: int) -> Response:
        organisation = _organisation(actor_of(request))
        medicine = selectors.medicine_get(medicine_id=medicine_id)
        entries, totals = selectors.controlled_register(
            organisation=organisation, medicine=medicine
        )
        return Response(
            {
                "medicine": medicine_json(medicine),
                "totals": {
                    "drawn": str(totals.drawn),
                    "administered": str(totals.administered),
                    "wasted": str(totals.wasted),
                    "returned": str(totals.returned),
                    "removed_from_bags": str(totals.removed_from_bags),
                    "adjusted_in_bags": str(totals.adjusted_in_bags),
                    "in_bags": str(totals.in_bags),
                    "balanced": totals.balanced,
                },
                "entries": [movement_json(m) for m in entries],
            }
        )
