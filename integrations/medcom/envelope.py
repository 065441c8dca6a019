"""The MedCom envelope: one builder for every message the platform sends in
MedCom's messaging model, and MedCom's Acknowledgement.

A MedCom message is a Bundle of type ``message`` (profile declared, UUID id,
timestamp) whose entries have ``urn:uuid:`` fullUrls: the MessageHeader first
(event from MedCom's message types, the primary destination with the
``destinationUse`` extension, sender and receiver as bundled Organizations),
the sender and receiver Organizations (SOR and EAN/GLN identifiers, a
narrative), the focus and supporting resources, and a Provenance per step of
the conversation (``occurredDateTime``, a MedCom activity code, the sending
organisation as agent, and, when the message answers another, the previous
MessageHeader as entity).

The Patient follows DK-core and MedCom core: CPR with ``use=official``, the
official name, a narrative, and the municipality extension on the address
with DK-core's municipality code system and the 4-digit code.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from core.cpr import CPR_SYSTEM
from core.deaths import death_written
from core.fhir.patient import home_address
from core.models import PROVIDER_NUMBER_SYSTEM, SOR_SYSTEM, Citizen, Organisation
from core.times import fhir_instant

from .validation import validator

MEDCOM = "http://medcomfhir.dk/ig/"
EVENT_SYSTEM = f"{MEDCOM}terminology/CodeSystem/medcom-messaging-eventCodes"
ACTIVITY_SYSTEM = f"{MEDCOM}terminology/CodeSystem/medcom-messaging-activityCodes"
DESTINATION_USE_SYSTEM = f"{MEDCOM}terminology/CodeSystem/medcom-messaging-destinationUse"
DESTINATION_USE_URL = (
    f"{MEDCOM}messaging/StructureDefinition/medcom-messaging-destinationUseExtension"
)
ISSUE_DETAILS_SYSTEM = f"{MEDCOM}terminology/CodeSystem/medcom-acknowledgement-error-codes"
FHIR_ISSUE_SYSTEM = "http://terminology.hl7.org/CodeSystem/operation-outcome"
GLN_SYSTEM = "http://www.gs1.org/gln"
MUNICIPALITY_EXTENSION = "http://hl7.dk/fhir/core/StructureDefinition/dk-core-municipalityCodes"
MUNICIPALITY_SYSTEM = "http://hl7.dk/fhir/core/CodeSystem/dk-core-municipality-codes"
XHTML = "http://www.w3.org/1999/xhtml"
# The platform's own address (MessageHeader.source.endpoint of everything it
# sends, acknowledgements included): where partners send what answers it.
OWN_ENDPOINT = "urn:tvaerakut:acute-function"


class MedComEvent:
    """MedCom's message types (MessageHeader.eventCoding)."""

    HOSPITAL_NOTIFICATION = "hospital-notification-message"
    CARE_COMMUNICATION = "care-communication-message"
    HOME_CARE_OBSERVATION = "homecareobservation-message"
    ACKNOWLEDGEMENT = "acknowledgement-message"
    EMPTY = "empty-message"


class AckCode:
    OK = "ok"
    TRANSIENT = "transient-error"
    FATAL = "fatal-error"


def profile_url(profile_id: str) -> str:
    struct = validator().d.structure(profile_id)
    if struct is None:
        raise LookupError(profile_id)
    return struct.url


def new_id() -> str:
    return str(uuid.uuid4())


def full_url(resource: dict[str, Any]) -> str:
    return f"urn:uuid:{resource['id']}"


def reference(resource: dict[str, Any]) -> dict[str, str]:
    return {"reference": full_url(resource)}


def narrative(*lines: str) -> dict[str, str]:
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines if line)
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{body}</div>'}


def _now() -> str:
    return fhir_instant(timezone.now(), timespec="seconds")


def organization(organisation: Organisation) -> dict[str, Any]:
    """A MedComMessagingOrganization: SOR and EAN/GLN identifiers, name, narrative."""
    identifiers = []
    if organisation.sor_code:
        identifiers.append(
            {"use": "official", "system": SOR_SYSTEM, "value": organisation.sor_code}
        )
    if organisation.ean:
        identifiers.append({"use": "official", "system": GLN_SYSTEM, "value": organisation.ean})
    if organisation.provider_number:
        # A GP practice: its provider number (ydernummer) beside SOR, as MedCom names a GP.
        identifiers.append(
            {"system": PROVIDER_NUMBER_SYSTEM, "value": organisation.provider_number}
        )
    resource = {
        "resourceType": "Organization",
        "id": new_id(),
        "meta": {"profile": [profile_url("medcom-messaging-organization")]},
        "identifier": identifiers,
        "name": organisation.name,
    }
    resource["text"] = narrative(
        organisation.name,
        f"SOR: {organisation.sor_code or '-'}",
        f"EAN: {organisation.ean or '-'}",
        f"Ydernummer: {organisation.provider_number}" if organisation.provider_number else "",
    )
    return resource


