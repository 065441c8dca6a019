"""The MedCom message types the validator knows: each one's Bundle profile and
the profile it gives every resource type it carries."""

from __future__ import annotations

from dataclasses import dataclass

# Code and identifier systems spelt two ways in MedCom's own material: the
# official test messages identify GLNs by ``https://www.gs1.org/gln`` (DK-core
# before 3.0), DK-core today by ``http://www.gs1.org/gln``.
EQUIVALENT_SYSTEMS = {"https://www.gs1.org/gln": "http://www.gs1.org/gln"}
# The platform's own events, for hand-offs MedCom has no standard for: sent in
# the MedCom envelope, with their own event code system (docs/handoffs.md).
LOCAL_EVENT_SYSTEM = "urn:tvaerakut:message-event"


@dataclass(frozen=True)
class MessageKind:
    """A MedCom message type: its Bundle profile and the profile of each
    resource type it carries."""

    event: str
    message: str
    entries: dict[str, str]


# Resource types a message carries in roles MedCom profiles differently: an
# Organization is the sender or a receiver (MedComMessagingOrganization, by
# the MessageHeader's references) or a stay's service provider
# (MedComCoreOrganization). The type's profile below is its default; one
# declared stands for it, and each reference to it says what it must be.
BY_ROLE = frozenset({"Organization"})

_COMMON = {
    "Organization": "medcom-messaging-organization",
    "Provenance": "medcom-messaging-provenance",
    "Patient": "medcom-core-patient",
}
MESSAGE_KINDS = {
    kind.event: kind
    for kind in (
        MessageKind(
            "hospital-notification-message",
            "medcom-hospitalNotification-message",
            {
                **_COMMON,
                "MessageHeader": "medcom-hospitalNotification-messageHeader",
                "Encounter": "medcom-hospitalNotification-encounter",
            },
        ),
        MessageKind(
            "acknowledgement-message",
            "medcom-messaging-acknowledgement",
            {
                **_COMMON,
                "MessageHeader": "medcom-messaging-acknowledgementHeader",
                "OperationOutcome": "medcom-acknowledgement-operationoutcome",
            },
        ),
        MessageKind(
            "care-communication-message",
            "medcom-careCommunication-message",
            {
                **_COMMON,
                "MessageHeader": "medcom-careCommunication-messageHeader",
                "Communication": "medcom-careCommunication-communication",
                "Provenance": "medcom-careCommunication-provenance",
            },
        ),
        MessageKind(
            "homecareobservation-message",
            "medcom-homecareobservation-message",
            {
                **_COMMON,
                "MessageHeader": "medcom-homecareobservation-messageheader",
                "DiagnosticReport": "medcom-homecareobservation-diagnosticreport",
                "Observation": "medcom-homecare-observation",
            },
        ),
        MessageKind(
            "empty-message",
            "medcom-messaging-message",
            {**_COMMON, "MessageHeader": "medcom-messaging-messageHeader"},
        ),
    )
}

# What MedCom's rules ask of a local event's message: the messaging envelope
# (the Bundle, the MessageHeader but for its event, which is the platform's
# own), and MedCom's profiles of the organisations and the citizen it
# carries. Its payload and a Provenance with a local activity are no MedCom
# resources; one that declares a MedCom profile is checked against it.
LOCAL_KIND = MessageKind(
    "",
    "medcom-messaging-message",
    {
        "MessageHeader": "medcom-messaging-messageHeader",
        "Organization": "medcom-messaging-organization",
        "Patient": "medcom-core-patient",
    },
)
