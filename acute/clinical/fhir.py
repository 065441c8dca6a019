"""Results, procedures and medication orders as FHIR R4 resources.

Observations carry the NPU code (``urn:oid:1.2.208.176.2.1``) and a UCUM
quantity, interpreted with HL7's ObservationInterpretation codes, in the shape
of MedCom's HomeCareObservation (municipal point-of-care results to the GP).
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.procedure import Procedure

from acute.clinical.models import (
    ATC_SYSTEM,
    LabResult,
    MedicationOrder,
    ProcedureRecord,
    TestDefinition,
)
from core.times import fhir_instant

UCUM_SYSTEM = "http://unitsofmeasure.org"
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBSERVATION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
HOMECARE_OBSERVATION_PROFILE = (
    "http://medcomfhir.dk/ig/homecareobservation/StructureDefinition/medcom-homecare-observation"
)
AUTHORISATION_ID_SYSTEM = "urn:tvaerakut:authorisation-id"
ORDER_CHANNEL_EXTENSION = "urn:tvaerakut:fhir:StructureDefinition/order-channel"
ORDER_CONFIRMATION_EXTENSION = "urn:tvaerakut:fhir:StructureDefinition/order-confirmation"
REPLACES_EXTENSION = "urn:tvaerakut:fhir:StructureDefinition/replaces"
PRESCRIPTION_EXTENSION = "urn:tvaerakut:fhir:StructureDefinition/prescription-status"
ORDER_TOTAL_EXTENSION = "urn:tvaerakut:fhir:StructureDefinition/order-total-quantity"


def observation_id(pk: int) -> str:
    """Lab results are Observations "lab-<n>"; vital signs (``acute``) have their own ids."""
    return f"lab-{pk}"


def _encounter(visit_id: int | None) -> dict[str, str] | None:
    return {"reference": f"Encounter/visit-{visit_id}"} if visit_id else None


def _test_concept(test: TestDefinition) -> dict[str, Any]:
    """A catalogue test or procedure as the code of the resource it was recorded as."""
    return {
        "coding": [{"system": test.system, "code": test.code, "display": test.display}],
        "text": test.display,
    }


def _number(value: Any) -> float | int:
    # Decimal in, JSON number out without float noise for the usual precisions.
    normalised = value.normalize()
    return int(normalised) if normalised == normalised.to_integral() else float(normalised)


def observation_resource(result: LabResult, *, home_care_profile: bool = False) -> dict[str, Any]:
    test = result.test
    data: dict[str, Any] = {
        "resourceType": "Observation",
        "id": observation_id(result.pk),
        "status": result.status,
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY_SYSTEM, "code": "laboratory"}]}],
        "code": _test_concept(test),
        "subject": {"reference": f"Patient/{result.citizen_id}"},
        "encounter": _encounter(result.visit_id),
        "effectiveDateTime": fhir_instant(result.effective_at),
        "issued": fhir_instant(result.recorded_at),
        "performer": [
            {
                "reference": f"Organization/{result.recorded_by_organisation_id}",
                "display": result.recorded_by_organisation.name,
            },
            {"display": result.recorded_by.display_name},
        ],
        "valueQuantity": {
            "value": _number(result.value),
            "unit": test.unit_display or result.unit,
            "system": UCUM_SYSTEM,
            "code": result.unit,
        },
        "interpretation": [
            {
                "coding": [
                    {
                        "system": INTERPRETATION_SYSTEM,
                        "code": result.interpretation,
                        "display": result.get_interpretation_display(),
                    }
                ]
            }
        ],
    }
    if result.reference_low is not None or result.reference_high is not None:
        bounds: dict[str, Any] = {}
        for key, bound in (("low", result.reference_low), ("high", result.reference_high)):
            if bound is not None:
                bounds[key] = {
                    "value": _number(bound),
                    "unit": test.unit_display or result.unit,
                    "system": UCUM_SYSTEM,
                    "code": result.unit,
                }
        data["referenceRange"] = [bounds]
    if result.derived_from_id:
        data["derivedFrom"] = [
            {"reference": f"Observation/{observation_id(result.derived_from_id)}"}
        ]
    notes = []
    if result.status == LabResult.Status.ENTERED_IN_ERROR:
        notes.append({"text": f"Entered in error: {result.withdrawn_reason}"})
    if result.replaces_id:
        # The result entered in error that this one corrects.
        replaced = f"Observation/{observation_id(result.replaces_id)}"
        data["extension"] = [{"url": REPLACES_EXTENSION, "valueReference": {"reference": replaced}}]
        notes.append({"text": f"Corrects {replaced}."})
    if notes:
        data["note"] = notes
    if home_care_profile:
        data["meta"] = {"profile": [HOMECARE_OBSERVATION_PROFILE]}
    data = {k: v for k, v in data.items() if v is not None}
    return Observation.model_validate(data).model_dump(mode="json", exclude_none=True)


def home_care_observations(results: list[LabResult]) -> list[dict[str, Any]]:
    """The results as Observations for a MedCom HomeCareObservation message to the
    GP. The hand-off work wraps them (with Patient, organisations and a
    DiagnosticReport) into the message Bundle and delivers it."""
    return [observation_resource(r, home_care_profile=True) for r in results]


def procedure_resource(procedure: ProcedureRecord) -> dict[str, Any]:
    test = procedure.test
    data: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": str(procedure.pk),
        "status": procedure.status,
        "code": _test_concept(test),
        "subject": {"reference": f"Patient/{procedure.citizen_id}"},
        "encounter": _encounter(procedure.visit_id),
        "performedDateTime": fhir_instant(procedure.performed_at),
        "performer": [
            {
                "actor": {"display": procedure.recorded_by.display_name},
                "onBehalfOf": {
                    "reference": f"Organization/{procedure.recorded_by_organisation_id}",
                    "display": procedure.recorded_by_organisation.name,
                },
            }
        ],
    }
    if procedure.note:
        data["note"] = [{"text": procedure.note}]
    return Procedure.model_validate(data).model_dump(mode="json", exclude_none=True)


_ORDER_STATUS = {
    MedicationOrder.Status.AWAITING_CONFIRMATION: "active",
    MedicationOrder.Status.CONFIRMED: "active",
    MedicationOrder.Status.CANCELLED: "cancelled",
}


def _order_status(order: MedicationOrder) -> str:
    """The order's FHIR status. A phone order the physician corrected in
    writing was taken down wrongly (wrong dose, route or medicine) and is
    replaced by its correction: ``entered-in-error``, as a corrected result
    is — a dose given against it before the correction stays recorded, and
    FHIR asks the reader to follow up such doses. An order withdrawn after
    a dose was given against it is ``stopped`` (R4: what it ordered was
    begun, then stopped); one withdrawn before any dose, ``cancelled``."""
    if order.status == MedicationOrder.Status.CANCELLED:
        if _corrected_by(order) is not None:
            return "entered-in-error"
        if _doses_given(order):
            return "stopped"
    return _ORDER_STATUS[MedicationOrder.Status(order.status)]


def _doses_given(order: MedicationOrder) -> bool:
    """Whether a dose was given against the order: annotated as ``dosed`` by
    the FHIR endpoints' query (no query per order), else asked."""
    dosed = getattr(order, "dosed", None)
    if dosed is None:
        return order.administrations.exists()
    return bool(dosed)


