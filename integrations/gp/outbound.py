"""Messages to the GP practice.

- results in the shape of MedCom's HomeCareObservation: NPU-coded
  Observations with UCUM units, sent when the GP asked for the visit;
- the outcome of the episode as a CareCommunication (a Communication);
- the request to confirm a phone order (*telefonordination*) electronically.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from core.actors import Actor
from core.models import Citizen, Organisation
from integrations.messages import Event
from integrations.models import OutboundMessage, Partner
from integrations.outbound import message_send, partner_for, patient_ref

UCUM = "http://unitsofmeasure.org"
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CATEGORY_SYSTEM = "urn:tvaerakut:care-communication-category"
ATC_SYSTEM = "http://www.whocc.no/atc"


def observation(result: Any, citizen: Citizen) -> dict[str, Any]:
    """One lab result as a HomeCareObservation-style Observation."""
    test = result.test
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"labresult-{result.pk}",
        "status": result.status,
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": test.system, "code": test.code, "display": test.display}]},
        "subject": patient_ref(citizen),
        "effectiveDateTime": result.effective_at.isoformat(),
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
    if result.reference_low is not None or result.reference_high is not None:
        rng: dict[str, Any] = {}
        if result.reference_low is not None:
            rng["low"] = {"value": float(result.reference_low), "system": UCUM, "code": result.unit}
        if result.reference_high is not None:
            rng["high"] = {
                "value": float(result.reference_high),
                "system": UCUM,
                "code": result.unit,
            }
        resource["referenceRange"] = [rng]
    return resource


def results_send(
    *,
    visit: Any,
    citizen: Citizen,
    gp_practice: Organisation | None,
    results: Iterable[Any],
    by: Actor | None,
) -> OutboundMessage | None:
    partner = partner_for(gp_practice, kind=Partner.Kind.GP)
    if partner is None:
        return None
    observations = [observation(r, citizen) for r in results]
    if not observations:
        return None
    return message_send(
        partner=partner,
        event=Event.HOME_CARE_OBSERVATION,
        citizen=citizen,
        focus=observations,
        by=by,
        source_type="acute.visit",
        source_id=visit.pk,
    )


def communication(
    *, citizen: Citizen, category: str, title: str, text: str, about: str = ""
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Communication",
        "id": str(uuid.uuid4()),
        "status": "completed",
        "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": category}]}],
        "subject": patient_ref(citizen),
        "sent": timezone.now().isoformat(),
        "topic": {"text": title},
        "payload": [{"contentString": text or title}],
    }
    if about:
        resource["identifier"] = [{"system": "urn:tvaerakut:source", "value": about}]
    return resource


def outcome_text(episode: Any) -> str:
    label = episode.get_outcome_display() if episode.outcome else "ended"
    note = f"\n{episode.outcome_note}" if episode.outcome_note else ""
    return f"Acute episode {label}.{note}"


def outcome_send(*, episode: Any, partner: Partner, by: Actor | None) -> OutboundMessage | None:
    """The episode's outcome to a referrer (GP, hospital): R11, the referrer is told."""
    return message_send(
        partner=partner,
        event=Event.CARE_COMMUNICATION,
        citizen=episode.citizen,
        focus=[
            communication(
                citizen=episode.citizen,
                category="visit-outcome",
                title="Outcome of the acute episode",
                text=outcome_text(episode),
                about=f"episode-{episode.pk}",
            )
        ],
        by=by,
        source_type="acute.episode",
        source_id=episode.pk,
    )


def order_confirmation_request_send(*, order: Any, by: Actor | None) -> OutboundMessage | None:
    """Ask the ordering physician's organisation to confirm a phone order."""
    if order.kind != "phone" or order.status != "awaiting_confirmation":
        return None
    partner = partner_for(order.ordering_organisation)
    if partner is None:
        return None
    request = {
        "resourceType": "MedicationRequest",
        "id": f"medorder-{order.pk}",
        "status": "on-hold",
        "intent": "order",
        "reportedBoolean": True,
        "medicationCodeableConcept": {
            "coding": [{"system": ATC_SYSTEM, "code": order.medicine_atc}],
            "text": order.medicine_name,
        },
        "subject": patient_ref(order.citizen),
        "authoredOn": order.ordered_at.isoformat(),
        "requester": {"display": order.ordered_by_name},
        "reasonCode": [{"text": order.indication}],
        "dosageInstruction": [
            {
                "text": (
                    f"{order.dose} {order.dose_unit} {order.route},"
                    f" {order.frequency}, {order.duration}"
                ),
            }
        ],
        "note": [{"text": "Phone order read back and confirmed; please confirm electronically."}],
    }
    return message_send(
        partner=partner,
        event=Event.ORDER_CONFIRMATION_REQUEST,
        citizen=order.citizen,
        focus=[request],
        by=by,
        source_type="acute.clinical.medication_order",
        source_id=order.pk,
    )
