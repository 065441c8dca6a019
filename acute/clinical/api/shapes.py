"""What the clinical endpoints share: the roles, a write on a
visit, the JSON shapes of tests, results, procedures, delegations, orders and
alerts, and the input serializers."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from acute.clinical import dosing, selectors, services
from acute.clinical import models as clinical
from acute.clinical.catalogue import LAB_VALUE, LAB_VALUE_DECIMAL_COMMA
from consent.audit.services import Action
from core.actors import Actor
from core.api import CheckedIntegerField, NumberOrTextField, actor_of, valid
from core.created import Creates
from core.models import Role
from core.permissions import roles
from core.times import InstantField, api_instant

if TYPE_CHECKING:
    from acute.models import Visit

Form = TypeVar("Form", bound=serializers.Serializer[Any])

NURSE = Role.ACUTE_NURSE
COORDINATOR = Role.COORDINATOR
PHYSICIAN = Role.PHYSICIAN


class VisitWriteView(APIView, Generic[Form]):
    """A write that records one thing on a visit, answered 201 with what it
    recorded: the input checked (400 naming the fields), then the visit
    reached through the gate, audited; ``own_visit``: only the visit's own
    nurse records on it."""

    permission_classes = [roles(NURSE)]
    creates = Creates(None)
    form_class: type[Form]
    own_visit = True

    def record(self, *, actor: Actor, visit: Visit, form: Form) -> dict[str, Any]:
        raise NotImplementedError

    def post(self, request: Request, visit_id: int) -> Response:
        form = self.form_class(data=request.data)
        form.is_valid(raise_exception=True)
        actor = actor_of(request)
        visit = selectors.visit_access(
            actor=actor, visit_id=visit_id, action=Action.CREATE, own_visit=self.own_visit
        )
        return Response(self.record(actor=actor, visit=visit, form=form), status=201)


def result_write(
    request: Request, result_id: int, form_class: type[serializers.Serializer[Any]]
) -> tuple[Actor, clinical.LabResult, dict[str, Any]]:
    """What a correction or withdrawal of a result starts with: the input
    checked (400 naming the fields), then the result reached through
    :func:`selectors.result_access`, audited as the update it is."""
    data = valid(form_class, request.data)
    actor = actor_of(request)
    result = selectors.result_access(actor=actor, result_id=result_id, action=Action.UPDATE)
    return actor, result, data


def _time(value: Any) -> str | None:
    """RFC 3339 in UTC (``...Z``), as the renderer writes every other time. A
    time echoed as the client sent it is in Copenhagen's zone until read back,
    and before 1894 its offset (``+00:50:20``) is no valid RFC 3339 offset."""
    return api_instant(value)


def _number(value: Any) -> str | None:
    return None if value is None else f"{value.normalize():f}"


# --- Output -------------------------------------------------------------------


def test_out(test: clinical.TestDefinition) -> dict[str, Any]:
    return {
        "code": test.code,
        "system": test.system,
        "display": test.display,
        "kind": test.kind,
        "predefined": test.predefined,
        "unit": test.unit,
        "unit_display": test.unit_display,
        "reference_low": _number(test.reference_low),
        "reference_high": _number(test.reference_high),
        "critical_low": _number(test.critical_low),
        "critical_high": _number(test.critical_high),
        "derived_from": test.derived_from.code if test.derived_from else None,
    }


def result_out(result: clinical.LabResult) -> dict[str, Any]:
    return {
        "id": result.pk,
        "code": result.test.code,
        "display": result.test.display,
        "value": _number(result.value),
        "unit": result.unit,
        "unit_display": result.test.unit_display,
        "interpretation": result.interpretation,
        "interpretation_display": result.get_interpretation_display(),
        "critical": result.is_critical,
        "reference_low": _number(result.reference_low),
        "reference_high": _number(result.reference_high),
        "effective_at": _time(result.effective_at),
        "derived_from": result.derived_from_id,
        "delegation": result.delegation_id,
        "status": result.status,
        "replaces": result.replaces_id,
        "withdrawn_at": _time(result.withdrawn_at),
        "withdrawn_reason": result.withdrawn_reason,
    }


def procedure_out(procedure: clinical.ProcedureRecord) -> dict[str, Any]:
    return {
        "id": procedure.pk,
        "code": procedure.test.code,
        "display": procedure.test.display,
        "status": procedure.status,
        "performed_at": _time(procedure.performed_at),
        "note": procedure.note,
        "delegation": procedure.delegation_id,
    }


def delegation_out(delegation: clinical.Delegation) -> dict[str, Any]:
    return {
        "id": delegation.pk,
        "code": delegation.test.code,
        "display": delegation.test.display,
        "physician_name": delegation.physician_name,
        "physician_authorisation_id": delegation.physician_authorisation_id,
        "physician_organisation_name": delegation.physician_organisation_name,
        "delegated_at": _time(delegation.delegated_at),
        "recorded_by": delegation.recorded_by.display_name,
        "recorded_at": _time(delegation.recorded_at),
        "note": delegation.note,
    }


def allowance_out(left: dosing.Allowance) -> dict[str, Any]:
    """What the order still allows (R8), in its dose unit: ``remaining`` is what
    the next dose may be at most, now."""
    return {
        "unit": left.unit,
        "total": _number(left.total),
        "given": _number(left.given),
        "remaining": _number(left.remaining),
        "per_day": _number(left.per_day),
        "remaining_today": _number(left.remaining_today),
        "ends_at": _time(left.ends_at),
        "ended": left.ended,
    }


def order_out(order: clinical.MedicationOrder) -> dict[str, Any]:
    return {
        "id": order.pk,
        "kind": order.kind,
        "status": order.status,
        "citizen": order.citizen_id,
        "visit": order.visit_id,
        "medicine_atc": order.medicine_atc,
        "medicine_name": order.medicine_name,
        "dose": _number(order.dose),
        "dose_unit": order.dose_unit,
        "route": order.route,
        "frequency": order.frequency,
        "duration": order.duration,
        "doses_per_day": order.doses_per_day,
        "duration_days": order.duration_days,
        "total_quantity": _number(order.total_quantity),
        "allowance": allowance_out(selectors.order_allowance(order)),
        "indication": order.indication,
        "dependence_forming": order.dependence_forming,
        "ordered_at": _time(order.ordered_at),
        "ordered_by": {
            "name": order.ordered_by_name,
            "role": order.ordered_by_role,
            "organisation": order.ordered_by_organisation_name,
            "authorisation_id": order.ordered_by_authorisation_id,
            "user": order.ordering_physician_id,
        },
        "recorded_by": order.recorded_by.display_name,
        "recorded_at": _time(order.recorded_at),
        "read_back": order.read_back,
        "read_back_confirmed": order.read_back_confirmed,
        "confirm_by": _time(order.confirm_by),
        "confirmed_at": _time(order.confirmed_at),
        "confirmation_seen_by": order.confirmation_seen_by,
        "confirmation_note": order.confirmation_note,
        "prescription_status": order.prescription_status,
        "prescription_due_by": _time(order.prescription_due_by),
        "prescription_sent_at": _time(order.prescription_sent_at),
        "prescription_seen_by": order.prescription_seen_by,
        "prescription_note": order.prescription_note,
        "cancelled_at": _time(order.cancelled_at),
        "cancel_reason": order.cancel_reason,
        "cancel_phoned_by": order.cancel_phoned_by,
        "cancel_phoned_at": _time(order.cancel_phoned_at),
        "corrects": order.corrects_id,
        "corrected_by": _correction_id(order),
    }


def _correction_id(order: clinical.MedicationOrder) -> int | None:
    """The written order that corrects this phone order, if any (lists read
    it with ``select_related("correction")``: no query per order)."""
    try:
        return order.correction.pk
    except clinical.MedicationOrder.DoesNotExist:
        return None


def alert_out(alert: clinical.PhysicianAlert) -> dict[str, Any]:
    """An alert; one whose citizen refused the reader (R4), its kind and when
    only — nothing that names her or says what it is about."""
    refused = alert.citizen_refused
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "citizen_refused": refused,
        "citizen": None if refused else alert.citizen_id,
        "visit": None if refused else alert.visit_id,
        "message": None if refused else alert.shown_message,
        "lab_result": None if refused else alert.lab_result_id,
        "medication_order": None if refused else alert.medication_order_id,
        "recipient": alert.recipient.display_name if alert.recipient else None,
        "recipient_organisation": (
            alert.recipient_organisation.name if alert.recipient_organisation else None
        ),
        "raised_at": _time(alert.raised_at),
        "acknowledged_at": _time(alert.acknowledged_at),
    }


# --- The same shapes for the OpenAPI description (core/openapi.py) -------------
# Quantities are decimals written as text ("0.5"), never floats.


def _decimal(**kwargs: Any) -> serializers.CharField:
    kwargs.setdefault("help_text", "A decimal number as text.")
    return serializers.CharField(**kwargs)


class TestOut(serializers.Serializer[Any]):
    code = serializers.CharField()
    system = serializers.CharField()
    display = serializers.CharField()
    kind = serializers.ChoiceField(choices=clinical.TestDefinition.Kind.choices)
    predefined = serializers.BooleanField(help_text="R7: a nurse may take it without a delegation.")
    unit = serializers.CharField(allow_blank=True)
    unit_display = serializers.CharField(allow_blank=True)
    reference_low = _decimal(allow_null=True)
    reference_high = _decimal(allow_null=True)
    critical_low = _decimal(allow_null=True)
    critical_high = _decimal(allow_null=True)
    derived_from = serializers.CharField(allow_null=True)


class ResultOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    code = serializers.CharField()
    display = serializers.CharField()
    value = _decimal()
    unit = serializers.CharField()
    unit_display = serializers.CharField(allow_blank=True)
    interpretation = serializers.ChoiceField(choices=clinical.LabResult.Interpretation.choices)
    interpretation_display = serializers.CharField()
    critical = serializers.BooleanField()
    reference_low = _decimal(allow_null=True)
    reference_high = _decimal(allow_null=True)
    effective_at = serializers.DateTimeField()
    derived_from = serializers.IntegerField(allow_null=True)
    delegation = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(
        choices=clinical.LabResult.Status.choices,
        help_text="entered-in-error: withdrawn; it was never the citizen's value.",
    )
    replaces = serializers.IntegerField(
        allow_null=True, help_text="The result entered in error that this one corrects."
    )
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    withdrawn_reason = serializers.CharField(allow_blank=True)


class ProcedureOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    code = serializers.CharField()
    display = serializers.CharField()
    status = serializers.ChoiceField(choices=clinical.ProcedureRecord.Status.choices)
    performed_at = serializers.DateTimeField()
    note = serializers.CharField(allow_blank=True)
    delegation = serializers.IntegerField(allow_null=True)


class DelegationOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    code = serializers.CharField()
    display = serializers.CharField()
    physician_name = serializers.CharField()
    physician_authorisation_id = serializers.CharField()
    physician_organisation_name = serializers.CharField()
    delegated_at = serializers.DateTimeField()
    recorded_by = serializers.CharField()
    recorded_at = serializers.DateTimeField()
    note = serializers.CharField(allow_blank=True)


class AllowanceOut(serializers.Serializer[Any]):
    unit = serializers.CharField()
    total = _decimal()
    given = _decimal()
    remaining = _decimal(help_text="The most the next dose may be, now.")
    per_day = _decimal(allow_null=True)
    remaining_today = _decimal(allow_null=True)
    ends_at = serializers.DateTimeField(allow_null=True)
    ended = serializers.BooleanField()


class OrderedByOut(serializers.Serializer[Any]):
    name = serializers.CharField()
    role = serializers.CharField()
    organisation = serializers.CharField()
    authorisation_id = serializers.CharField()
    user = serializers.IntegerField(allow_null=True)


class OrderOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=clinical.MedicationOrder.Kind.choices)
    status = serializers.ChoiceField(choices=clinical.MedicationOrder.Status.choices)
    citizen = serializers.IntegerField()
    visit = serializers.IntegerField(allow_null=True)
    medicine_atc = serializers.CharField()
    medicine_name = serializers.CharField()
    dose = _decimal()
    dose_unit = serializers.CharField()
    route = serializers.CharField()
    frequency = serializers.CharField()
    duration = serializers.CharField()
    doses_per_day = serializers.IntegerField(allow_null=True)
    duration_days = serializers.IntegerField(allow_null=True)
    total_quantity = _decimal(allow_null=True)
    allowance = AllowanceOut()
    indication = serializers.CharField()
    dependence_forming = serializers.BooleanField()
    ordered_at = serializers.DateTimeField()
    ordered_by = OrderedByOut()
    recorded_by = serializers.CharField()
    recorded_at = serializers.DateTimeField()
    read_back = serializers.BooleanField()
    read_back_confirmed = serializers.BooleanField()
    confirm_by = serializers.DateTimeField(allow_null=True)
    confirmed_at = serializers.DateTimeField(allow_null=True)
    # How a confirmation received by another route was seen (R8); blank when
    # the physician confirmed on her own page.
    confirmation_seen_by = serializers.ChoiceField(
        choices=clinical.MedicationOrder.SeenBy.choices, allow_blank=True
    )
    confirmation_note = serializers.CharField(allow_blank=True)
    prescription_status = serializers.ChoiceField(
        choices=clinical.MedicationOrder.PrescriptionStatus.choices, allow_blank=True
    )
    prescription_due_by = serializers.DateTimeField(allow_null=True)
    prescription_sent_at = serializers.DateTimeField(allow_null=True)
    prescription_seen_by = serializers.ChoiceField(
        choices=clinical.MedicationOrder.SeenBy.choices, allow_blank=True
    )
    prescription_note = serializers.CharField(allow_blank=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    cancel_reason = serializers.CharField(allow_blank=True)
    # A withdrawal the physician, no user of the platform, phoned in and the
    # coordinator recorded (R8): who phoned and when; blank otherwise.
    cancel_phoned_by = serializers.CharField(allow_blank=True)
    cancel_phoned_at = serializers.DateTimeField(allow_null=True)
    corrects = serializers.IntegerField(
        allow_null=True,
        read_only=True,
        help_text="The phone order this written order corrects and takes the place of (R8): "
        "doses given against that order count against this one.",
    )
    corrected_by = serializers.IntegerField(
        allow_null=True,
        read_only=True,
        help_text="The written order that corrects this phone order (R8); give against that one.",
    )


class AlertOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=clinical.PhysicianAlert.Kind.choices)
    citizen_refused = serializers.BooleanField(
        help_text="R4: the citizen's refusal covers the reader; whom and what are left out."
    )
    citizen = serializers.IntegerField(allow_null=True)
    visit = serializers.IntegerField(allow_null=True)
    message = serializers.CharField(allow_null=True)
    lab_result = serializers.IntegerField(allow_null=True)
    medication_order = serializers.IntegerField(allow_null=True)
    recipient = serializers.CharField(allow_null=True)
    recipient_organisation = serializers.CharField(allow_null=True)
    raised_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)


# --- Input --------------------------------------------------------------------


# A result's value as the catalogue reads it (its column's digits and
# decimals); what can be measured in a living person is the test's own range
# (``lab.value_implausible``), kept in the catalogue, not in the description.
LAB_VALUE_HELP = (
    "As the laboratory reports it; refused beyond the column "
    "(`lab.value_too_large`, `lab.value_too_many_decimals`) and outside what the test "
    "can measure in a living person (`lab.value_implausible`)."
)


def lab_value_field() -> NumberOrTextField:
    """A result's value, as reported and as corrected: one declaration."""
    return NumberOrTextField(
        max_length=32,
        bounds=LAB_VALUE,
        decimal_comma=LAB_VALUE_DECIMAL_COMMA,
        help_text=LAB_VALUE_HELP,
    )


