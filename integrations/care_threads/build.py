"""The reply's message: MedCom's CareCommunication in the thread's episode,
answering the message before it, with the Provenances of the thread's
earlier messages (``care-communication-reply``, the builder the partners'
adapters declare)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from core.times import fhir_instant
from integrations.adapters import Outgoing
from integrations.builders import (
    CARE_COMMUNICATION_DEFINITION,
    CARE_COMMUNICATION_EVENT,
    author_resources,
    communication,
)
from integrations.medcom.envelope import ACTIVITY_SYSTEM, narrative
from integrations.medcom.outbound import RECEIVER_REFERENCE, SENDER_REFERENCE, MedComShape
from integrations.models import CareMessage, never_reached

# A segment written here whose message never reached the partner
# (``never_reached``): a reply neither answers it nor repeats it in its history.
NEVER_REACHED = never_reached("outbound__")


@dataclass(frozen=True)
class Reply:
    """A segment written here and the MessageHeader.id it answers."""

    segment: CareMessage
    answers: str


def _history(segment: CareMessage) -> list[dict[str, Any]]:
    """The Provenance of each earlier message of the thread, oldest first, as
    MedCom's reply repeats them: its activity, its sender (us or the partner),
    the message before it and its segments."""
    messages: dict[str, list[CareMessage]] = {}
    earlier_messages = segment.thread.messages.exclude(pk=segment.pk).exclude(NEVER_REACHED)
    for earlier in earlier_messages.order_by("written_at", "pk"):
        messages.setdefault(earlier.header_id, []).append(earlier)
    provenances: list[dict[str, Any]] = []
    previous = None
    for header_id, segments in messages.items():
        first = segments[0]
        at = fhir_instant(first.written_at, timespec="seconds")
        activity = first.activity or "new-message"
        ours = first.direction == CareMessage.Direction.OUT
        entities = [{"role": "revision", "what": {"reference": f"MessageHeader/{previous}"}}]
        provenances.append(
            {
                "resourceType": "Provenance",
                "id": str(uuid.uuid4()),
                "target": [{"reference": f"MessageHeader/{header_id}"}],
                "occurredDateTime": at,
                "recorded": at,
                "activity": {"coding": [{"system": ACTIVITY_SYSTEM, "code": activity}]},
                "agent": [{"who": {"reference": SENDER_REFERENCE if ours else RECEIVER_REFERENCE}}],
                "entity": [
                    *(entities if previous else []),
                    *(
                        {"role": "source", "what": {"identifier": {"value": s.identifier}}}
                        for s in segments
                    ),
                ],
                "text": narrative(f"{activity} {at}", f"MessageHeader/{header_id}"),
            }
        )
        previous = header_id
    return provenances


def care_reply(reply: Reply) -> Outgoing:
    """The builder of ``care-communication-reply``: MedCom's CareCommunication
    in the thread of the segment, answering ``reply.answers``."""
    segment, thread = reply.segment, reply.segment.thread
    user = segment.written_by.user if segment.written_by is not None else None
    author = author_resources(user)
    focus = communication(
        citizen=thread.citizen,
        category=thread.category,
        topic=thread.topic or _("Reply"),
        text=segment.text,
        author=author,
        identifier=thread.identifier,
        segment_identifier=segment.identifier,
    )
    return Outgoing(
        citizen=thread.citizen,
        focus=[focus],
        supporting=[*author, *_history(segment)],
        source_type="integrations.care_message",
        source_id=str(segment.pk),
        activity="reply-message",
        medcom=MedComShape(
            event=CARE_COMMUNICATION_EVENT,
            definition=CARE_COMMUNICATION_DEFINITION,
            activity="reply-message",
            provenance_entities=[
                {"role": "revision", "what": {"reference": f"MessageHeader/{reply.answers}"}},
                {"role": "source", "what": {"identifier": {"value": segment.identifier}}},
            ],
        ),
    )
