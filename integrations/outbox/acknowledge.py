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

An acknowledgement is remembered per partner by its Bundle.id and
MessageHeader.id (:class:`~integrations.models.ReceivedAcknowledgement`),
whichever way it came: as its own message, or in the partner's answer to the
delivery. The same acknowledgement again, either way, is answered as it was
the first time and settles nothing again.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Case, Q, When
from django.utils import timezone
from django.utils.translation import gettext

from core.fhir.outcome import operation_outcome
from integrations.medcom.outbound import RULE_BROKEN
from integrations.messages import AckCode, error_outcome
from integrations.models import PARTNER_FATAL, OutboundMessage, Partner, ReceivedAcknowledgement
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


# Why a partner's acknowledgement settled nothing (the audit entry's reason).
ACK_REFUSED = {
    AckSettles.UNKNOWN: "ack.unknown_message",
    AckSettles.MALFORMED: "ack.code_unknown",
    AckSettles.CONTRADICTS: "ack.contradicts_earlier",
}


def acknowledgement_answer(settles: AckSettles) -> tuple[int, dict[str, Any]]:
    """The HTTP answer (status, body) to a partner's acknowledgement: whether
    it matched a message of ours, and whether it was taken (acknowledgements
    themselves are never acknowledged). One that contradicts the partner's
    first answer to the message is refused (409): the first answer stands
    (MedCom 043)."""
    if settles in (AckSettles.SETTLED, AckSettles.REPEATED):
        return 200, operation_outcome(
            kind="informational",
            code="ack.received",
            message=gettext("Acknowledgement recorded."),
            severity="information",
        )
    if settles == AckSettles.MALFORMED:
        return 400, error_outcome(
            "ack.code_unknown",
            "MessageHeader.response.code must be ok, transient-error or fatal-error.",
            field="MessageHeader.response.code",
        )
    if settles == AckSettles.CONTRADICTS:
        return 409, error_outcome(
            "ack.contradicts_earlier",
            "The message was already acknowledged otherwise; the first acknowledgement stands.",
            kind="conflict",
        )
    return 404, error_outcome(
        "ack.unknown_message", "No such message to this partner.", kind="not_found"
    )


def acknowledgement_earlier(
    partner: Partner, bundle_id: str, header_id: str
) -> ReceivedAcknowledgement | None:
    """The acknowledgement this partner sent before with either id (the one
    with the same MessageHeader.id first), however it came."""
    return (
        ReceivedAcknowledgement.objects.filter(
            Q(bundle_id=bundle_id[:64]) | Q(header_id=header_id[:64]), partner=partner
        )
        .order_by(Case(When(header_id=header_id[:64], then=0), default=1))
        .first()
    )


def acknowledgements_seen(
    partner_ids: Iterable[int], bundle_ids: Iterable[str], header_ids: Iterable[str]
) -> set[tuple[int, str, str]]:
    """Of these partners' acknowledgements, those received before with one
    of these ids, as (partner, Bundle.id, MessageHeader.id): one query for
    a batch of deliveries."""
    partners = set(partner_ids)
    found = ReceivedAcknowledgement.objects.filter(
        Q(bundle_id__in={b[:64] for b in bundle_ids})
        | Q(header_id__in={h[:64] for h in header_ids}),
        partner_id__in=partners,
    ).values_list("partner_id", "bundle_id", "header_id")
    return set(found)


def acknowledgement_remembered(
    *,
    partner: Partner,
    bundle_id: str,
    header_id: str,
    answering: str,
    code: str,
    settles: AckSettles,
) -> ReceivedAcknowledgement:
    """The acknowledgement, unsaved, as it is remembered: with the answer a
    copy of it received again gets, and why it settled nothing (blank when
    it did). Saved in the transaction that applied it: of two copies at
    once, the second waits for the first and is its repeat."""
    status, body = acknowledgement_answer(settles)
    return ReceivedAcknowledgement(
        partner=partner,
        bundle_id=bundle_id[:64],
        header_id=header_id[:64],
        answering=answering[:64],
        code=code[:32],
        http_status=status,
        answer=body,
        reason_code=ACK_REFUSED.get(settles, ""),
    )


def acknowledgement_judged(
    message: OutboundMessage, code: str, *, partner: Partner
) -> AckSettles | None:
    """What an acknowledgement with ``code`` is to ``message`` already settled
    by the partner's first answer (REPEATED or CONTRADICTS); None while the
    message is open to one."""
    earlier = _settled_by(message)
    if earlier is None:
        return None
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
        judged = acknowledgement_judged(message, code, partner=partner)
        if judged is not None:
            return judged
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
