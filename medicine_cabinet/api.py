"""``/api/cabinet/``: the medicine stock (R8).

Who may do what (tested in ``tests/medicine_cabinet/test_api_roles.py``):

- medicine officer: formulary, cabinets, receiving, waste and removals in
  cabinets, recalls, counts and their approval, notifications, reports;
- acute nurse: her own bag — transfers with a cabinet, waste, removals,
  counting it — and administration on her visit;
- coordinator: reads stock by location (to know what a bag holds), nothing else;
- everyone else is refused.

A §4 movement carries ``witness: {"username", "password"}``: the witness's own
credentials, checked (and throttled) like a login, in the same request.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.actors import Actor
from core.api import actor_of
from core.errors import Forbidden, InvalidInput
from core.models import Organisation, Role, User
from core.permissions import roles
from medicine_cabinet import selectors, services
from medicine_cabinet.models import (
    Balance,
    CountLine,
    CountReason,
    Location,
    Medicine,
    Movement,
    Notification,
    StockCount,
    WasteReason,
)

OFFICER = Role.MEDICINE_OFFICER
NURSE = Role.ACUTE_NURSE
COORDINATOR = Role.COORDINATOR


def _organisation(actor: Actor) -> Organisation:
    organisation = actor.organisation
    if organisation is None or organisation.kind != Organisation.Kind.ACUTE_FUNCTION:
        raise Forbidden("cabinet.not_acute_function", "Only the acute function keeps this stock.")
    return organisation


class WitnessInput(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


def _witness(request: Request, data: dict[str, Any]) -> User | None:
    given = data.get("witness")
    if not given:
        return None
    return services.witness_verify(
        username=given["username"],
        password=given["password"],
        client_address=request.META.get("REMOTE_ADDR"),
    )


class QuantityField(serializers.Field[Any, Any, Any, Any]):
    """An exact decimal: a string or a whole number; floats are refused."""

    def to_internal_value(self, data: Any) -> Any:
        return services.quantity_parse(data, field=self.field_name or "quantity")

    def to_representation(self, value: Any) -> str:
        return str(value)


# --- read shapes ------------------------------------------------------------------


def _plain(value: Decimal) -> str:
    """An exact amount without trailing zeros: ``500``, ``0.5``."""
    return format(value.normalize(), "f")


def medicine_json(m: Medicine) -> dict[str, Any]:
    return {
        "id": m.pk,
        "atc_code": m.atc_code,
        "name": m.name,
        "strength": m.strength,
        "form": m.form,
        "unit": m.unit,
        "package_size": str(m.package_size),
        "dispensing": m.dispensing,
        "dependence_forming": m.dependence_forming,
        "minimum_stock": str(m.minimum_stock),
        "amount_per_unit": _plain(m.amount_per_unit) if m.amount_per_unit is not None else None,
        "amount_unit": m.amount_unit,
        "is_active": m.is_active,
    }


def location_json(loc: Location) -> dict[str, Any]:
    return {
        "id": loc.pk,
        "kind": loc.kind,
        "name": loc.name,
        "nurse": loc.nurse.username if loc.nurse else None,
        "count_interval_days": loc.count_interval_days,
    }


def balance_json(b: Balance) -> dict[str, Any]:
    return {
        "location": {"id": b.location_id, "name": b.location.name, "kind": b.location.kind},
        "lot": {
            "id": b.lot_id,
            "batch_number": b.lot.batch_number,
            "expires_on": b.lot.expires_on.isoformat(),
            "recalled": b.lot.is_recalled,
        },
        "medicine": {"id": b.lot.medicine_id, "name": str(b.lot.medicine)},
        "quantity": str(b.quantity),
        "unit": b.lot.medicine.unit,
    }


def movement_json(m: Movement) -> dict[str, Any]:
    return {
        "id": m.pk,
        "at": m.at.isoformat(),
        "kind": m.kind,
        "direction": m.direction,
        "location": {"id": m.location_id, "name": m.location.name},
        "lot": m.lot_id,
        "quantity": str(m.quantity),
        "balance_before": str(m.balance_before),
        "balance_after": str(m.balance_after),
        "by": m.by.username,
        "witness": m.witness.username if m.witness else None,
        "transfer_id": str(m.transfer_id) if m.transfer_id else None,
        "supplier": m.supplier,
        "delivery_reference": m.delivery_reference,
        "reason_code": m.reason_code,
        "note": m.note,
    }


def _plain_movement_json(m: Movement) -> dict[str, Any]:
    return {
        "id": m.pk,
        "kind": m.kind,
        "direction": m.direction,
        "location": m.location_id,
        "lot": m.lot_id,
        "quantity": str(m.quantity),
        "balance_before": str(m.balance_before),
        "balance_after": str(m.balance_after),
    }


def count_json(c: StockCount) -> dict[str, Any]:
    return {
        "id": c.pk,
        "location": {"id": c.location_id, "name": c.location.name},
        "status": c.status,
        "has_discrepancy": c.has_discrepancy,
        "started_at": c.started_at.isoformat(),
        "submitted_at": c.submitted_at.isoformat() if c.submitted_at else None,
        "approved_at": c.approved_at.isoformat() if c.approved_at else None,
        "lines": [line_json(line) for line in c.lines.all()],
    }


def line_json(line: CountLine) -> dict[str, Any]:
    return {
        "id": line.pk,
        "lot": line.lot_id,
        "counted_quantity": str(line.counted_quantity),
        "balance_at_count": str(line.balance_at_count),
        "recounted_quantity": (
            str(line.recounted_quantity) if line.recounted_quantity is not None else None
        ),
        "balance_at_recount": (
            str(line.balance_at_recount) if line.balance_at_recount is not None else None
        ),
        "needs_recount": line.needs_recount,
        "variance": str(line.variance),
        "reason_code": line.reason_code,
    }


def notification_json(n: Notification) -> dict[str, Any]:
    return {
        "id": n.pk,
        "kind": n.kind,
        "message": n.message,
        "created_at": n.created_at.isoformat(),
        "medicine": n.medicine_id,
        "lot": n.lot_id,
        "location": n.location_id,
        "count": n.stock_count_id,
    }


# --- formulary and locations --------------------------------------------------------


class MedicineInput(serializers.Serializer[Any]):
    atc_code = serializers.RegexField(r"^[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}$", max_length=7)
    name = serializers.CharField(max_length=120)
    strength = serializers.CharField(max_length=60)
    form = serializers.CharField(max_length=60)
    unit = serializers.CharField(max_length=20)
    package_size = QuantityField()
    dispensing = serializers.ChoiceField(choices=Medicine.Dispensing.choices)
    dependence_forming = serializers.BooleanField()
    minimum_stock = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=0)
    # What one stock unit holds (500 mg a tablet); read from the strength when left out.
    amount_per_unit = QuantityField(required=False, allow_null=True, default=None)
    amount_unit = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")


class MedicinesView(APIView):
    permission_classes = [roles(OFFICER, NURSE, COORDINATOR)]

    def get(self, request: Request) -> Response:
        return Response({"medicines": [medicine_json(m) for m in Medicine.objects.all()]})

    def post(self, request: Request) -> Response:
        if actor_of(request).role != OFFICER:
            raise Forbidden("formulary.role", "Only the medicine officer keeps the formulary.")
        form = MedicineInput(data=request.data)
        form.is_valid(raise_exception=True)
        medicine = services.medicine_upsert(**form.validated_data)
        return Response(medicine_json(medicine), status=201)


class LocationsView(APIView):
    permission_classes = [roles(OFFICER, NURSE, COORDINATOR)]

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


class CabinetsView(APIView):
    permission_classes = [roles(OFFICER)]

    def post(self, request: Request) -> Response:
        form = CabinetInput(data=request.data)
        form.is_valid(raise_exception=True)
        cabinet = services.cabinet_create(
            organisation=_organisation(actor_of(request)), **form.validated_data
        )
        return Response(location_json(cabinet), status=201)


class MyBagView(APIView):
    """The nurse's own bag (made on first use) and what it holds."""

    permission_classes = [roles(NURSE)]

    def get(self, request: Request) -> Response:
        actor = actor_of(request)
        bag = services.bag_for_nurse(organisation=_organisation(actor), nurse=actor.user)  # type: ignore[arg-type]
        rows = selectors.stock_by_location(organisation=bag.organisation, location=bag)
        return Response({"bag": location_json(bag), "stock": [balance_json(b) for b in rows]})


