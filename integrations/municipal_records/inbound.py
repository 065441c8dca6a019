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

Its references are the sender's too: each is resolved within the message as
FHIR resolves references in a Bundle (``core.fhir.bundle_references``), never
against the platform's own resources. One to another record resource of the
message becomes a reference to it as the record stores it, one to the
citizen a reference to her, one to the envelope (the sender, its staff) a
reference by identifier and name; one that names nothing in the message
(``Encounter/7``: the sender's Encounter 7, not the platform's) is refused.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from consent.audit.services import Purpose
from consent.fhir.record import CATEGORY_SYSTEM, RECORD_TYPES, TYPE_BY_CATEGORY
from consent.services import record_transaction
from core.actors import Actor
from core.fhir.bundle_references import literal_references
from core.models import SOR_SYSTEM, Organisation
from integrations.adapters import Handled
from integrations.messages import InvalidMessage, ParsedMessage
from integrations.models import Partner
from integrations.patients import citizen_find

# What addresses and signs the message (sender, receiver, their staff, the
# citizen it is about); every other resource is offered to the record, which
# refuses what lies outside the permitted categories (R2) rather than the
# message dropping it unsaid.
REFERENCE_UNRESOLVED = "record.reference_unresolved"
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
    # Each record resource's place in the transaction, which a reference to
    # it from another becomes (and the record then turns into its new id).
    loaded = {id(resource): f"urn:uuid:{uuid.uuid4()}" for resource in resources}
    entries = []
    for where, resource in placed:
        about = "patient" if resource["resourceType"] == "EpisodeOfCare" else "subject"
        if resource["resourceType"] in RECORD_TYPES:
            # Anything else is refused by R2 in the transaction, naming its type.
            _about_the_message_patient(
                message, resource, resource.get(about), patient, f"{where}.{about}"
            )
        body = {k: copy.deepcopy(v) for k, v in resource.items() if k not in ("id", "meta", about)}
        _references_resolved(message, resource, body, where, patient, subject, loaded)
        tags = _category_tags(resource)
        if tags:
            body["meta"] = {"tag": tags}
        body[about] = subject
        entries.append(
            {
                "fullUrl": loaded[id(resource)],
                "resource": body,
                "request": {"method": "POST", "url": resource["resourceType"]},
            }
        )
    stored = record_transaction(
        actor=actor,
        bundle={"resourceType": "Bundle", "type": "transaction", "entry": entries},
        purpose=Purpose.TREATMENT,
    )
    return Handled(citizen=citizen, result={"record_resources": [r.pk for r in stored]})


def _references_resolved(
    message: ParsedMessage,
    resource: dict[str, Any],
    body: dict[str, Any],
    where: str,
    patient: dict[str, Any],
    subject: dict[str, str],
    loaded: dict[int, str],
) -> None:
    """Each literal reference in ``body`` (the record resource ``resource``
    as it will be written) resolved within the message, in place: to the
    record resource's place in the transaction, to the citizen, or to the
    envelope's entry by identifier and name. One naming a contained resource
    stays, and so does one by an absolute URL of another server that is no
    entry (outside the message, and not the platform's). Any other that
    names nothing in the message is refused: kept, it would be read as the
    platform's own resource of that type and id."""
    for place, ref in literal_references(body, where):
        target = ref["reference"]
        if target.startswith("#"):
            continue
        found = message.resolve(ref, resource)
        if found is patient:
            ref["reference"] = subject["reference"]
        elif found is not None and id(found) in loaded:
            ref["reference"] = loaded[id(found)]
        elif found is not None:
            _by_identifier(ref, found)
        elif not target.lower().startswith(("http://", "https://")):
            raise InvalidMessage(
                REFERENCE_UNRESOLVED,
                f"{place} names no resource in the message; "
                "a shared-record update refers only to what it carries.",
                field=place,
                params={"element": place},
            )


def _by_identifier(ref: dict[str, Any], found: dict[str, Any]) -> None:
    """A reference to an entry the record does not keep (the sender, one of
    its staff, a hospital department) by what identifies it beyond the
    message: an Organization whose SOR code is one the platform knows as
    that organisation, anything else by its identifier and name. The
    entry's id is the sender's, and means nothing on the platform."""
    if found.get("resourceType") == "Organization":
        sor_codes = [
            str(i.get("value"))
            for i in found.get("identifier") or []
            if isinstance(i, dict) and i.get("system") == SOR_SYSTEM and i.get("value")
        ]
        known = Organisation.objects.filter(sor_code__in=sor_codes).values_list("pk", flat=True)
        if len(sor_codes) == 1 and len(held := list(known[:2])) == 1:
            ref["reference"] = f"Organization/{held[0]}"
            return
    del ref["reference"]
    ref["type"] = found.get("resourceType")
    identifiers = [i for i in found.get("identifier") or [] if isinstance(i, dict)]
    if identifiers and "identifier" not in ref:
        ref["identifier"] = {
            k: identifiers[0][k] for k in ("system", "value") if k in identifiers[0]
        }
    name = found.get("name")
    if "display" not in ref and isinstance(name, str) and name:
        ref["display"] = name


def _about_the_message_patient(
    message: ParsedMessage, resource: dict[str, Any], ref: Any, patient: dict[str, Any], where: str
) -> None:
    """A record resource is filed under the message's citizen, so it must be
    about her: its subject, if it names anyone, is the message's Patient —
    by a reference that resolves to her entry in the message, or by her
    identifier. A resource about someone else (a relative, another citizen
    of the sender's) is refused, never filed under her."""
    if ref is None or message.names_entry(ref, patient, resource):
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
