"""A message sent again goes in a new envelope (MedCom's reliable messaging,
MR7): a new Bundle.id and Bundle.timestamp, the same MessageHeader.id, so the
receiver knows it for the message it may already have and answers it with the
acknowledgement it gave first.

A message the receiver refused (fatal-error) is not sent again that way: the
receiver would answer the refusal it gave first (MedCom 043: the same
acknowledgement content for a duplicate). A person's re-send after it is a new
message (043's scenario 5): a new MessageHeader.id as well."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from core.times import fhir_instant
from integrations.models import OutboundMessage


def envelope_renew(message: OutboundMessage, *, at: dt.datetime) -> list[str]:
    """Give ``message`` a new envelope; returns the fields to save."""
    bundle_id = uuid.uuid4()
    message.bundle = {
        **message.bundle,
        "id": str(bundle_id),
        "timestamp": fhir_instant(at, timespec="seconds"),
    }
    message.bundle_id = bundle_id
    return ["bundle", "bundle_id"]


def message_renew(message: OutboundMessage, *, at: dt.datetime) -> list[str]:
    """Make ``message`` a new message: a new MessageHeader.id (everywhere the
    Bundle names it: the header, its fullUrl, the Provenance's target) in a
    new envelope; returns the fields to save."""
    old, new = str(message.message_id), str(uuid.uuid4())
    message.bundle = json.loads(json.dumps(message.bundle).replace(old, new))
    message.message_id = uuid.UUID(new)
    return ["message_id", *envelope_renew(message, at=at)]
