"""A CareCommunication forwarded to the acute function: MedCom's 4th example
message ("B forwards to C"), addressed to us as C. MedCom's governance for
CareCommunication asks the receiver to show a forward in a new thread with
all it carries (medcom-carecommunication-16), under the new identifier the
forwarding system gives it (-13), though the receiver never had the thread
it was forwarded from; and to let the user reply to the forward itself
(-17). So the forward is acknowledged ``ok`` and kept as a new thread, every
segment once, and the coordinator's reply answers the forward's
MessageHeader within MedCom's rules."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import Client

from consent.audit.models import AuditEntry
from core.models import Role
from integrations.medcom.validation import validate_message
from integrations.models import CareThread, InboundMessage, OutboundMessage
from tests import factories as f
from tests.integrations.medcom.conftest import HOSPITAL_EAN, HOSPITAL_SOR, OUR_EAN, OUR_SOR
from tests.integrations.medcom.peers import ack_parts, example, header_id, post_signed

pytestmark = pytest.mark.django_db

FORWARD = "c0426e3e-978f-46e8-a366-a30f27854b0a"  # MedCom's 4th message: B forwards to C
FORWARDED_THREAD = "urn:uuid:546b19ba-3e50-4da8-b9ec-7caeefad6928"  # the forward's new identifier
SOR, GLN = "urn:oid:1.2.208.176.1.1", "http://www.gs1.org/gln"


def _forwarded_to_us() -> dict[str, Any]:
    """MedCom's 4th message as a new message, sent by the hospital to us:
    its receiver (C) carries our SOR and EAN numbers, its sender (B) the
    hospital's."""
    message = example("carecommunication", FORWARD)
    header = message["entry"][0]["resource"]
    message = json.loads(json.dumps(message).replace(header["id"], str(uuid.uuid4())))
    message["id"] = str(uuid.uuid4())
    header = message["entry"][0]["resource"]
    header["destination"][0]["endpoint"] = f"https://sor2.sum.dsdn.dk/#id={OUR_SOR}"
    numbers = {
        header["destination"][0]["receiver"]["reference"]: (OUR_SOR, OUR_EAN),
        header["sender"]["reference"]: (HOSPITAL_SOR, HOSPITAL_EAN),
    }
    for entry in message["entry"]:
        resource = entry["resource"]
        sor_and_ean = numbers.get(f"{resource['resourceType']}/{resource['id']}")
        if sor_and_ean is not None:
            resource["identifier"] = [
                {"system": SOR, "value": sor_and_ean[0]},
                {"system": GLN, "value": sor_and_ean[1]},
            ]
    return message


def test_a_forward_of_a_thread_the_platform_never_had_opens_a_new_thread_with_all_it_carries(
    hospital, citizen
):
    referral = f.acute_referral(person=citizen)
    message = _forwarded_to_us()
    assert validate_message(message) == []

    status, body = post_signed(hospital, message)

    assert validate_message(body) == []
    assert (status, *ack_parts(body)[:2]) == (200, "ok", header_id(message))
    thread = CareThread.objects.get()
    assert (thread.identifier, thread.citizen, thread.referral, thread.partner) == (
        FORWARDED_THREAD,
        citizen,
        referral,
        hospital,
    )
    texts = [m.text for m in thread.messages.order_by("written_at", "pk")]
    assert [t[:22] for t in texts] == [
        "Til rette vedkommende.",  # the 1st message, forwarded
        "Hej Michael, Resultate",  # the 2nd
        "[Blodprøveresultater]",  # its attachment, named by its title
        "Mange tak for fremsend",  # the 3rd
        "Hej - Jeg håber det er",  # the forward's own words
    ]
    assert set(thread.messages.values_list("direction", flat=True)) == {"in"}
    assert (
        AuditEntry.objects.filter(
            citizen_id=citizen.pk, reason_code="care-communication-message", outcome="permitted"
        ).count()
        == 1
    )


def test_the_forward_sent_again_in_a_new_envelope_is_answered_as_first_and_kept_once(
    hospital, citizen
):
    f.acute_referral(person=citizen)
    message = _forwarded_to_us()
    first = post_signed(hospital, message)[1]
    message["id"] = str(uuid.uuid4())

    status, body = post_signed(hospital, message)

    assert (status, ack_parts(body)) == (200, ack_parts(first))
    assert InboundMessage.objects.count() == 1
    assert CareThread.objects.get().messages.count() == 5


def test_the_coordinators_reply_to_a_forward_answers_the_forward_within_medcoms_rules(
    hospital, citizen
):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)
    message = _forwarded_to_us()
    post_signed(hospital, message)
    thread = CareThread.objects.get()
    client = Client()
    assert f.log_in(client, coordinator).status_code == 302

    done = client.post(
        f"/care-threads/{thread.pk}/reply/",
        {"text": "Vi kigger forbi i aften.", "on": f"referral-{referral.pk}"},
    )

    assert done.status_code == 302
    reply = OutboundMessage.objects.get(event="care-communication-reply").bundle
    assert validate_message(reply) == []
    communication = next(
        e["resource"] for e in reply["entry"] if e["resource"]["resourceType"] == "Communication"
    )
    assert communication["identifier"][0]["value"] == FORWARDED_THREAD
    own = next(
        e["resource"]
        for e in reply["entry"]
        if e["resource"]["resourceType"] == "Provenance"
        and e["resource"]["target"][0]["reference"].endswith(reply["entry"][0]["resource"]["id"])
    )
    assert {"role": "revision", "what": {"reference": f"MessageHeader/{header_id(message)}"}} in (
        own["entity"]
    )
