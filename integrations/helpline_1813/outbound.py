"""Status of a 1813 referral back to 1813: accepted or declined, nurse on the
way, and the outcome. A FHIR Task whose focus is 1813's own ServiceRequest
(by its identifier), in a message Bundle."""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone

from core.actors import Actor
from integrations.messages import Event
from integrations.models import OutboundMessage, Partner
from integrations.outbound import message_send, partner_for, patient_ref

BUSINESS_STATUS_SYSTEM = "urn:tvaerakut:referral-status"
REFERRAL_ID_SYSTEM = "urn:tvaerakut:helpline-1813:case"

# Our step -> (Task.status, businessStatus code, text).
STEPS = {
    "accepted": ("accepted", "accepted", "Accepted by the acute function"),
    "declined": ("rejected", "declined", "Declined by the acute function"),
    "nurse_accepted": ("in-progress", "nurse-assigned", "A nurse has accepted the visit"),
    "en_route": ("in-progress", "nurse-en-route", "The nurse is on the way"),
    "on_site": ("in-progress", "nurse-on-site", "The nurse is with the citizen"),
    "completed": ("completed", "completed", "The acute episode ended"),
}


def status_task(*, referral: Any, step: str, note: str = "", outcome: str = "") -> dict[str, Any]:
    status, code, text = STEPS[step]
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": str(uuid.uuid4()),
        "status": status,
        "intent": "order",
        "businessStatus": {
            "coding": [{"system": BUSINESS_STATUS_SYSTEM, "code": code}],
            "text": text,
        },
        "focus": {
            "identifier": {
                "system": REFERRAL_ID_SYSTEM,
                "value": referral.external_id or str(referral.pk),
            },
            "display": f"Referral {referral.pk}",
        },
        "for": patient_ref(referral.citizen),
        "lastModified": timezone.now().isoformat(),
    }
    if note:
        task["statusReason"] = {"text": note[:1000]}
    if outcome:
        task["output"] = [
            {
                "type": {"text": "outcome"},
                "valueCodeableConcept": {
                    "coding": [{"system": "urn:tvaerakut:episode-outcome", "code": outcome}]
                },
            }
        ]
    return task


def referral_status_send(
    *, referral: Any, step: str, by: Actor | None, note: str = "", outcome: str = ""
) -> OutboundMessage | None:
    """Tell 1813 where its referral stands; nothing if the referral is not 1813's."""
    if referral.source != "helpline_1813":
        return None
    partner = partner_for(referral.source_organisation, kind=Partner.Kind.HELPLINE_1813)
    if partner is None:
        return None
    return message_send(
        partner=partner,
        event=Event.REFERRAL_STATUS,
        citizen=referral.citizen,
        focus=[status_task(referral=referral, step=step, note=note, outcome=outcome)],
        by=by,
        source_type="acute.referral",
        source_id=referral.pk,
        activity="status-update",
    )
