"""FHIR resources that more than one partner's messages carry: a lab result as
a HomeCareObservation-style Observation (to the GP, in the admission
hand-off), a Communication (CareCommunication: outcome, hand-back, the
admission summary), a medicine coded with ATC."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from core.times import fhir_instant
from integrations.messages import SOURCE_SYSTEM, patient_ref

if TYPE_CHECKING:
    from acute.clinical.models import LabResult
    from core.models import Citizen

UCUM = "http://unitsofmeasure.org"
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBSERVATION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
CATEGORY_SYSTEM = "urn:tvaerakut:care-communication-category"
ATC_SYSTEM = "http://www.whocc.no/atc"


def observation(result: LabResult, citizen: Citizen) -> dict[str, Any]:
    """One lab result as a HomeCareObservation-style Observation: NPU-coded,
    UCUM units, interpretation and reference range."""
    test = result.test
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(uuid.uuid4()),
        "identifier": [{"system": SOURCE_SYSTEM, "value": f"labresult-{result.pk}"}],
        "status": result.status,
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY_SYSTEM, "code": "laboratory"}]}],
        "code": {"coding": [{"system": test.system, "code": test.code, "display": test.display}]},
        "subject": patient_ref(citizen),
        "effectiveDateTime": fhir_instant(result.effective_at),
        "valueQuantity": {
            "value": float(result.value),
            "unit": test.unit_display or result.unit,
            "system": UCUM,
            "code": result.unit,
        },
        "interpretation": [
            {"coding": [{"system": INTERPRETATION_SYSTEM, "code": result.interpretation}]}
        ],
    }
    limits = {"low": result.reference_low, "high": result.reference_high}
    reference_range = {
        end: {"value": float(value), "system": UCUM, "code": result.unit}
        for end, value in limits.items()
        if value is not None
    }
    if reference_range:
        resource["referenceRange"] = [reference_range]
    return resource


def communication(
    *, citizen: Citizen, category: str, title: str, text: str, about: str = ""
) -> dict[str, Any]:
    """A Communication (CareCommunication) about the citizen; ``about`` names
    what it concerns (``episode-17``, ``visit-4``)."""
    resource: dict[str, Any] = {
        "resourceType": "Communication",
        "id": str(uuid.uuid4()),
        "status": "completed",
        "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": category}]}],
        "subject": patient_ref(citizen),
        "sent": fhir_instant(timezone.now()),
        "topic": {"text": title},
        "payload": [{"contentString": text or title}],
    }
    if about:
        resource["identifier"] = [{"system": SOURCE_SYSTEM, "value": about}]
    return resource


def medicine(*, atc: str, name: str) -> dict[str, Any]:
    """The ``medicationCodeableConcept`` of a medicine: its ATC code and name."""
    return {"coding": [{"system": ATC_SYSTEM, "code": atc}], "text": name}