def patient_identifier(citizen: Citizen) -> dict[str, Any]:
    """DK-core's identifier of the citizen: the CPR number (``official``);
    without one, the replacement CPR (``temp``, X-eCPR or D-eCPR system)."""
    if citizen.cpr:
        return {"use": "official", "system": CPR_SYSTEM, "value": citizen.cpr}
    return {
        "use": "temp",
        "system": citizen.replacement_cpr_system,
        "value": citizen.replacement_cpr,
    }


def patient(citizen: Citizen) -> dict[str, Any]:
    """A MedComCorePatient (DK-core): CPR (official) or, for a citizen without
    one, the replacement CPR (temp), official name, address with the
    municipality's 4-digit code, narrative."""
    municipality_code = (citizen.municipality.municipality_code or "").zfill(4)
    identifier = patient_identifier(citizen)
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": new_id(),
        "meta": {"profile": [profile_url("medcom-core-patient")]},
        "identifier": [identifier],
        "name": [
            {"use": "official", "family": citizen.family_name, "given": citizen.given_name.split()}
        ],
        "gender": citizen.sex,
        "birthDate": citizen.birth_date.isoformat(),
        "address": [
            {
                **home_address(citizen),
                "extension": [
                    {
                        "url": MUNICIPALITY_EXTENSION,
                        "valueCodeableConcept": {
                            "coding": [{"system": MUNICIPALITY_SYSTEM, "code": municipality_code}]
                        },
                    }
                ],
            }
        ],
    }
    died = death_written(citizen, timespec="seconds")
    if died is not None:
        resource["deceasedDateTime"] = died
    # MedCom asks for the CPR number in the narrative: it travels inside the
    # message to the receiver only, never into a log.
    label = "CPR" if identifier["system"] == CPR_SYSTEM else "Erstatnings-CPR"
    resource["text"] = narrative(f"{citizen.full_name}", f"{label}: {identifier['value']}")
    return resource


@dataclass(frozen=True)
class Previous:
    """The message this one answers, for the Provenance chain."""

    header_id: str
    activity: str = "new-message"
    agent: dict[str, Any] | None = None  # its sender, as an Organization in this message
    occurred: str = ""


def provenance(
    *,
    header: dict[str, Any],
    activity: str,
    agent: dict[str, Any],
    occurred: str,
    answers: str | None = None,
    activity_system: str = ACTIVITY_SYSTEM,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": new_id(),
        "meta": {"profile": [profile_url("medcom-messaging-provenance")]},
        "target": [{"reference": f"MessageHeader/{header['id']}"}],
        "occurredDateTime": occurred,
        "recorded": occurred,
        "activity": {"coding": [{"system": activity_system, "code": activity}]},
        "agent": [{"who": reference(agent)}],
    }
    if answers:
        resource["entity"] = [
            {"role": "revision", "what": {"reference": f"MessageHeader/{answers}"}}
        ]
    resource["text"] = narrative(f"{activity} {occurred}", f"MessageHeader/{header['id']}")
    return resource


def message(
    *,
    event: str,
    sender: Organisation,
    receiver: Organisation,
    receiver_endpoint: str,
    sender_endpoint: str,
    activity: str = "new-message",
    focus: Iterable[dict[str, Any]] = (),
    supporting: Iterable[dict[str, Any]] = (),
    header_profile: str | None = "medcom-messaging-messageHeader",
    message_profile: str | None = "medcom-messaging-message",
    event_system: str = EVENT_SYSTEM,
    activity_system: str = ACTIVITY_SYSTEM,
    definition: str | None = None,
    response: dict[str, Any] | None = None,
    previous: Previous | None = None,
    header_id: str | None = None,
) -> dict[str, Any]:
    """A MedCom message Bundle (not yet validated: see :func:`validate_message`).
    A local event (not MedCom's) declares no MedCom message profile: pass
    ``header_profile`` and ``message_profile`` None and its own systems."""
    now = _now()
    sender_resource = organization(sender)
    receiver_resource = organization(receiver)
    focus_list = list(focus)
    header: dict[str, Any] = {
        "resourceType": "MessageHeader",
        "id": header_id or new_id(),
        "eventCoding": {"system": event_system, "code": event},
        "destination": [
            {
                "extension": [
                    {
                        "url": DESTINATION_USE_URL,
                        "valueCoding": {"system": DESTINATION_USE_SYSTEM, "code": "primary"},
                    }
                ],
                "endpoint": receiver_endpoint,
                "receiver": reference(receiver_resource),
            }
        ],
        "sender": reference(sender_resource),
        "source": {"endpoint": sender_endpoint},
    }
    if header_profile:
        header["meta"] = {"profile": [profile_url(header_profile)]}
    if definition:
        header["definition"] = definition
    if focus_list:
        header["focus"] = [reference(r) for r in focus_list]
    if response is not None:
        header["response"] = response
    header["text"] = narrative(
        f"{event} {header['id']}",
        f"{sender.name} → {receiver.name} ({receiver_endpoint})",
        f"source: {sender_endpoint}",
    )
    provenances = []
    if previous is not None:
        provenances.append(
            provenance(
                header={"id": previous.header_id},
                activity=previous.activity,
                agent=previous.agent or receiver_resource,
                occurred=previous.occurred or now,
            )
        )
    provenances.append(
        provenance(
            header=header,
            activity=activity,
            agent=sender_resource,
            occurred=now,
            answers=previous.header_id if previous else None,
            activity_system=activity_system,
        )
    )
    resources = [header, sender_resource, receiver_resource, *focus_list, *supporting, *provenances]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "id": new_id()}
    if message_profile:
        bundle["meta"] = {"profile": [profile_url(message_profile)]}
    bundle["type"] = "message"
    bundle["timestamp"] = now
    bundle["entry"] = [{"fullUrl": full_url(r), "resource": r} for r in resources]
    return bundle