class ResultItem(serializers.Serializer[Any]):
    code = serializers.CharField(max_length=32)
    value = lab_value_field()
    unit = serializers.CharField(max_length=32)
    effective_at = InstantField(required=False)


class ResultWithdrawIn(serializers.Serializer[Any]):
    # Blank is refused by the service (lab.withdraw_reason_required), audited.
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class ResultCorrectIn(ResultWithdrawIn):
    value = lab_value_field()
    unit = serializers.CharField(max_length=32)


class ResultsIn(serializers.Serializer[Any]):
    results = ResultItem(many=True, allow_empty=False)


class ProcedureIn(serializers.Serializer[Any]):
    code = serializers.CharField(max_length=32)
    performed_at = InstantField(required=False)
    status = serializers.ChoiceField(
        choices=clinical.ProcedureRecord.Status.choices,
        default=clinical.ProcedureRecord.Status.COMPLETED,
    )
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class DelegationIn(serializers.Serializer[Any]):
    code = serializers.CharField(max_length=32, source="test_code")
    physician_name = serializers.CharField(max_length=200)
    physician_authorisation_id = serializers.CharField(max_length=20)
    physician_organisation_name = serializers.CharField(max_length=200)
    # When the physician delegated; left out, when it is recorded.
    delegated_at = InstantField(required=False)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


