"""Doses given on a visit against a physician's order (R8)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from acute.models import Visit
from core.api import actor_of, valid
from core.created import Creates
from core.errors import InvalidInput
from core.openapi import id_query
from core.permissions import roles
from core.refusals import Concerns
from core.times import InstantField
from core.validation import is_digits
from medicine_cabinet import selectors, services
from medicine_cabinet.api.common import (
    NURSE,
    LotOut,
    PlainMovementOut,
    QuantityField,
    WitnessInput,
    _organisation,
    _plain,
    _plain_movement_json,
    _witness,
    lot_json,
)

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
    given_at = InstantField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When the dose was given, if not now (ISO 8601 with offset): not more than"
        " five minutes ahead of the server's clock (offline.time_in_future), not more than a"
        " day back (offline.time_too_old), not before the visit was assigned, not after the"
        " citizen's registered death.",
    )


class AdministeredAgainstOut(serializers.Serializer[Any]):
    id = serializers.IntegerField(allow_null=True)
    amount = serializers.CharField(help_text="The dose in the order's unit, an exact decimal.")
    unit = serializers.CharField()
    dose_mismatch = serializers.ChoiceField(
        choices=["amount", "unit"], allow_null=True, help_text="How the dose differs, if it does."
    )
    mismatch_confirmed = serializers.BooleanField()


class AdministrationOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    lot = serializers.IntegerField()
    given_at = serializers.DateTimeField(help_text="When the dose was given.")
    movement = PlainMovementOut()
    order = AdministeredAgainstOut()
    discarded_rest = PlainMovementOut(
        allow_null=True,
        help_text="A dose of part of a tablet or an ampoule: the rest of the opened unit,"
        " discarded as partial_dose waste with the dose (null when whole units were given).",
    )
    fhir = serializers.CharField(help_text="The FHIR MedicationAdministration's reference.")


class AdministrationsView(APIView):
    """A dose from the nurse's own bag on her visit against a physician's order."""

    permission_classes = [roles(NURSE)]
    concerns = Concerns("MedicationAdministration", Visit, body="visit")
    creates = Creates(None)

    @extend_schema(
        operation_id="cabinet_administer",
        request=AdministrationInput,
        responses={201: AdministrationOut},
    )
    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        data = valid(AdministrationInput, request.data)
        organisation = _organisation(actor)
        administration = services.administration_give(
            actor=actor,
            visit_id=data["visit"],
            order_id=data["order"],
            medicine=selectors.medicine_get(medicine_id=data["medicine"]),
            lot=(
                selectors.lot_get(organisation=organisation, lot_id=data["lot"])
                if data["lot"]
                else None
            ),
            quantity=data["quantity"],
            unit=data["unit"],
            note=data["note"],
            # Checked by the service once the citizen is reached: a wrong
            # witness is a denied attempt on her record (R9).
            witness_credentials=_witness(request, data),
            confirm_mismatch=data["confirm_mismatch"],
            confirmed_dose=data["confirmed_dose"],
            given_at=data["given_at"],
        )
        rest = selectors.dose_rest(dose=administration.movement)
        return Response(
            {
                "id": administration.pk,
                "lot": administration.lot_id,
                "given_at": administration.administered_at,
                "movement": _plain_movement_json(administration.movement),
                "order": {
                    "id": administration.order_id,
                    "amount": _plain(administration.order_amount),
                    "unit": administration.order_unit,
                    "dose_mismatch": administration.dose_mismatch or None,
                    "mismatch_confirmed": administration.mismatch_confirmed,
                },
                "discarded_rest": _plain_movement_json(rest) if rest else None,
                "fhir": f"MedicationAdministration/{administration.pk}",
            },
            status=201,
        )


class LotSuggestionView(APIView):
    """The first-expiring usable lot of a medicine in the nurse's own bag."""

    permission_classes = [roles(NURSE)]

    @extend_schema(
        operation_id="cabinet_suggested_lot",
        parameters=[id_query("medicine", "A medicine's id.", required=True)],
        responses={200: inline_serializer("SuggestedLot", {"lot": LotOut(allow_null=True)})},
    )
    def get(self, request: Request) -> Response:
        actor = actor_of(request)
        raw = request.query_params.get("medicine", "")
        if not is_digits(raw):
            raise InvalidInput("search.param_invalid", "medicine must be an id.", field="medicine")
        medicine = selectors.medicine_get(medicine_id=int(raw))
        bag = services.bag_for_nurse(organisation=_organisation(actor), nurse=actor.user)  # type: ignore[arg-type]
        lot = selectors.lot_suggest(bag=bag, medicine=medicine)
        return Response({"lot": lot_json(lot) if lot is not None else None})