@dataclass(frozen=True)
class Issue:
    """One issue of a negative acknowledgement: MedCom's detail code (from
    MedComAcknowledgementIssueDetailValues) and a text naming the rule, in
    the language of the answer (Danish unless the partner asked for English,
    decision 0020). ``diagnostics``: the precise sentence, where the text is
    a general one because the precise one has no wording in that language."""

    details: str
    text: str
    code: str = "invalid"  # FHIR issue type
    severity: str = "error"
    diagnostics: str = ""

    @property
    def details_system(self) -> str:
        if self.details in MEDCOM_OWN_ISSUE_CODES:
            return ISSUE_DETAILS_SYSTEM
        return FHIR_ISSUE_SYSTEM


# The detail codes MedCom added to FHIR's operation-outcome codes.
MEDCOM_OWN_ISSUE_CODES = {
    "MSG_Receiver_Identifier_UNKNOWN",
    "MSG_Receiver_Identifier_MISSING",
    "MSG_RECEIVER_UNABLE_TO_RECEIVE_MSG_TYPE",
    "MSG_VALUESET_VALUE_UNKNOWN",
    "MSG_CodeSystem_VALUE_UNKNOWN",
    "MSG_Element_To_Long",
    "MSG_Datatype_Wrong",
    "MSG_Mailbox_Out_Of_Operation",
    "MSG_Damaged_durin_transport",
}


def operation_outcome(issues: Iterable[Issue]) -> dict[str, Any]:
    issue_list = list(issues)
    items: list[dict[str, Any]] = [
        {
            "severity": issue.severity,
            "code": issue.code,
            "details": {
                "coding": [{"system": issue.details_system, "code": issue.details}],
                "text": issue.text[:1000],
            },
            **({"diagnostics": issue.diagnostics[:1000]} if issue.diagnostics else {}),
        }
        for issue in issue_list
    ]
    return {
        "resourceType": "OperationOutcome",
        "id": new_id(),
        "meta": {"profile": [profile_url("medcom-acknowledgement-operationoutcome")]},
        "issue": items,
        "text": narrative(*(f"{issue.details}: {issue.text}" for issue in issue_list)),
    }


# The canonical of MedCom's Acknowledgement MessageDefinition, as MedCom's own
# acknowledgements name it (MessageHeader.definition, a must-support element).
ACKNOWLEDGEMENT_DEFINITION = (
    "http://medcomfhir.dk/ig/messagedefinitions/MessageDefinition/"
    "MedComAcknowledgementMessageDefinition|2.0"
)


def acknowledgement(
    *,
    answering: str,
    code: str,
    sender: Organisation,
    receiver: Organisation,
    receiver_endpoint: str,
    sender_endpoint: str,
    issues: Iterable[Issue] = (),
    answered_activity: str = "new-message",
    answered_at: str = "",
) -> dict[str, Any]:
    """MedCom's Acknowledgement of the message whose MessageHeader.id is
    ``answering``: two Provenances (the acknowledged message, and this
    acknowledgement pointing to it), an OperationOutcome unless ok. A
    negative one names what was wrong: MedCom's details shall say it, and an
    OperationOutcome holds at least one issue."""
    issue_list = list(issues)
    if code != AckCode.OK and not issue_list:
        raise ValueError("a negative acknowledgement names at least one issue")
    outcome = operation_outcome(issue_list) if issue_list else None
    response: dict[str, Any] = {"identifier": answering, "code": code}
    if outcome is not None:
        response["details"] = reference(outcome)
    bundle = message(
        event=MedComEvent.ACKNOWLEDGEMENT,
        sender=sender,
        receiver=receiver,
        receiver_endpoint=receiver_endpoint,
        sender_endpoint=sender_endpoint,
        activity="acknowledgement",
        supporting=[outcome] if outcome is not None else [],
        header_profile="medcom-messaging-acknowledgementHeader",
        message_profile="medcom-messaging-acknowledgement",
        definition=ACKNOWLEDGEMENT_DEFINITION,
        response=response,
        previous=Previous(header_id=answering, activity=answered_activity, occurred=answered_at),
    )
    return bundle