class StockView(APIView):
    """Stock by location and lot. A nurse sees the cabinets and her own bag."""

    permission_classes = [roles(OFFICER, NURSE, COORDINATOR)]

    def get(self, request: Request) -> Response:
        actor = actor_of(request)
        organisation = _organisation(actor)
        location = None
        raw = request.query_params.get("location")
        if raw:
            if not raw.isdigit():
                raise InvalidInput(
                    "search.param_invalid", "location must be an id.", field="location"
                )
            location = selectors.location_get(organisation=organisation, location_id=int(raw))
        rows: QuerySet[Balance] = selectors.stock_by_location(
            organisation=organisation, location=location
        )
        if actor.role == NURSE:
            rows = rows.filter(
                Q(location__kind=Location.Kind.CABINET) | Q(location__nurse=actor.user)
            )
        return Response({"stock": [balance_json(b) for b in rows]})


class LocationBalanceView(APIView):
    permission_classes = [roles(OFFICER, NURSE, COORDINATOR)]

    def get(self, request: Request, location_id: int) -> Response:
        actor = actor_of(request)
        location = selectors.location_get(
            organisation=_organisation(actor), location_id=location_id
        )
        if (
            actor.role == NURSE
            and location.kind == Location.Kind.BAG
            and location.nurse_id != getattr(actor.user, "pk", None)
        ):
            raise Forbidden("bag.not_yours", "You may see only your own bag.")
        return Response(
            {
                "location": location_json(location),
                "medicines": [
                    {**row, "quantity": str(row["quantity"])}
                    for row in selectors.location_balance(location=location)
                ],
            }
        )


