"""Shared-record updates from a municipality's care record system (*EOJ*).

The message carries the Patient and the record resources (conditions, nursing
problems, municipal help, plans, contact counts). They are loaded through
``consent.services.record_transaction``, which checks every one against R2
(permitted data only: a psychiatric diagnosis is refused) and the access gate
before anything is written: all or nothing, and a refusal becomes a
fatal-error acknowledgement naming the rule. Every resource but the envelope
(sender, receiver, Provenance, the Patient) is offered: a medication or an
allergy beside a diagnosis refuses the message (R2), it is not left out
while the sender is told "ok".

The sender's ids and versions are its own, so they are dropped; the data
category (``meta.tag``) is what the record files a resource under, so it is
kept. Where a resource's type is held under one category only (municipal help
as EpisodeOfCare, plans, hospital contacts) an untagged resource gets it; a
Condition must say whether it is a diagnosis or a nursing problem.
"""

from __future__ import annotations

from typing import Any

from consent.audit.services import Purpose
from consent.fhir.record import CATEGORY_SYSTEM, RECORD_TYPES, TYPE_BY_CATEGORY
from consent.services import record_transaction
from core.actors import Actor
from integrations.adapters import Handled
from integrations.messages import InvalidMessage, ParsedMessage
from integrations.models import Partner
from integrations.patients import citizen_find

# What addresses and signs the message (sender, receiver, their staff, the
# citizen it is about); every other resource is offered to the record, which
# refuses what lies outside the permitted categories (R2) rather than the
# message dropping it unsaid.
ENVELOPE_TYPES = frozenset(
    {"MessageHeader", "Organization", "Provenance", "Patient", "Practitioner", "PractitionerRole"}
)


def shared_record_update_receive(partner: Partner, message: ParsedMessage, actor: Actor) -> Handled:
    patient = message.one("Patient")
    citizen = citizen_find(patient)
    if citizen is None:
        raise InvalidMessage(
            "record.patient_unknown", "The citizen is not known to the platform.", field="Patient"
        )
    # With their place in the Bundle (the MessageHeader is entry 0).
    placed = [
        (f"Bundle.entry[{n + 1}].resource", r)
        for n, r in enumerate(message.resources)
        if r.get("resourceType") not in ENVELOPE_TYPES
    ]
    resources = [r for _, r in placed]
    if not resources:
        raise InvalidMessage("record.nothing_to_load", "The message carries no record resources.")
    subject = {"reference": f"Patient/{citizen.pk}"}
    entries = []
    for where, resource in placed:
        about = "patient" if resource["resourceType"] == "EpisodeOfCare" else "subject"
        if resource["resourceType"] in RECORD_TYPES:
            # Anything else is refused by R2 in the transaction, naming its type.
            _about_the_message_patient(resource.get(about), patient, f"{where}.{about}")
        body = {k: v for k, v in resource.items() if k not in ("id", "meta")}
        tags = _category_tags(resource)
        if tags:
            body["meta"] = {"tag": tags}
        body[about] = subject
        entries.append(
            {"resource": body, "request": {"method": "POST", "url": resource["resourceType"]}}
        )
    stored = record_transaction(
        actor=actor,
        bundle={"resourceType": "Bundle", "type": "transaction", "entry": entries},
        purpose=Purpose.TREATMENT,
    )
    return Handled(citizen=citizen, result={"record_resources": [r.pk for r in stored]})


def _about_the_message_patient(ref: Any, patient: dict[str, Any], where: str) -> None:
    """A record resource is filed under the message's citizen, so it must be
    about her: its subject, if it names anyone, is the message's Patient —
    by the Patient's entry (``urn:uuid:<id>``, ``Patient/<id>``) or by her
    identifier. A resource about someone else (a relative, another citizen
    of the sender's) is refused, never filed under her."""
    if ref is None:
        return
    target = ref.get("reference") if isinstance(ref, dict) else None
    own_id = patient.get("id")
    if (
        isinstance(target, str)
        and own_id
        and (
            target in (f"urn:uuid:{own_id}", f"Patient/{own_id}")
            or target.endswith((f"/Patient/{own_id}", f":Patient/{own_id}"))
        )
    ):
        return
    identifier = ref.get("identifier") if isinstance(ref, dict) else None
    if target is None and isinstance(identifier, dict):
        own = {
            (i.get("system"), i.get("value"))
            for i in patient.get("identifier") or []
            if isinstance(i, dict)
        }
        if (identifier.get("system"), identifier.get("value")) in own:
            return
    raise InvalidMessage(
        "record.subject_not_message_patient",
        f"{where} names someone other than the message's Patient; "
        "a shared-record update is about one citizen.",
        field=where,
        params={"element": where},
    )


def _category_tags(resource: dict[str, Any]) -> list[Any]:
    """The resource's data-category tags, or the one its type implies."""
    meta = resource.get("meta")
    tags = meta.get("tag") if isinstance(meta, dict) else None
    if isinstance(tags, list):
        kept = [t for t in tags if isinstance(t, dict) and t.get("system") == CATEGORY_SYSTEM]
        if kept:
            return kept
    implied = [c for c, t in TYPE_BY_CATEGORY.items() if t == resource.get("resourceType")]
    if len(implied) == 1:
        return [{"system": CATEGORY_SYSTEM, "code": str(implied[0])}]
    return []
