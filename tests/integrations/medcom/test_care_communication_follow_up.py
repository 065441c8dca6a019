"""A partner adding to its own latest CareCommunication before anyone here
answered ("I forgot to say she has a fever"): MedCom's governance lets a
sender reply to the latest message when it sent that message itself
(medcom-carecommunication-4), so the follow-up is acknowledged ``ok`` and
kept in the same thread. A reply from another partner to that message is
still refused: it answers nothing the platform sent it."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from consent.audit.models import AuditEntry
from core.models import Organisation
from integrations.medcom.validation import validate_message
from integrations.models import CareThread, InboundMessage, Partner
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, example, header_id, post_signed

pytestmark = pytest.mark.django_db

FIRST = "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"  # MedCom's example: a new message
FOLLOW_UP = "Jeg glemte at nævne, at hun også har feber."
SOR, GLN = "urn:oid:1.2.208.176.1.1", "http://www.gs1.org/gln"


def _follow_up(first: dict[str, Any], sender: Organisation | None = None) -> dict[str, Any]:
    """The first message's sender replying to it: the same thread, its
    segment repeated, a new segment and a Provenance of the reply pointing
    to the first message (MedCom's reply shape). ``sender``: another
    organisation sending it instead."""
    message = copy.deepcopy(first)
    answered, new = header_id(first), str(uuid.uuid4())
    message["id"] = str(uuid.uuid4())
    message["entry"][0]["resource"]["id"] = new
    message["entry"][0]["fullUrl"] = message["entry"][0]["fullUrl"].replace(answered, new)
    resources = [entry["resource"] for entry in message["entry"]]
    communication = next(r for r in resources if r["resourceType"] == "Communication")
    segment = copy.deepcopy(communication["payload"][0])
    segment["contentString"] = FOLLOW_UP
    segment_id = f"urn:uuid:{uuid.uuid4()}"
    for extension in segment["extension"]:
        if extension["url"].endswith("identifier-extension"):
            extension["valueIdentifier"]["value"] = segment_id
        if extension["url"].endswith("datetime-extension"):
            extension["valueDateTime"] = "2024-05-01T12:30:00+02:00"
    communication["payload"].append(segment)
    provenance_entry = next(
        e for e in message["entry"] if e["resource"]["resourceType"] == "Provenance"
    )
    reply = copy.deepcopy(provenance_entry)
    provenance = reply["resource"]
    reply["fullUrl"] = reply["fullUrl"].replace(provenance["id"], new)
    provenance["id"] = new
    provenance["target"] = [{"reference": f"MessageHeader/{new}"}]
    provenance["occurredDateTime"] = provenance["recorded"] = "2024-05-01T12:30:00+02:00"
    provenance["activity"]["coding"][0]["code"] = "reply-message"
    provenance["entity"] = [
        {"role": "revision", "what": {"reference": f"MessageHeader/{answered}"}},
        {"role": "source", "what": {"identifier": {"value": segment_id}}},
    ]
    message["entry"].append(reply)
    if sender is not None:
        # Sent from the sender's own address (MedCom's source.endpoint).
        message["entry"][0]["resource"]["source"]["endpoint"] = (
            f"https://sor2.sum.dsdn.dk/#id={sender.sor_code}"
        )
        sender_id = message["entry"][0]["resource"]["sender"]["reference"].rsplit("/", 1)[-1]
        for resource in resources:
            if resource["resourceType"] == "Organization" and resource["id"] == sender_id:
                resource["identifier"] = [
                    {"system": SOR, "value": sender.sor_code},
                    {"system": GLN, "value": sender.ean},
                ]
    return message


def test_a_partners_follow_up_to_its_own_message_is_kept_and_no_other_partner_may_answer_it(
    hospital, citizen
):
    f.acute_referral(person=citizen)
    first = example("carecommunication", FIRST)
    post_signed(hospital, first)
    message = _follow_up(first)
    assert validate_message(message) == []

    status, body = post_signed(hospital, message)

    assert validate_message(body) == []
    assert (status, *ack_parts(body)) == (200, "ok", header_id(message), [])
    thread = CareThread.objects.get()
    texts = list(thread.messages.order_by("written_at", "pk").values_list("text", flat=True))
    assert len(texts) == 2 and texts[1] == FOLLOW_UP
    assert (
        AuditEntry.objects.filter(
            citizen_id=citizen.pk, reason_code="care-communication-message", outcome="permitted"
        ).count()
        == 2
    )

    # R9: another partner's reply to that message answers nothing the
    # platform sent it: refused, and a denied attempt on the citizen.
    other = f.organisation(
        Organisation.Kind.HOSPITAL, "Anden afdeling", sor_code="1042981000016003", ean=f.gln(77)
    )
    second = f.integration_partner(Partner.Kind.HOSPITAL, other)
    theirs = _follow_up(message, sender=other)
    status, body = post_signed(second, theirs)
    assert (status, *ack_parts(body)) == (400, "fatal-error", header_id(theirs), ["MSG_NO_EXIST"])
    assert thread.messages.count() == 2
    assert not InboundMessage.objects.filter(partner=second, outcome="ok").exists()
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, outcome="denied", reason_code="carecommunication.previous_unknown"
    ).exists()