ORDER_DETAILS = tuple(field.name for field in dataclasses.fields(services.OrderDetails))


class OrderDetailsIn(serializers.Serializer[Any]):
    medicine_atc = serializers.CharField(max_length=7, min_length=7)
    medicine_name = serializers.CharField(max_length=200)
    dose = NumberOrTextField(
        max_length=20,
        bounds=services.DOSE,
        decimal_comma=services.ORDER_DECIMAL_COMMA,
        help_text="At or below zero refused with `order.dose_invalid`; more digits or"
        " decimals than stated with `order.dose_too_large`, `order.dose_too_many_decimals`.",
    )
    dose_unit = serializers.CharField(max_length=32)
    route = serializers.CharField(max_length=64)
    frequency = serializers.CharField(max_length=100)
    duration = serializers.CharField(max_length=100)
    indication = serializers.CharField(max_length=300)
    # What the order allows in numbers (R8); read from the words when left out.
    doses_per_day = CheckedIntegerField(
        minimum=1,
        maximum=services.MAX_DOSES_PER_DAY,
        required=False,
        allow_null=True,
        default=None,
        help_text="Refused outside its bounds with `order.schedule_invalid` (R8).",
    )
    duration_days = CheckedIntegerField(
        minimum=1,
        maximum=services.MAX_ORDER_DAYS,
        required=False,
        allow_null=True,
        default=None,
        help_text="Refused outside its bounds with `order.schedule_invalid` (R8).",
    )
    total_quantity = NumberOrTextField(
        max_length=20,
        required=False,
        allow_null=True,
        default=None,
        bounds=services.TOTAL_QUANTITY,
        decimal_comma=services.ORDER_DECIMAL_COMMA,
        help_text="At least one dose (`order.total_below_dose`, so above zero); more digits"
        " or decimals than stated refused with `order.total_quantity_too_large`,"
        " `order.total_quantity_too_many_decimals`.",
    )

    def details(self) -> services.OrderDetails:
        """The order's details, each field by its name in :class:`services.OrderDetails`."""
        d = self.validated_data
        return services.OrderDetails(**{name: d[name] for name in ORDER_DETAILS})


class PhoneOrderIn(OrderDetailsIn):
    # When the physician gave the order; left out, when it is recorded.
    ordered_at = InstantField(required=False)
    ordered_by_name = serializers.CharField(max_length=200)
    ordered_by_role = serializers.CharField(max_length=100)
    ordered_by_organisation = serializers.CharField(
        max_length=200, source="ordered_by_organisation_name"
    )
    ordered_by_authorisation_id = serializers.CharField(max_length=20)
    # Missing or false is a rule refusal (R8), audited, not a form error.
    read_back = serializers.BooleanField(required=False, default=False)
    read_back_confirmed = serializers.BooleanField(required=False, default=False)

    def call(self) -> dict[str, Any]:
        """Who gave the order on the phone, when, and that it was read back:
        :func:`services.phone_order_record`'s arguments besides the details."""
        return {k: v for k, v in self.validated_data.items() if k not in ORDER_DETAILS}
