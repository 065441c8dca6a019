"""Messages the simulated partners send: a 1813 referral, a hospital
notification, a municipal record update, in the platform's envelope."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from core.times import fhir_instant


def partner_now() -> str:
    """Now as a partner's system writes it in a message: UTC written ``Z``,
    whole seconds, as MedCom's messages write a time (never ``+00:00``)."""
    return fhir_instant(dt.datetime.now(dt.UTC), timespec="seconds")


def partner_message(
    *, event: str, sender_code: str, resources: list[dict[str, Any]], focus_index: int = 0
) -> dict[str, Any]:
    """A message Bundle as a partner's system builds it: MessageHeader first,
    then the resources, then Provenance."""
    header_id = str(uuid.uuid4())
    now = partner_now()
    sender = {"resourceType": "Organization", "id": str(uuid.uuid4()), "name": sender_code}
    for resource in resources:
        resource.setdefault("id", str(uuid.uuid4()))
    header: dict[str, Any] = {
        "resourceType": "MessageHeader",
        "id": header_id,
        "eventCoding": {"system": "urn:tvaerakut:message-event", "code": event},
        "source": {"endpoint": f"urn:partner:{sender_code}"},
        "sender": {"reference": f"urn:uuid:{sender['id']}"},
    }
    if resources:  # FHIR JSON leaves out a list with no item
        header["focus"] = [{"reference": f"urn:uuid:{resources[focus_index]['id']}"}]
    provenance = {
        "resourceType": "Provenance",
        "id": str(uuid.uuid4()),
        "target": [{"reference": f"urn:uuid:{header_id}"}],
        "recorded": now,
        "agent": [{"who": {"reference": f"urn:uuid:{sender['id']}"}}],
    }
    entries: list[dict[str, Any]] = [header, sender, *resources, provenance]
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "message",
        "timestamp": now,
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in entries],
    }


def physician(name: str, phone: str) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": str(uuid.uuid4()),
        "name": [{"text": name}],
        "telecom": [{"system": "phone", "value": phone}],
    }


def helpline_referral(
    *,
    sender_code: str,
    patient: dict[str, Any],
    reason: str,
    case_id: str,
    priority: str = "asap",
    note: str = "",
    doctor: tuple[str, str] = ("Læge Hansen, 1813", "+4570131813"),
) -> dict[str, Any]:
    """1813's referral: ServiceRequest + Patient + the 1813 physician."""
    patient = {**patient, "id": str(uuid.uuid4())}
    practitioner = physician(*doctor)
    request = {
        "resourceType": "ServiceRequest",
        "id": str(uuid.uuid4()),
        "identifier": [{"system": "urn:tvaerakut:helpline-1813:case", "value": case_id}],
        "status": "active",
        "intent": "order",
        "priority": priority,
        "code": {"text": "Acute nursing assessment at home"},
        "subject": {"reference": f"urn:uuid:{patient['id']}"},
        "requester": {"reference": f"urn:uuid:{practitioner['id']}"},
        "reasonCode": [{"text": reason}],
        "note": [{"text": note or reason}],
    }
    return partner_message(
        event="acute-referral", sender_code=sender_code, resources=[request, patient, practitioner]
    )


def hospital_notification(
    *,
    sender_code: str,
    patient: dict[str, Any],
    encounter_id: str,
    admitted: bool,
    follow_up_reason: str = "",
) -> dict[str, Any]:
    """Admission (Encounter in-progress) or discharge (finished), optionally
    with a ServiceRequest for a follow-up visit."""
    patient = {**patient, "id": str(uuid.uuid4())}
    encounter = {
        "resourceType": "Encounter",
        "id": str(uuid.uuid4()),
        "identifier": [{"system": "urn:tvaerakut:hospital-encounter", "value": encounter_id}],
        "status": "in-progress" if admitted else "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "IMP",
            "display": "inpatient encounter",
        },
        "subject": {"reference": f"urn:uuid:{patient['id']}"},
        "period": {"start": partner_now()},
    }
    resources: list[dict[str, Any]] = [encounter, patient]
    if follow_up_reason and not admitted:
        practitioner = physician("Overlæge Berg, medicinsk afdeling", "+4538680000")
        resources += [
            {
                "resourceType": "ServiceRequest",
                "id": str(uuid.uuid4()),
                "identifier": [
                    {"system": "urn:tvaerakut:hospital-followup", "value": f"fu-{encounter_id}"}
                ],
                "status": "active",
                "intent": "order",
                "priority": "routine",
                "subject": {"reference": f"urn:uuid:{patient['id']}"},
                "requester": {"reference": f"urn:uuid:{practitioner['id']}"},
                "reasonCode": [{"text": follow_up_reason}],
            },
            practitioner,
        ]
    return partner_message(
        event="hospital-notification", sender_code=sender_code, resources=resources
    )


def shared_record_update(
    *, sender_code: str, patient: dict[str, Any], resources: list[dict[str, Any]]
) -> dict[str, Any]:
    patient = {**patient, "id": str(uuid.uuid4())}
    for resource in resources:
        about = "patient" if resource.get("resourceType") == "EpisodeOfCare" else "subject"
        resource.setdefault(about, {"reference": f"urn:uuid:{patient['id']}"})
    return partner_message(
        event="shared-record-update", sender_code=sender_code, resources=[*resources, patient]
    )
