"""The admission hand-off (*indlæggelsesrapport*) when a nurse sends a citizen
in: the reason, the observations taken on the visit and the medicines given,
in a message Bundle to the hospital."""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone

from core.actors import Actor
from integrations.gp.outbound import ATC_SYSTEM, communication, observation
from integrations.messages import Event
from integrations.models import OutboundMessage
from integrations.outbound import hospital_partner, message_send, patient_ref

LOINC = "http://loinc.org"


def vital_sign(vital: Any, citizen: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"vital-{vital.pk}",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {
            "coding": [{"system": LOINC, "code": vital.code, "display": vital.get_code_display()}]
        },
        "subject": patient_ref(citizen),
        "effectiveDateTime": vital.measured_at.isoformat(),
        "valueQuantity": {
            "value": float(vital.value),
            "unit": vital.unit,
            "system": "http://unitsofmeasure.org",
            "code": vital.unit,
        },
    }


def medication_given(order: Any, citizen: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "id": f"medorder-{order.pk}",
        "status": "active" if order.status != "cancelled" else "stopped",
        "medicationCodeableConcept": {
            "coding": [{"system": ATC_SYSTEM, "code": order.medicine_atc}],
            "text": order.medicine_name,
        },
        "subject": patient_ref(citizen),
        "dateAsserted": order.ordered_at.isoformat(),
        "dosage": [{"text": f"{order.dose} {order.dose_unit} {order.route}, {order.frequency}"}],
        "reasonCode": [{"text": order.indication}],
    }


def admission_handoff_send(*, visit: Any, by: Actor | None, reason: str) -> OutboundMessage | None:
    citizen = visit.citizen
    partner = hospital_partner(citizen)
    if partner is None:
        return None
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
        "period": {"start": timezone.now().isoformat()},
        "reasonCode": [{"text": reason[:1000] or "Admission from the acute function"}],
        "identifier": [{"system": "urn:tvaerakut:visit", "value": str(visit.pk)}],
    }
    summary = communication(
        citizen=citizen,
        category="admission-handoff",
        title="Admission from the acute function",
        text="\n".join(filter(None, [reason, visit.assessment])),
        about=f"visit-{visit.pk}",
    )
    vitals = [vital_sign(v, citizen) for v in visit.vital_signs.all()]
    results = [observation(r, citizen) for r in visit.lab_results.select_related("test").all()]
    medicines = [medication_given(o, citizen) for o in visit.medication_orders.all()]
    return message_send(
        partner=partner,
        event=Event.ADMISSION_HANDOFF,
        citizen=citizen,
        focus=[encounter, summary],
        supporting=[*vitals, *results, *medicines],
        by=by,
        source_type="acute.visit.admission",
        source_id=visit.pk,
    )
