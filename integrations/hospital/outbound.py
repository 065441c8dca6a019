"""The admission hand-off (*indlæggelsesrapport*) when a nurse sends a citizen
in: the reason, the observations taken on the visit and the medicines given,
in a message Bundle to the hospital."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext

from core.times import fhir_instant
from integrations.adapters import Outgoing
from integrations.messages import SOURCE_SYSTEM, in_partner_language, patient_ref
from integrations.resources import (
    OBSERVATION_CATEGORY_SYSTEM,
    UCUM,
    communication,
    medicine,
    observation,
)

if TYPE_CHECKING:
    from acute.clinical.models import MedicationOrder
    from acute.models import Visit, VitalSign
    from core.models import Citizen

LOINC = "http://loinc.org"


@dataclass(frozen=True)
class AdmissionRequest:
    """A nurse sends the citizen of ``visit`` to hospital, for ``reason``."""

    visit: Visit
    reason: str


def vital_sign(vital: VitalSign, citizen: Citizen) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": str(uuid.uuid4()),
        "identifier": [{"system": SOURCE_SYSTEM, "value": f"vital-{vital.pk}"}],
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY_SYSTEM, "code": "vital-signs"}]}],
        "code": {
            "coding": [{"system": LOINC, "code": vital.code, "display": vital.get_code_display()}]
        },
        "subject": patient_ref(citizen),
        "effectiveDateTime": fhir_instant(vital.measured_at),
        "valueQuantity": {
            "value": float(vital.value),
            "unit": vital.unit,
            "system": UCUM,
            "code": vital.unit,
        },
    }


def medication_given(order: MedicationOrder, citizen: Citizen) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "id": str(uuid.uuid4()),
        "identifier": [{"system": SOURCE_SYSTEM, "value": f"medorder-{order.pk}"}],
        "status": "active" if order.status != "cancelled" else "stopped",
        "medicationCodeableConcept": medicine(atc=order.medicine_atc, name=order.medicine_name),
        "subject": patient_ref(citizen),
        "dateAsserted": fhir_instant(order.ordered_at),
        "dosage": [{"text": f"{order.dose} {order.dose_unit} {order.route}, {order.frequency}"}],
        "reasonCode": [{"text": order.indication}],
    }


def admission_handoff(admission: AdmissionRequest) -> Outgoing:
    """The planned Encounter and a summary, with the visit's vital signs,
    results and medication orders."""
    visit, reason = admission.visit, admission.reason
    citizen = visit.citizen
    with in_partner_language():
        title = gettext("Admission from the acute function")
    encounter = {
        "resourceType": "Encounter",
        "id": str(uuid.uuid4()),
        "status": "planned",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "EMER",
            "display": "emergency",
        },
        "subject": patient_ref(citizen),
        "period": {"start": fhir_instant(timezone.now())},
        "reasonCode": [{"text": reason[:1000] or title}],
        "identifier": [{"system": "urn:tvaerakut:visit", "value": str(visit.pk)}],
    }
    summary = communication(
        citizen=citizen,
        category="admission-handoff",
        title=title,
        text="\n".join(filter(None, [reason, visit.assessment])),
        about=f"visit-{visit.pk}",
    )
    vitals = [vital_sign(v, citizen) for v in visit.vital_signs.all()]
    results = [observation(r, citizen) for r in visit.lab_results.select_related("test").all()]
    medicines = [medication_given(o, citizen) for o in visit.medication_orders.all()]
    return Outgoing(
        citizen=citizen,
        focus=[encounter, summary],
        supporting=[*vitals, *results, *medicines],
        source_type="acute.visit.admission",
        source_id=str(visit.pk),
    )
