"""An acknowledgement a partner sent as its own message, later than its
answer to the delivery (MedCom's asynchronous acknowledgement).

The first acknowledgement of a message settles it. MedCom's reliable
messaging (043, scenario 2): a receiver answers a message the same way every
time — "a positive acknowledgement may not be sent first and then a negative
acknowledgement or vice versa" — and the sender ignores a repeated
acknowledgement, logging it. So a second acknowledgement that repeats the
first changes nothing, and one that contradicts it (an ok after the
partner's fatal-error, a fatal-error after its ok) changes nothing either:
the partner is told, and a message the partner refused stays on the
coordinator's board.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import uuid

from django.db import transaction
from django.utils import timezone

from integrations.medcom.outbound import RULE_BROKEN
from integrations.messages import AckCode
from integrations.models import PARTNER_FATAL, OutboundMessage, Partner
from integrations.outbox.queue import deliver_later
from integrations.outbox.renew import envelope_renew

log = logging.getLogger(__name__)

# The reason on the coordinator's board (integrations.models.REASONS).
PARTNER_TRANSIENT = "partner.transient_error"


class AckSettles(enum.StrEnum):
    """What a partner's acknowledgement did to the message it answers."""

    SETTLED = "settled"  # the first answer: the message is settled by it
    REPEATED = "repeated"  # the same answer again: nothing changes
    CONTRADICTS = "contradicts"  # the opposite of the partner's first answer: ignored
    UNKNOWN = "unknown"  # no message of ours reached this partner with that id
    MALFORMED = "malformed"  # a code that is none of ok, transient-error, fatal-error


# The codes of FHIR's and MedCom's Acknowledgement (MessageHeader.response.code).
ACK_CODES = frozenset({AckCode.OK, AckCode.TRANSIENT, AckCode.FATAL})


def _settled_by(message: OutboundMessage) -> str | None:
    """The partner's acknowledgement that already settled ``message`` (ok or
    fatal-error), or None while it is open to one."""
    if message.status == OutboundMessage.Status.ACKNOWLEDGED:
        return AckCode.OK
    if message.status == OutboundMessage.Status.FAILED and message.last_error_code == PARTNER_FATAL:
        return AckCode.FATAL
    return None


def _never_sent(message: OutboundMessage) -> bool:
    """Whether ``message`` never left the platform: withheld (R4) before any
    attempt, or parked for breaking MedCom's rules. No partner received it,
    so none can acknowledge it; settling it would take it off the
    coordinator's board."""
    withheld = message.status == OutboundMessage.Status.WITHHELD
    parked = (
        message.status == OutboundMessage.Status.FAILED and message.last_error_code == RULE_BROKEN
    )
    return (withheld or parked) and not message.deliveries.exists()


def _parked(message: OutboundMessage, code: str, detail: str, *, now: dt.datetime) -> None:
    """Failed on the partner's answer: parked for a person, in its words."""
    message.status = OutboundMessage.Status.FAILED
    message.failed_at = now
    message.lease_until = None
    message.last_error_code = code
    message.last_error = detail[:500]
    message.save(
        update_fields=["status", "failed_at", "lease_until", "last_error_code", "last_error"]
    )


def outbox_acknowledge(
    *, partner: Partner, answering: str, code: str, detail: str = ""
) -> AckSettles:
    """An acknowledgement that came as its own message, of the message whose
    MessageHeader.id is ``answering`` (ours, to this ``partner``). A code
    outside FHIR's three settles nothing: read as a transient-error it would
    send the message again on a partner's typo."""
    if code not in ACK_CODES:
        return AckSettles.MALFORMED
    try:
        message_uuid = uuid.UUID(answering)
    except ValueError:
        return AckSettles.UNKNOWN
    now = timezone.now()
    with transaction.atomic():
        message = (
            OutboundMessage.objects.select_for_update()
            .filter(partner=partner, message_id=message_uuid)
            .first()
        )
        if message is None or _never_sent(message):
            return AckSettles.UNKNOWN
        earlier = _settled_by(message)
        if earlier is not None:
            if earlier == code:
                log.info("acknowledgement of message %s repeated by %s", message.pk, partner.code)
                return AckSettles.REPEATED
            log.warning(
                "acknowledgement %s of message %s by %s contradicts its earlier %s; ignored",
                code,
                message.pk,
                partner.code,
                earlier,
            )
            return AckSettles.CONTRADICTS
        if code == AckCode.OK:
            message.status = OutboundMessage.Status.ACKNOWLEDGED
            message.acknowledged_at = now
            message.lease_until = None
            # A late ok for a message given up on: it arrived after all, and a
            # person's mark that she dealt with it otherwise no longer applies.
            message.handled_at = None
            message.handled_by = None
            message.save(
                update_fields=[
                    "status",
                    "acknowledged_at",
                    "lease_until",
                    "handled_at",
                    "handled_by",
                ]
            )
        elif code == AckCode.FATAL:
            _parked(message, PARTNER_FATAL, detail or "fatal-error", now=now)
        elif message.status == OutboundMessage.Status.AWAITING_ACK:
            if message.resends >= message.partner.max_resends:
                # Sent as often as MedCom allows (MR7): parked for a person,
                # in the partner's words, as a missing acknowledgement is.
                _parked(message, PARTNER_TRANSIENT, detail or "transient-error", now=now)
                return AckSettles.SETTLED
            # Transient: the partner asks us to send again, in a new envelope;
            # a resend, counted against the same bound as one for a missing
            # acknowledgement, or a partner that always answers so is sent
            # the message forever.
            message.status = OutboundMessage.Status.PENDING
            message.resends += 1
            message.attempts = 0
            message.next_attempt_at = now
            renewed = envelope_renew(message, at=now)
            message.save(
                update_fields=["status", "resends", "attempts", "next_attempt_at", *renewed]
            )
            pk = message.pk
            transaction.on_commit(lambda: deliver_later([pk]))
    return AckSettles.SETTLED
