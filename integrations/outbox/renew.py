"""A message sent again goes in a new envelope (MedCom's reliable messaging,
MR7): a new Bundle.id and Bundle.timestamp, the same MessageHeader.id, so the
receiver knows it for the message it may already have and answers it with the
acknowledgement it gave first."""

from __future__ import annotations

import datetime as dt
import uuid

from integrations.models import OutboundMessage


def envelope_renew(message: OutboundMessage, *, at: dt.datetime) -> list[str]:
    """Give ``message`` a new envelope; returns the fields to save."""
    bundle_id = uuid.uuid4()
    message.bundle = {
        **message.bundle,
        "id": str(bundle_id),
        "timestamp": at.isoformat(timespec="seconds"),
    }
    message.bundle_id = bundle_id
    return ["bundle", "bundle_id"]
