"""The partners the platform exchanges messages with: one adapter per kind,
each declared in its own package (:mod:`integrations.adapters`)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from django.core.exceptions import ImproperlyConfigured

from integrations.adapters import PartnerAdapter
from integrations.gp.adapter import GeneralPractice
from integrations.helpline_1813.adapter import Helpline1813
from integrations.home_nursing.adapter import HomeNursing
from integrations.hospital.adapter import Hospital
from integrations.models import Partner
from integrations.municipal_records.adapter import MunicipalRecords

ADAPTERS: Mapping[str, type[PartnerAdapter]] = MappingProxyType(
    {
        adapter.kind: adapter
        for adapter in (Helpline1813, Hospital, GeneralPractice, HomeNursing, MunicipalRecords)
    }
)
# Every kind a Partner row may have is spoken for, so a lookup cannot miss.
if set(ADAPTERS) != set(Partner.Kind.values):
    raise ImproperlyConfigured("integrations.partners: one adapter per Partner.Kind")


def adapter_for(kind: str) -> type[PartnerAdapter]:
    return ADAPTERS[kind]


def kinds_sent(event: str) -> list[str]:
    """The kinds of partner the platform sends ``event`` to."""
    return [kind for kind, adapter in ADAPTERS.items() if event in adapter.sends]


def messaging_documentation() -> str:
    """What the platform exchanges, as the adapters declare it, each message
    named MedCom standard or local (CapabilityStatement.messaging)."""
    from integrations.medcom.outbound import LOCAL_DEFINITION, SENT_AS_MEDCOM
    from integrations.medcom.validation import MESSAGE_KINDS

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
        sent = ", ".join(sent_as(e) for e in sorted(adapter.sends)) or "-"
        lines.append(f"- {kind}: receives {received}; is sent {sent}.")
    return "\n".join(lines)