def _corrected_by(order: MedicationOrder) -> MedicationOrder | None:
    """The written order that corrects this phone order, if any (read with
    ``select_related("correction")`` on lists: no query per order)."""
    try:
        return order.correction
    except MedicationOrder.DoesNotExist:
        return None


def _order_timing(order: MedicationOrder) -> dict[str, Any]:
    """The frequency as said, and in numbers where the order has them (R8):
    ``doses_per_day`` a day, bounded by ``duration_days``."""
    timing: dict[str, Any] = {"code": {"text": order.frequency}}
    repeat: dict[str, Any] = {}
    if order.doses_per_day:
        repeat.update(frequency=order.doses_per_day, period=1, periodUnit="d")
    if order.duration_days:
        repeat["boundsDuration"] = {
            "value": order.duration_days,
            "unit": "d",
            "system": UCUM_SYSTEM,
            "code": "d",
        }
    if repeat:
        timing["repeat"] = repeat
    return timing


def medication_request_resource(order: MedicationOrder) -> dict[str, Any]:
    """A physician's order; a phone order names the nurse who received and
    reported it (``reportedReference``) and is marked as given by phone."""
    requester: dict[str, Any] = {
        "display": f"{order.ordered_by_name} ({order.ordered_by_role}, "
        f"{order.ordered_by_organisation_name})",
        "identifier": {
            "system": AUTHORISATION_ID_SYSTEM,
            "value": order.ordered_by_authorisation_id,
        },
    }
    dose = _number(order.dose)
    extensions: list[dict[str, Any]] = [
        {"url": ORDER_CHANNEL_EXTENSION, "valueCode": order.kind},
        {
            "url": ORDER_CONFIRMATION_EXTENSION,
            "extension": [
                {"url": "status", "valueCode": order.status},
                *(
                    [{"url": "readBackConfirmed", "valueBoolean": True}]
                    if order.kind == MedicationOrder.Kind.PHONE
                    else []
                ),
                *(
                    [{"url": "confirmedAt", "valueDateTime": fhir_instant(order.confirmed_at)}]
                    if order.confirmed_at
                    else []
                ),
                *(
                    [{"url": "confirmBy", "valueDateTime": fhir_instant(order.confirm_by)}]
                    if order.confirm_by and order.status == order.Status.AWAITING_CONFIRMATION
                    else []
                ),
                # Received by another route from a physician who is no user (R8).
                *(
                    [{"url": "seenBy", "valueCode": order.confirmation_seen_by}]
                    if order.confirmation_seen_by
                    else []
                ),
            ],
        },
        {
            "url": PRESCRIPTION_EXTENSION,
            "extension": [
                {"url": "status", "valueCode": order.prescription_status},
                *(
                    [{"url": "sentAt", "valueDateTime": fhir_instant(order.prescription_sent_at)}]
                    if order.prescription_sent_at
                    else []
                ),
                *(
                    [{"url": "seenBy", "valueCode": order.prescription_seen_by}]
                    if order.prescription_seen_by
                    else []
                ),
            ],
        },
    ]
    data: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": str(order.pk),
        "extension": extensions,
        "status": _order_status(order),
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [
                {"system": ATC_SYSTEM, "code": order.medicine_atc, "display": order.medicine_name}
            ],
            "text": order.medicine_name,
        },
        "subject": {"reference": f"Patient/{order.citizen_id}"},
        "authoredOn": fhir_instant(order.ordered_at),
        "requester": requester,
        "recorder": {"display": order.recorded_by.display_name},
        "reasonCode": [{"text": order.indication}],
        "dosageInstruction": [
            {
                "text": f"{order.dose.normalize():f} {order.dose_unit} {order.route}, "
                f"{order.frequency}, {order.duration}",
                "timing": _order_timing(order),
                "route": {"text": order.route},
                "doseAndRate": [
                    {
                        "doseQuantity": {
                            "value": dose,
                            "unit": order.dose_unit,
                            "system": UCUM_SYSTEM,
                            "code": order.dose_unit,
                        }
                    }
                ],
            }
        ],
    }
    # R8: the most that may be given against the order in all, in its dose unit.
    extensions.append(
        {
            "url": ORDER_TOTAL_EXTENSION,
            "valueQuantity": {
                "value": _number(order.total_quantity),
                "unit": order.dose_unit,
                "system": UCUM_SYSTEM,
                "code": order.dose_unit,
            },
        }
    )
    if order.visit_id:
        data["encounter"] = {"reference": f"Encounter/visit-{order.visit_id}"}
    if order.status == MedicationOrder.Status.CANCELLED and order.cancel_reason:
        # The physician's reason for stopping, rejecting or correcting it.
        data["statusReason"] = {"text": order.cancel_reason}
    if order.cancel_phoned_at is not None:
        # Withdrawn by her phone call, recorded by the coordinator (R8).
        data["note"] = [
            {
                "authorString": order.cancel_phoned_by,
                "time": fhir_instant(order.cancel_phoned_at),
                "text": "Withdrawn by the physician by phone",
            }
        ]
    if order.corrects_id:
        # The phone order this written order corrects and takes the place of (R8).
        data["priorPrescription"] = {"reference": f"MedicationRequest/{order.corrects_id}"}
    if order.kind == MedicationOrder.Kind.PHONE:
        # Received by phone and reported into the record by the nurse.
        data["reportedReference"] = {
            "display": f"{order.recorded_by.display_name} "
            f"({order.recorded_by_organisation.name}), received by phone and read back",
        }
    return MedicationRequest.model_validate(data).model_dump(mode="json", exclude_none=True)
