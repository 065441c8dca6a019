"""Inbound messages over real HTTP, whoever the partner: trust (HMAC),
acknowledgements, duplicates, malformed messages, and only the messages a
partner's adapter receives (R12)."""

from __future__ import annotations

import http.client
import json
import time

import pytest

from acute.models import Referral
from core.fhir.patient import patient_resource
from integrations.messages import Event
from integrations.models import InboundMessage
from integrations.simulators import (
    helpline_referral,
    hospital_notification,
    partner_message,
    shared_record_update,
)
from integrations.transport import signed_headers
from tests import factories as f
from tests.integrations.conftest import PLATFORM_PORT
from tests.integrations.helpers import ack_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_r12_a_duplicate_gets_the_original_acknowledgement_and_is_processed_once(
    live_network,
) -> None:
    citizen = f.citizen()
    sim = live_network.sims["1813"]
    sim.state.duplicates = 3
    message = helpline_referral(
        sender_code=sim.code,
        patient=patient_resource(citizen),
        reason="Dehydrering",
        case_id="1813-0002",
    )
    replies = sim.send(message)
    assert [r.status for r in replies] == [200, 200, 200]
    assert all(r.json() == replies[0].json() for r in replies)  # the very same acknowledgement
    assert replies[1].headers.get("x-duplicate-of-earlier-message") == "true"
    assert Referral.objects.filter(citizen=citizen).count() == 1
    assert InboundMessage.objects.count() == 1


def test_malformed_message_gets_a_fatal_acknowledgement_and_creates_nothing(live_network) -> None:
    citizen = f.citizen()
    sim = live_network.sims["1813"]
    message = helpline_referral(
        sender_code=sim.code, patient=patient_resource(citizen), reason="Fald", case_id="1813-0004"
    )
    # Not valid FHIR: an element the ServiceRequest does not have.
    message["entry"][2]["resource"]["bogus"] = True
    [reply] = sim.send(message)
    code, answering, outcome = ack_of(reply)
    assert (reply.status, code) == (400, "fatal-error")
    assert answering == message["entry"][0]["resource"]["id"]
    issue = outcome["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "message.invalid_fhir"
    assert not Referral.objects.exists()
    # Sent again: the same fatal answer, still nothing created.
    [again] = sim.send(message)
    assert again.json() == reply.json()
    assert not Referral.objects.exists()


@pytest.mark.parametrize("problem", ["unknown_sender", "bad_signature", "stale", "unsigned"])
def test_untrusted_requests_are_refused_with_401_and_nothing_created(live_network, problem) -> None:
    citizen = f.citizen()
    sim = live_network.sims["1813"]
    body = json.dumps(
        helpline_referral(
            sender_code=sim.code, patient=patient_resource(citizen), reason="x", case_id="c"
        )
    ).encode()
    secret, sender, now = sim.secret, sim.code, None
    if problem == "unknown_sender":
        sender = "nobody"
    elif problem == "bad_signature":
        secret = "not-the-secret"
    elif problem == "stale":
        now = time.time() - 3600
    headers = signed_headers(sender=sender, secret=secret, body=body, now=now)
    if problem == "unsigned":
        headers = {"Content-Type": "application/fhir+json"}
    conn = http.client.HTTPConnection("127.0.0.1", PLATFORM_PORT, timeout=10)
    conn.request("POST", "/fhir/$process-message", body=body, headers=headers)
    response = conn.getresponse()
    payload = json.loads(response.read())
    assert response.status == 401
    assert payload["resourceType"] == "OperationOutcome"
    assert sim.secret not in json.dumps(payload)
    assert not Referral.objects.exists()
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/xml"],
)
def test_a_message_that_is_not_fhir_json_is_refused_with_415(live_network, content_type) -> None:
    """Signed or not, a body in another format is refused before it is read,
    with an OperationOutcome, and nothing is stored."""
    sim = live_network.sims["1813"]
    body = b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--\r\n"
    headers = {
        **signed_headers(sender=sim.code, secret=sim.secret, body=body),
        "Content-Type": content_type,
    }
    conn = http.client.HTTPConnection("127.0.0.1", PLATFORM_PORT, timeout=10)
    conn.request("POST", "/fhir/$process-message", body=body, headers=headers)
    response = conn.getresponse()
    payload = json.loads(response.read())
    assert response.status == 415
    assert payload["resourceType"] == "OperationOutcome"
    [issue] = payload["issue"]
    assert issue["details"]["coding"][0]["code"] == "request.unsupported_media_type"
    assert not InboundMessage.objects.exists()


def _foreign_message(sender: str, event: str, citizen) -> dict:
    """A message of ``event`` as some partner's system would build it."""
    patient = patient_resource(citizen)
    if event == Event.REFERRAL:
        return helpline_referral(sender_code=sender, patient=patient, reason="x", case_id="c")
    if event == Event.HOSPITAL_NOTIFICATION:
        return hospital_notification(
            sender_code=sender, patient=patient, encounter_id="E9", admitted=True
        )
    if event == Event.SHARED_RECORD_UPDATE:
        return shared_record_update(sender_code=sender, patient=patient, resources=[])
    return partner_message(event=event, sender_code=sender, resources=[patient])


@pytest.mark.parametrize(
    ("partner", "event"),
    [
        ("gp", Event.REFERRAL),
        ("home_nursing", Event.HOSPITAL_NOTIFICATION),
        ("1813", Event.SHARED_RECORD_UPDATE),
        ("eoj", Event.REFERRAL),
        ("hospital", Event.CARE_COMMUNICATION),
    ],
)
def test_r12_a_partner_may_send_only_the_messages_its_adapter_receives(
    live_network, partner, event
) -> None:
    """Each partner's adapter declares what the platform takes from it; the
    rest is refused with a fatal-error acknowledgement and changes nothing."""
    citizen = f.citizen()
    sim = live_network.sims[partner]
    [reply] = sim.send(_foreign_message(sim.code, event, citizen))
    code, _, outcome = ack_of(reply)
    assert (reply.status, code) == (400, "fatal-error")
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "message.event_unsupported"
    assert not Referral.objects.exists()
    assert list(InboundMessage.objects.values_list("outcome", flat=True)) == ["fatal-error"]