# --- movements ---------------------------------------------------------------------------


class ReceiveInput(serializers.Serializer[Any]):
    cabinet = serializers.IntegerField(min_value=1)
    medicine = serializers.IntegerField(min_value=1)
    batch_number = serializers.CharField(max_length=40)
    expires_on = serializers.DateField()
    quantity = QuantityField()
    unit = serializers.CharField(max_length=20)
    supplier = serializers.CharField(max_length=120)
    delivery_reference = serializers.CharField(max_length=80)
    witness = WitnessInput(required=False)


class ReceiptsView(APIView):
    permission_classes = [roles(OFFICER)]

    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        form = ReceiveInput(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        organisation = _organisation(actor)
        cabinet = selectors.location_get(organisation=organisation, location_id=data["cabinet"])
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

    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        form = TransferInput(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        organisation = _organisation(actor)
        out, into = services.stock_transfer(
            actor=actor,
            lot=selectors.lot_get(lot_id=data["lot"]),
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


class WasteInput(serializers.Serializer[Any]):
    location = serializers.IntegerField(min_value=1)
    lot = serializers.IntegerField(min_value=1)
    quantity = QuantityField()
    unit = serializers.CharField(max_length=20)
    reason_code = serializers.ChoiceField(choices=WasteReason.choices)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    witness = WitnessInput(required=False)


class WasteView(APIView):
    permission_classes = [roles(OFFICER, NURSE)]

    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        form = WasteInput(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        movement = services.stock_waste(
            actor=actor,
            location=selectors.location_get(
                organisation=_organisation(actor), location_id=data["location"]
            ),
            lot=selectors.lot_get(lot_id=data["lot"]),
            quantity=data["quantity"],
            unit=data["unit"],
            reason_code=data["reason_code"],
            note=data["note"],
            witness=_witness(request, data),
        )
        return Response(_plain_movement_json(movement), status=201)


class RemovalInput(serializers.Serializer[Any]):
    location = serializers.IntegerField(min_value=1)
    lot = serializers.IntegerField(min_value=1)
    why = serializers.ChoiceField(choices=[("expired", "Expired"), ("recalled", "Recalled")])
    witness = WitnessInput(required=False)


class RemovalsView(APIView):
    """Take an expired or recalled lot's whole balance out of a location."""

    permission_classes = [roles(OFFICER, NURSE)]

    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        form = RemovalInput(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        remove = (
            services.stock_remove_expired
            if data["why"] == "expired"
            else services.stock_remove_recalled
        )
        movement = remove(
            actor=actor,
            location=selectors.location_get(
                organisation=_organisation(actor), location_id=data["location"]
            ),
            lot=selectors.lot_get(lot_id=data["lot"]),
            witness=_witness(request, data),
        )
        return Response(_plain_movement_json(movement), status=201)


# --- lots: recall, history ---------------------------------------------------------------


class RecallInput(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=300)


class LotRecallView(APIView):
    permission_classes = [roles(OFFICER)]

    def post(self, request: Request, lot_id: int) -> Response:
        actor = actor_of(request)
        form = RecallInput(data=request.data)
        form.is_valid(raise_exception=True)
        lot = selectors.lot_get(lot_id=lot_id)
        holding = services.lot_recall(actor=actor, lot=lot, reason=form.validated_data["reason"])
        return Response(
            {
                "lot": lot.pk,
                "recalled_at": lot.recalled_at.isoformat() if lot.recalled_at else None,
                "held_in": [balance_json(b) for b in holding],
            },
            status=200,
        )


class LotHistoryView(APIView):
    permission_classes = [roles(OFFICER)]

    def get(self, request: Request, lot_id: int) -> Response:
        organisation = _organisation(actor_of(request))
        lot = selectors.lot_get(lot_id=lot_id)
        return Response(
            {
                "lot": {
                    "id": lot.pk,
                    "batch_number": lot.batch_number,
                    "expires_on": lot.expires_on.isoformat(),
                    "medicine": str(lot.medicine),
                    "recalled_at": lot.recalled_at.isoformat() if lot.recalled_at else None,
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


# --- counts --------------------------------------------------------------------------------


class CountStartInput(serializers.Serializer[Any]):
    location = serializers.IntegerField(min_value=1)


class CountsView(APIView):
    permission_classes = [roles(OFFICER, NURSE)]

    def get(self, request: Request) -> Response:
        actor = actor_of(request)
        status = request.query_params.get("status") or None
        if status and status not in StockCount.Status.values:
            raise InvalidInput("search.param_invalid", "Unknown count status.", field="status")
        rows = selectors.counts_list(organisation=_organisation(actor), status=status)
        if actor.role == NURSE:
            rows = rows.filter(started_by=actor.user)
        return Response({"counts": [count_json(c) for c in rows[:200]]})

    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        form = CountStartInput(data=request.data)
        form.is_valid(raise_exception=True)
        location = selectors.location_get(
            organisation=_organisation(actor), location_id=form.validated_data["location"]
        )
        count = services.count_start(actor=actor, location=location)
        return Response(count_json(count), status=201)


class CountDetailView(APIView):
    permission_classes = [roles(OFFICER, NURSE)]

    def get(self, request: Request, count_id: int) -> Response:
        count = selectors.count_get(
            organisation=_organisation(actor_of(request)), count_id=count_id
        )
        return Response(count_json(count))


class CountLineInput(serializers.Serializer[Any]):
    lot = serializers.IntegerField(min_value=1)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=0)


class CountLinesView(APIView):
    permission_classes = [roles(OFFICER, NURSE)]

    def post(self, request: Request, count_id: int) -> Response:
        actor = actor_of(request)
        count = selectors.count_get(organisation=_organisation(actor), count_id=count_id)
        form = CountLineInput(data=request.data)
        form.is_valid(raise_exception=True)
        line = services.count_record(
            actor=actor,
            count=count,
            lot=selectors.lot_get(lot_id=form.validated_data["lot"]),
            quantity=form.validated_data["quantity"],
        )
        return Response(line_json(line), status=201)


class RecountInput(serializers.Serializer[Any]):
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=0)
    reason_code = serializers.ChoiceField(
        choices=CountReason.choices, required=False, allow_blank=True, default=""
    )
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class CountRecountView(APIView):
    permission_classes = [roles(OFFICER, NURSE)]

    def post(self, request: Request, count_id: int, line_id: int) -> Response:
        actor = actor_of(request)
        count = selectors.count_get(organisation=_organisation(actor), count_id=count_id)
        line = count.lines.filter(pk=line_id).first()
        if line is None:
            raise InvalidInput("count.line_not_found", "No such line in this count.", field="line")
        form = RecountInput(data=request.data)
        form.is_valid(raise_exception=True)
        line = services.count_recount(actor=actor, line=line, **form.validated_data)
        return Response(line_json(line))


class CountSubmitView(APIView):
    permission_classes = [roles(OFFICER, NURSE)]

    def post(self, request: Request, count_id: int) -> Response:
        actor = actor_of(request)
        count = selectors.count_get(organisation=_organisation(actor), count_id=count_id)
        return Response(count_json(services.count_submit(actor=actor, count=count)))


class ApproveInput(serializers.Serializer[Any]):
    witness = WitnessInput(required=False)


class CountApproveView(APIView):
    permission_classes = [roles(OFFICER)]

    def post(self, request: Request, count_id: int) -> Response:
        actor = actor_of(request)
        count = selectors.count_get(organisation=_organisation(actor), count_id=count_id)
        form = ApproveInput(data=request.data)
        form.is_valid(raise_exception=True)
        approved = services.count_approve(
            actor=actor, count=count, witness=_witness(request, form.validated_data)
        )
        return Response(count_json(approved))


# --- notifications and reports -----------------------------------------------------------------


class NotificationsView(APIView):
    permission_classes = [roles(OFFICER)]

    def get(self, request: Request) -> Response:
        rows = selectors.notifications_open(organisation=_organisation(actor_of(request)))
        return Response({"notifications": [notification_json(n) for n in rows[:500]]})


class NotificationAcknowledgeView(APIView):
    permission_classes = [roles(OFFICER)]

    def post(self, request: Request, notification_id: int) -> Response:
        actor = actor_of(request)
        notification = selectors.notification_get(
            organisation=_organisation(actor), notification_id=notification_id
        )
        services.notification_acknowledge(actor=actor, notification=notification)
        return Response(status=204)


class MonthlyUseView(APIView):
    """Use per medicine per month per municipality (the cost-sharing key)."""

    permission_classes = [roles(OFFICER)]

    def get(self, request: Request) -> Response:
        organisation = _organisation(actor_of(request))
        raw = request.query_params.get("year") or str(dt.date.today().year)
        if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
            raise InvalidInput("search.param_invalid", "year must be a year.", field="year")
        rows = selectors.monthly_use(organisation=organisation, year=int(raw))
        return Response({"year": int(raw), "rows": rows})


# --- administration (R8) ------------------------------------------------------------------------


class AdministrationInput(serializers.Serializer[Any]):
    visit = serializers.IntegerField(min_value=1)
    order = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    medicine = serializers.IntegerField(min_value=1)
    lot = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    quantity = QuantityField()
    unit = serializers.CharField(max_length=20)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    witness = WitnessInput(required=False)
    # R8: a dose that is not the ordered one is given only when she confirms
    # it, with the amount she gives in the order's unit.
    confirm_mismatch = serializers.BooleanField(required=False, default=False)
    confirmed_dose = QuantityField(required=False, allow_null=True, default=None)


class AdministrationsView(APIView):
    """A dose from the nurse's own bag on her visit against a physician's order."""

    permission_classes = [roles(NURSE)]

    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        form = AdministrationInput(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        _organisation(actor)
        administration = services.administration_give(
            actor=actor,
            visit_id=data["visit"],
            order_id=data["order"],
            medicine=selectors.medicine_get(medicine_id=data["medicine"]),
            lot=selectors.lot_get(lot_id=data["lot"]) if data["lot"] else None,
            quantity=data["quantity"],
            unit=data["unit"],
            note=data["note"],
            witness=_witness(request, data),
            confirm_mismatch=data["confirm_mismatch"],
            confirmed_dose=data["confirmed_dose"],
        )
        return Response(
            {
                "id": administration.pk,
                "lot": administration.lot_id,
                "movement": _plain_movement_json(administration.movement),
                "order": {
                    "id": administration.order_id,
                    "amount": _plain(administration.order_amount),
                    "unit": administration.order_unit,
                    "dose_mismatch": administration.dose_mismatch or None,
                    "mismatch_confirmed": administration.mismatch_confirmed,
                },
                "fhir": f"MedicationAdministration/{administration.pk}",
            },
            status=201,
        )


class LotSuggestionView(APIView):
    """The first-expiring usable lot of a medicine in the nurse's own bag."""

    permission_classes = [roles(NURSE)]

    def get(self, request: Request) -> Response:
        actor = actor_of(request)
        raw = request.query_params.get("medicine", "")
        if not raw.isdigit():
            raise InvalidInput("search.param_invalid", "medicine must be an id.", field="medicine")
        medicine = selectors.medicine_get(medicine_id=int(raw))
        bag = services.bag_for_nurse(organisation=_organisation(actor), nurse=actor.user)  # type: ignore[arg-type]
        lot = selectors.lot_suggest(bag=bag, medicine=medicine)
        if lot is None:
            return Response({"lot": None})
        return Response(
            {
                "lot": {
                    "id": lot.pk,
                    "batch_number": lot.batch_number,
                    "expires_on": lot.expires_on.isoformat(),
                }
            }
        )
