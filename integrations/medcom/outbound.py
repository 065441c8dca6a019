"""Outbound messages in MedCom: a hand-off whose content a MedCom standard
covers is built in the MedCom envelope and checked against MedCom's rules
before it may go.

A builder says its content follows a MedCom message type by giving its
:class:`Outgoing` a :class:`MedComShape`; :func:`build` puts the content in
the envelope (:mod:`integrations.medcom.envelope`): the citizen as a MedCom
core Patient (references to her rebound to it), the author's contact (the
sending organisation's phone) on every payload with an author, the
Provenance of the message type with the entities the builder names, and
``MessageHeader.definition``. :func:`violations` returns the rules the
Bundle breaks (a local event's: those of the envelope, its event being the
platform's own); a message that breaks one is parked for a person with the
rule, never sent (:func:`integrations.outbound.message_send`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.models import Citizen, Organisation

from .envelope import ACTIVITY_SYSTEM, EVENT_SYSTEM, message, patient, profile_url
from .validation import LOCAL_EVENT_SYSTEM, MESSAGE_KINDS, Violation, validate_message

CORE = "http://medcomfhir.dk/ig/core/StructureDefinition/"
DATETIME_EXTENSION = f"{CORE}medcom-core-datetime-extension"
IDENTIFIER_EXTENSION = f"{CORE}medcom-core-identifier-extension"
PRACTITIONER_EXTENSION = f"{CORE}medcom-core-practitioner-extension"
CONTACT_EXTENSION = f"{CORE}medcom-core-contact-extension"
# The platform's own events (LOCAL_EVENT_SYSTEM), for hand-offs MedCom has no
# standard for: in the MedCom envelope, never declared as a MedCom message
# (docs/handoffs.md).
LOCAL_ACTIVITY_SYSTEM = "urn:tvaerakut:message-activity"
LOCAL_DEFINITION = "urn:tvaerakut:MessageDefinition:{event}|1.0"
MEDCOM_ACTIVITIES = {
    "new-message",
    "reply-message",
    "forward-message",
    "modified-message",
    "retract-message",
}
# The platform's events sent as one of MedCom's message types (the rest are local).
SENT_AS_MEDCOM = {
    "care-communication": "care-communication-message",
    "care-communication-reply": "care-communication-message",
    "homecareobservation": "homecareobservation-message",
}
# A reference a builder gives to the sending organisation (a DiagnosticReport's
# producer), bound to its Organization in the message.
SENDER_REFERENCE = "urn:tvaerakut:sender"
# The same for the receiving organisation (the agent of a thread's earlier
# messages from the partner).
RECEIVER_REFERENCE = "urn:tvaerakut:receiver"
# The error code of an outbound message parked because it breaks MedCom's rules.
RULE_BROKEN = "medcom.rule_broken"


@dataclass(frozen=True)
class Party:
    """What a message type adds to its sender's or receiver's Organization:
    a narrower profile, more identifiers, a contact."""

    profile: str
    identifiers: list[dict[str, Any]] = field(default_factory=list)
    contact: dict[str, Any] | None = None


@dataclass(frozen=True)
class MedComShape:
    """The MedCom message type a builder's content follows: its event
    (``care-communication-message`` ...), the MessageDefinition it declares,
    the activity, and the entities its Provenance names (the payloads)."""

    event: str
    definition: str = ""
    activity: str = "new-message"
    provenance_entities: list[dict[str, Any]] = field(default_factory=list)
    sender: Party | None = None
    receiver: Party | None = None
    local: bool = False  # the platform's own event, not a MedCom message type


def local_shape(event: str, activity: str = "new-message") -> MedComShape:
    """A hand-off MedCom has no standard for: its own event and MessageDefinition."""
    return MedComShape(
        event=event, definition=LOCAL_DEFINITION.format(event=event), activity=activity, local=True
    )


def _as_party(organization: dict[str, Any], party: Party | None) -> None:
    if party is None:
        return
    organization["meta"] = {"profile": [profile_url(party.profile)]}
    organization["identifier"] = [*organization.get("identifier", []), *party.identifiers]
    if party.contact is not None:
        organization["contact"] = [party.contact]


def _rebind(node: Any, old: str, new: str) -> Any:
    """``node`` with every reference ``old`` replaced by ``new``."""
    if isinstance(node, dict):
        return {
            key: (new if key == "reference" and value == old else _rebind(value, old, new))
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rebind(item, old, new) for item in node]
    return node


def _with_author_contact(resource: dict[str, Any], phone: str) -> dict[str, Any]:
    """Each payload with an author gets the sending organisation's phone as
    the author's contact, unless the builder gave one."""
    if not phone:
        return resource
    for payload in resource.get("payload") or []:
        urls = {ext.get("url") for ext in payload.get("extension") or []}
        if PRACTITIONER_EXTENSION in urls and CONTACT_EXTENSION not in urls:
            payload["extension"].append(
                {
                    "url": CONTACT_EXTENSION,
                    "valueContactPoint": {"system": "phone", "value": phone, "use": "work"},
                }
            )
    return resource


