"""Shared-record updates from a municipality's care record system (*EOJ*).

The message carries the Patient and the record resources (conditions, nursing
problems, municipal help, plans, contact counts). They are loaded through
``consent.services.record_transaction``, which checks every one against R2
(permitted data only: a psychiatric diagnosis is refused) and the access gate
before anything is written: all or nothing, and a refusal becomes a
fatal-error acknowledgement naming the rule.
"""

from __future__ import annotations

from consent.audit.services import Purpose
from consent.services import record_transaction
from core.actors import Actor
from integrations.adapters import Handled
from integrations.messages import InvalidMessage, ParsedMessage
from integrations.models import Partner
from integrations.patients import citizen_find

RECORD_TYPES = (
    "Condition",
    "Observation",
    "CarePlan",
    "ServiceRequest",
    "EpisodeOfCare",
    "Encounter",
)


def shared_record_update_receive(partner: Partner, message: ParsedMessage, actor: Actor) -> Handled:
    patient = message.one("Patient")
    citizen = citizen_find(patient)
    if citizen is None:
        raise InvalidMessage(
            "record.patient_unknown", "The citizen is not known to the platform.", field="Patient"
        )
    resources = [r for r in message.resources if r.get("resourceType") in RECORD_TYPES]
    if not resources:
        raise InvalidMessage("record.nothing_to_load", "The message carries no record resources.")
    subject = {"reference": f"Patient/{citizen.pk}"}
    entries = []
    for resource in resources:
        body = {k: v for k, v in resource.items() if k not in ("id", "meta")}
        body["patient" if resource["resourceType"] == "EpisodeOfCare" else "subject"] = subject
        entries.append(
            {"resource": body, "request": {"method": "POST", "url": resource["resourceType"]}}
        )
    stored = record_transaction(
        actor=actor,
        bundle={"resourceType": "Bundle", "type": "transaction", "entry": entries},
        purpose=Purpose.TREATMENT,
    )
    return Handled(citizen=citizen, result={"record_resources": [r.pk for r in stored]})
