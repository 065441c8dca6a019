"""A partner answers a CareCommunication the platform sent outside any thread
— the hand-back to home nursing (R11) or the episode's outcome to a referrer —
as MedCom's reply: the answer opens the thread on the episode's referral with
the platform's message as its first segment, also when the citizen's
municipality has since left the joint function (the hand-back still goes to
her own municipality's home nursing, R11, and its answer is one to what the
platform sent). A reply to such a message that never left, or sent to
another partner, is refused as before (``MSG_NO_EXIST``)."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
from django.utils import timezone

from acute import services as acute
from acute.models import Outcome
from core.actors import Actor
from core.models import Organisation, Role
from integrations.medcom.validation import validate_message
from integrations.messages import Event
from integrations.models import CareMessage, CareThread, OutboundMessage, Partner
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, post_signed

pytestmark = pytest.mark.django_db


def _reply(ours: OutboundMessage, text: str = "Tak, vi kommer i morgen.") -> dict[str, Any]:
    """The receiver's reply to ``ours``, as MedCom's CareCommunication reply:
    the same thread identifier and segments, one new segment, sender and
    receiver swapped, a Provenance ``reply-message`` naming our MessageHeader."""
    old = ours.bundle["entry"][0]["resource"]["id"]
    new = str(uuid.uuid4())
    bundle = json.loads(json.dumps(ours.bundle).replace(old, new))
    bundle["id"] = str(uuid.uuid4())
    header = bundle["entry"][0]["resource"]
    sender = header["sender"]["reference"]
    receiver = header["destination"][0]["receiver"]["reference"]
    header["sender"]["reference"] = receiver
    header["destination"][0]["receiver"]["reference"] = sender
    header["source"]["endpoint"], header["destination"][0]["endpoint"] = (
        header["destination"][0]["endpoint"],
        header["source"]["endpoint"],
    )
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Communication":
            segment = copy.deepcopy(resource["payload"][0])
            segment["contentString"] = text
            for extension in segment["extension"]:
                if "identifier" in extension["url"]:
                    extension["valueIdentifier"]["value"] = f"urn:uuid:{uuid.uuid4()}"
            resource["payload"].append(segment)
        if resource["resourceType"] == "Provenance" and resource["target"][0]["reference"].endswith(
            new
        ):
            resource["activity"]["coding"][0]["code"] = "reply-message"
            resource["entity"] = [
                {"role": "revision", "what": {"reference": f"MessageHeader/{old}"}},
                *resource.get("entity", []),
            ]
            for agent in resource.get("agent", []):
                agent["who"]["reference"] = receiver
    return bundle


def _handed_back(municipality_code: str = "159") -> tuple[OutboundMessage, Partner, Any]:
    citizen = f.citizen(municipality_code=municipality_code)
    own = f.integration_partner(
        Partner.Kind.HOME_NURSING,
        f.home_nursing(municipality_code),
        endpoint_url="http://127.0.0.1:9/in",
    )
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)
    acute.episode_complete(
        episode=referral.episode,
        outcome=Outcome.HANDED_BACK,
        note="Væskebehandlet; drikker nu selv",
        actor=Actor.for_membership(coordinator),
    )
    [ours] = OutboundMessage.objects.filter(event=Event.CARE_COMMUNICATION, partner=own)
    return ours, own, referral


def _left(ours: OutboundMessage) -> None:
    now = timezone.now()
    OutboundMessage.objects.filter(pk=ours.pk).update(
        status=OutboundMessage.Status.ACKNOWLEDGED, sent_at=now, acknowledged_at=now
    )


@pytest.mark.parametrize("participates", [True, False])
def test_r11_home_nursings_reply_to_the_hand_back_opens_the_thread_on_the_referral(participates):
    ours, own, referral = _handed_back()
    _left(ours)
    Organisation.objects.filter(pk=referral.citizen.municipality_id).update(
        participates=participates
    )
    reply = _reply(ours)
    assert validate_message(reply) == []
    status, body = post_signed(own, reply)
    assert (status, ack_parts(body)[0]) == (200, "ok"), ack_parts(body)
    thread = CareThread.objects.get()
    assert (thread.partner, thread.citizen, thread.referral) == (own, referral.citizen, referral)
    mine = thread.messages.get(direction=CareMessage.Direction.OUT)
    assert mine.outbound == ours and mine.text.startswith("Akut forløb afsluttet")
    answer = thread.messages.get(direction=CareMessage.Direction.IN)
    assert answer.text == "Tak, vi kommer i morgen."
    # Her answer again (a new message in the same thread) continues it.
    again = _reply(ours, "Borgeren har det godt.")
    assert post_signed(own, again)[0] == 200
    assert thread.messages.filter(direction=CareMessage.Direction.IN).count() == 2
    assert CareThread.objects.count() == 1


def test_r11_a_reply_to_a_hand_back_that_never_left_is_refused_and_nothing_is_written():
    ours, own, _referral = _handed_back()
    status, body = post_signed(own, _reply(ours))
    assert (status, ack_parts(body)[0], ack_parts(body)[2]) == (
        400,
        "fatal-error",
        ["MSG_NO_EXIST"],
    )
    assert not CareThread.objects.exists() and not CareMessage.objects.exists()


def test_r3_a_reply_to_a_hand_back_sent_to_another_partner_is_refused():
    ours, own, _referral = _handed_back()
    _left(ours)
    other = f.integration_partner(
        Partner.Kind.HOME_NURSING, f.home_nursing("157"), endpoint_url="http://127.0.0.1:9/x"
    )
    reply = _reply(ours)
    # Signed by the other partner and naming it as sender (its own SOR and EAN).
    for entry in reply["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Organization" and any(
            i.get("value") == own.organisation.sor_code for i in resource.get("identifier", [])
        ):
            for identifier in resource["identifier"]:
                if identifier.get("value") == own.organisation.sor_code:
                    identifier["value"] = other.organisation.sor_code
                elif identifier.get("value") == own.organisation.ean:
                    identifier["value"] = other.organisation.ean
    status, body = post_signed(other, reply)
    assert (status, ack_parts(body)[0], ack_parts(body)[2]) == (
        400,
        "fatal-error",
        ["MSG_NO_EXIST"],
    )
    assert not CareThread.objects.exists()


def test_r11_the_hand_back_goes_to_her_own_home_nursing_after_her_municipality_left():
    """Her municipality left the joint function while her episode was open:
    the episode is finished, and its hand-back still goes to her own
    municipality's home nursing, which takes over her care (R11)."""
    citizen = f.citizen(municipality_code="159")
    own = f.integration_partner(
        Partner.Kind.HOME_NURSING, f.home_nursing("159"), endpoint_url="http://127.0.0.1:9/in"
    )
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)
    Organisation.objects.filter(pk=citizen.municipality_id).update(participates=False)
    acute.episode_complete(
        episode=referral.episode,
        outcome=Outcome.HANDED_BACK,
        note="Væskebehandlet",
        actor=Actor.for_membership(coordinator),
    )
    [handback] = OutboundMessage.objects.filter(event=Event.CARE_COMMUNICATION, partner=own)
    assert handback.status == OutboundMessage.Status.PENDING, handback.last_error
    assert handback.source_type == "acute.episode.handback"