def build(
    *,
    shape: MedComShape,
    citizen: Citizen,
    citizen_reference: str,
    focus: list[dict[str, Any]],
    supporting: list[dict[str, Any]],
    sender: Organisation,
    receiver: Organisation,
    receiver_endpoint: str,
    sender_endpoint: str,
) -> dict[str, Any]:
    """The MedCom message Bundle of ``shape`` (not validated)."""
    kind = None if shape.local else MESSAGE_KINDS[shape.event]
    medcom_activity = shape.activity in MEDCOM_ACTIVITIES
    subject = patient(citizen)
    rebind: Callable[[dict[str, Any]], dict[str, Any]] = lambda r: _with_author_contact(  # noqa: E731
        _rebind(r, citizen_reference, f"urn:uuid:{subject['id']}"), sender.phone
    )
    bundle = message(
        event=shape.event,
        sender=sender,
        receiver=receiver,
        receiver_endpoint=receiver_endpoint,
        sender_endpoint=sender_endpoint,
        activity=shape.activity,
        focus=[rebind(r) for r in focus],
        supporting=[subject, *(rebind(r) for r in supporting)],
        header_profile=kind.entries["MessageHeader"] if kind else None,
        message_profile=kind.message if kind else None,
        event_system=LOCAL_EVENT_SYSTEM if kind is None else EVENT_SYSTEM,
        activity_system=ACTIVITY_SYSTEM if medcom_activity else LOCAL_ACTIVITY_SYSTEM,
        definition=shape.definition or None,
    )
    header = bundle["entry"][0]["resource"]
    for entry in bundle["entry"]:
        entry["resource"] = _rebind(
            _rebind(entry["resource"], SENDER_REFERENCE, header["sender"]["reference"]),
            RECEIVER_REFERENCE,
            header["destination"][0]["receiver"]["reference"],
        )
        if entry["resource"]["resourceType"] == "Practitioner" and sender.phone:
            # Reached through the sending organisation when she has no number of her own.
            entry["resource"].setdefault(
                "telecom", [{"system": "phone", "value": sender.phone, "use": "work"}]
            )
    header = bundle["entry"][0]["resource"]
    organizations = {
        entry["fullUrl"]: entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Organization"
    }
    _as_party(organizations[header["sender"]["reference"]], shape.sender)
    _as_party(organizations[header["destination"][0]["receiver"]["reference"]], shape.receiver)
    provenance_profile = (
        kind.entries.get("Provenance", "medcom-messaging-provenance") if kind else None
    )
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Provenance":
            if provenance_profile:
                resource["meta"] = {"profile": [profile_url(provenance_profile)]}
            elif not medcom_activity:
                resource.pop("meta", None)  # a local activity: not MedCom's Provenance
            # The entities are this message's: a thread's earlier Provenances
            # (a reply repeats them) keep their own.
            if resource["target"][0]["reference"] != f"MessageHeader/{header['id']}":
                continue
            entities = [*(resource.get("entity") or []), *shape.provenance_entities]
            if entities:
                resource["entity"] = entities
    return bundle


def violations(bundle: dict[str, Any], *, local: bool = False) -> list[Violation]:
    """The MedCom rules ``bundle`` breaks; empty when it may go. ``local``:
    the platform's own event in the envelope (its shape is ``local``)."""
    return validate_message(bundle, local=local)
