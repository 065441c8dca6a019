"""The reply's message: MedCom's CareCommunication in the thread's episode,
answering the message before it (``care-communication-reply``, the builder
the partners' adapters declare)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from integrations.adapters import Outgoing
from integrations.builders import (
    CARE_COMMUNICATION_DEFINITION,
    CARE_COMMUNICATION_EVENT,
    author_resources,
    communication,
)
from integrations.medcom.outbound import MedComShape
from integrations.models import CareMessage


@dataclass(frozen=True)
class Reply:
    """A segment written here and the MessageHeader.id it answers."""

    segment: CareMessage
    answers: str


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
        supporting=author,
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
