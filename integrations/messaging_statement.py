"""What the platform exchanges, as its partner adapters declare it, for the
CapabilityStatement's ``messaging`` (each message named MedCom standard or
local). A module of its own: it reads both the adapters and the MedCom
envelope, which itself reads the adapters."""

from __future__ import annotations

from integrations.medcom.outbound import LOCAL_DEFINITION, SENT_AS_MEDCOM
from integrations.medcom.validation import MESSAGE_KINDS
from integrations.partners import ADAPTERS


def messaging_documentation() -> str:
    """What the platform exchanges, as the adapters declare it, each message
    named MedCom standard or local (CapabilityStatement.messaging)."""

    def kind_of(event: str) -> str:
        return "MedCom" if event in MESSAGE_KINDS else "local (urn:tvaerakut:message-event)"

    def sent_as(event: str) -> str:
        if event in SENT_AS_MEDCOM:
            return f"{SENT_AS_MEDCOM[event]} (MedCom)"
        definition = LOCAL_DEFINITION.format(event=event)
        return f"{event} (local (urn:tvaerakut:message-event), MessageDefinition {definition})"

    lines = [
        "MedCom FHIR messaging: every MedCom message received is checked against MedCom's"
        " profiles and answered with a MedCom Acknowledgement (acknowledgement-message);"
        " a partner's MedCom Acknowledgement settles the platform's outbox. Events marked"
        " local are the platform's own and not MedCom standards: sent in the MedCom envelope"
        " with the platform's own event code and MessageDefinition, never a MedCom profile."
        " Every MedCom message sent is checked against MedCom's rules before it goes."
    ]
    for kind, adapter in ADAPTERS.items():
        received = ", ".join(f"{e} ({kind_of(e)})" for e in sorted(adapter.receives)) or "-"
        # Several of the platform's events go out as one MedCom message
        # (a new CareCommunication and a reply both as
        # care-communication-message): a partner is told of each message once.
        sent = ", ".join(dict.fromkeys(sent_as(e) for e in sorted(adapter.sends))) or "-"
        lines.append(f"- {kind}: receives {received}; is sent {sent}.")
    return "\n".join(lines)
