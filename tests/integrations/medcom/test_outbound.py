"""MedCom outbound, as a partner receives it: the partner simulators check
what they receive with MedCom's rules and answer with MedCom's
Acknowledgement; the outbox settles on it."""

from __future__ import annotations

import copy
import json
import uuid

from django.db import transaction

from acute import services as acute
from acute.models import Outcome
from core.actors import Actor
from core.models import Citizen, Role
from integrations.medcom.validation import validate_message
from integrations.messages import Event
from integrations.models import OutboundMessage
from integrations.transport import OUR_SENDER_CODE, post_signed
from tests import factories as f
from tests.integrations.conftest import Network
from tests.integrations.medcom.peers import delivered


def _header(bundle: dict) -> dict:
    return bundle["entry"][0]["resource"]


def handed_back(network: Network, citizen: Citizen) -> OutboundMessage:
    """The hand-back (R11) to home nursing that closing the citizen's episode writes."""
    coordinator = f.staff(Role.COORDINATOR, network.acute)
    referral = f.acute_referral(person=citizen, by=coordinator)
    with transaction.atomic():
        acute.episode_complete(
            episode=referral.episode,
            outcome=Outcome.HANDED_BACK,
            note="Drikker selv",
            actor=Actor.for_membership(coordinator),
        )
    return OutboundMessage.objects.get(event=Event.CARE_COMMUNICATION, partner=network.home_nursing)


def test_a_hand_back_is_checked_by_home_nursing_and_acknowledged_the_medcom_way(
    network: Network,
) -> None:
    message = handed_back(network, f.citizen(municipality_code="157"))

    assert delivered(message) == OutboundMessage.Status.ACKNOWLEDGED
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.ACKNOWLEDGED
    sim = network.sims["home_nursing"]
    assert sim.processed_count(str(message.message_id)) == 1
    assert sim.state.refused_medcom == []
    # Its answer was MedCom's Acknowledgement, keeping MedCom's rules too.
    [(status, ack)] = list(sim.state.acks.values())
    assert status == 200
    assert _header(ack)["eventCoding"]["code"] == "acknowledgement-message"
    assert _header(ack)["response"] == {"identifier": str(message.message_id), "code": "ok"}
    assert validate_message(ack) == []


def test_a_medcom_message_breaking_the_rules_gets_a_fatal_error_naming_the_rule(
    network: Network,
) -> None:
    citizen = f.citizen(municipality_code="157")
    coordinator = f.staff(Role.COORDINATOR, network.acute)
    referral = f.acute_referral(person=citizen, by=coordinator)
    with transaction.atomic():
        acute.episode_complete(
            episode=referral.episode,
            outcome=Outcome.HANDED_BACK,
            note="Drikker selv",
            actor=Actor.for_membership(coordinator),
        )
    [message] = OutboundMessage.objects.filter(
        event=Event.CARE_COMMUNICATION, partner=network.home_nursing
    )
    broken = copy.deepcopy(message.bundle)
    broken["id"] = str(uuid.uuid4())
    _header(broken)["id"] = str(uuid.uuid4())
    broken["entry"] = [e for e in broken["entry"] if e["resource"]["resourceType"] != "Patient"]
    sim = network.sims["home_nursing"]

    reply = post_signed(
        url=sim.url,
        body=json.dumps(broken).encode(),
        sender=OUR_SENDER_CODE,
        secret=network.home_nursing.secret,
        timeout=5,
    )

    assert reply.status == 400
    ack = reply.json()
    assert _header(ack)["response"]["code"] == "fatal-error"
    assert validate_message(ack) == []
    outcome = next(
        e["resource"] for e in ack["entry"] if e["resource"]["resourceType"] == "OperationOutcome"
    )
    texts = " ".join(i["details"]["text"] for i in outcome["issue"])
    assert "medcom-careCommunication-2" in texts
    assert citizen.cpr not in json.dumps(ack)
    assert sim.state.refused_medcom == [_header(broken)["id"]]
    assert sim.processed_count(_header(broken)["id"]) == 0
