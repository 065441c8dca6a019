"""``CapabilityStatement.messaging`` is what a partner's software reads to
know which messages the platform takes and sends: each declared message is
one the platform really exchanges, named by the MessageDefinition its
MessageHeader carries, MedCom's only for MedCom's messages."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from integrations.medcom.envelope import MedComEvent
from integrations.medcom.outbound import LOCAL_DEFINITION, SENT_AS_MEDCOM
from integrations.medcom.validation import MESSAGE_KINDS
from integrations.messaging_statement import MEDCOM_DEFINITIONS
from integrations.partners import ADAPTERS

pytestmark = pytest.mark.django_db

MEDCOM_CANONICAL_BASE = "http://medcomfhir.dk/ig/messagedefinitions/MessageDefinition/"


def _messaging(client: Any) -> dict[str, Any]:
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    statement = response.json()
    CapabilityStatement.model_validate(statement)
    [messaging] = statement["messaging"]
    return messaging


def _declared(messaging: dict[str, Any], mode: str) -> set[str]:
    return {m["definition"] for m in messaging["supportedMessage"] if m["mode"] == mode}


def _local_event(definition: str) -> str | None:
    prefix, _, suffix = LOCAL_DEFINITION.partition("{event}")
    if definition.startswith(prefix) and definition.endswith(suffix):
        return definition[len(prefix) : len(definition) - len(suffix)]
    return None


def test_messages_are_received_where_the_statement_says(client):
    messaging = _messaging(client)
    [endpoint] = messaging["endpoint"]
    assert endpoint["protocol"]["code"] == "http"
    assert endpoint["address"] == "http://testserver/fhir/$process-message"
    # Served there: an unsigned message is refused as unauthenticated, not unrouted.
    assert client.post("/fhir/$process-message", data={}).status_code != 404


def test_each_message_declared_received_is_one_an_adapter_takes(client):
    received = {e for adapter in ADAPTERS.values() for e in adapter.receives}
    for definition in _declared(_messaging(client), "receiver"):
        event = _local_event(definition)
        if event is None:
            medcom = {e for e, d in MEDCOM_DEFINITIONS.items() if d == definition}
            assert medcom, f"{definition} is neither MedCom's nor the platform's own"
            # Acknowledgements are taken by the outbox, outside the adapters.
            assert medcom <= received | {MedComEvent.ACKNOWLEDGEMENT}, definition
        else:
            assert event not in MESSAGE_KINDS, f"{event}: a MedCom type declared local"
            assert event in received, f"{event} is declared received but no adapter takes it"


def test_each_message_declared_sent_is_one_an_adapter_sends(client):
    sent = {SENT_AS_MEDCOM.get(e, e) for adapter in ADAPTERS.values() for e in adapter.sends}
    for definition in _declared(_messaging(client), "sender"):
        event = _local_event(definition)
        if event is None:
            medcom = {e for e, d in MEDCOM_DEFINITIONS.items() if d == definition}
            assert medcom <= sent | {MedComEvent.ACKNOWLEDGEMENT}, definition
        else:
            assert event in sent, f"{event} is declared sent but no adapter sends it"


def test_every_message_exchanged_is_declared_under_its_own_definition(client):
    messaging = _messaging(client)
    received, sent = _declared(messaging, "receiver"), _declared(messaging, "sender")
    # MedCom's messages under MedCom's canonical, both ways where exchanged.
    care = MEDCOM_DEFINITIONS[MedComEvent.CARE_COMMUNICATION]
    ack = MEDCOM_DEFINITIONS[MedComEvent.ACKNOWLEDGEMENT]
    observation = MEDCOM_DEFINITIONS[MedComEvent.HOME_CARE_OBSERVATION]
    assert {care, ack} <= received
    assert {care, ack, observation} <= sent
    assert observation not in received
    for definition in (care, ack, observation):
        assert definition.startswith(MEDCOM_CANONICAL_BASE)
    # The platform's own events under its own MessageDefinition, never MedCom's.
    for adapter in ADAPTERS.values():
        for event in adapter.receives:
            if event not in MESSAGE_KINDS:
                assert LOCAL_DEFINITION.format(event=event) in received, event
        for event in adapter.sends:
            if event not in SENT_AS_MEDCOM:
                assert LOCAL_DEFINITION.format(event=event) in sent, event
    local = {d for d in received | sent if _local_event(d) is not None}
    assert local and not any(d.startswith("http://medcomfhir.dk/") for d in local)
