"""An acknowledgement a partner sent as its own message, later than its
answer to the delivery (MedCom's asynchronous acknowledgement)."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.messages import AckCode
from integrations.models import PARTNER_FATAL, OutboundMessage, Partner
from integrations.outbox.queue import deliver_later
from integrations.outbox.renew import envelope_renew


def outbox_acknowledge(*, partner: Partner, answering: str, code: str, detail: str = "") -> bool:
    """An acknowledgement that came as its own message. Returns whether it
    matched one of our messages to this partner."""
    try:
        message_uuid = uuid.UUID(answering)
    except ValueError:
        return False
    now = timezone.now()
    with transaction.atomic():
        message = (
            OutboundMessage.objects.select_for_update()
            .filter(partner=partner, message_id=message_uuid)
            .exclude(Q(status=OutboundMessage.Status.ACKNOWLEDGED))
            .first()
        )
        if message is None:
            return OutboundMessage.objects.filter(partner=partner, message_id=message_uuid).exists()
        if code == AckCode.OK:
            message.status = OutboundMessage.Status.ACKNOWLEDGED
            message.acknowledged_at = now
            message.lease_until = None
            message.save(update_fields=["status", "acknowledged_at", "lease_until"])
        elif code == AckCode.FATAL:
            message.status = OutboundMessage.Status.FAILED
            message.failed_at = now
            message.lease_until = None
            message.last_error_code = PARTNER_FATAL
            message.last_error = (detail or "fatal-error")[:500]
            message.save(
                update_fields=[
                    "status",
                    "failed_at",
                    "lease_until",
                    "last_error_code",
                    "last_error",
                ]
            )
        elif message.status == OutboundMessage.Status.AWAITING_ACK:
            # Transient: the partner asks us to send again, in a new envelope.
            message.status = OutboundMessage.Status.PENDING
            message.next_attempt_at = now
            renewed = envelope_renew(message, at=now)
            message.save(update_fields=["status", "next_attempt_at", *renewed])
            pk = message.pk
            transaction.on_commit(lambda: deliver_later([pk]))
    return True
