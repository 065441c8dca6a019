"""Receiving messages: authenticate the partner, de-duplicate, process once, acknowledge.

Every message gets an Acknowledgement (MedCom style):

- ``ok`` — processed; what it created is remembered with the message ids;
- ``fatal-error`` — the message cannot be processed as sent (malformed,
  refused by a rule such as R2): nothing is created, and the answer is
  remembered so a resend gets the same answer;
- ``transient-error`` — something on our side was briefly unavailable; nothing
  is remembered, so the sender may retry.

A duplicate (same Bundle.id or MessageHeader.id from the same partner) is
answered with the original acknowledgement and never processed twice; the
database's unique constraints decide a race between two copies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, DataError, IntegrityError, OperationalError, transaction
from django.db.models import Q

from consent.audit.services import Action, Outcome, Purpose, audit_record
from core.actors import Actor
from core.boundary import json_load
from core.errors import InvalidInput, PlatformError, Unavailable
from integrations.messages import (
    AckCode,
    Event,
    InvalidMessage,
    acknowledgement_bundle,
    error_outcome,
    parse_message,
    peek_ids,
)
from integrations.models import InboundMessage, Partner
from integrations.outbox import outbox_acknowledge
from integrations.partners import adapter_for

log = logging.getLogger(__name__)

PROCESS_TASK = "integrations.process_message"


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    duplicate: bool = False


def _earlier(partner: Partner, bundle_id: str, header_id: str) -> InboundMessage | None:
    match = Q()
    if bundle_id:
        match |= Q(bundle_id=bundle_id)
    if header_id:
        match |= Q(header_id=header_id)
    if not match:
        return None
    return InboundMessage.objects.filter(match, partner=partner).first()


def _fatal(
    partner: Partner,
    bundle_id: str,
    header_id: str,
    event: str,
    code: str,
    text: str,
    field: str | None,
) -> Answer:
    ack = acknowledgement_bundle(
        answering=header_id or "unknown",
        code=AckCode.FATAL,
        outcome=error_outcome(code, text, field=field),
        sender=None,
    )
    if bundle_id and header_id:
        try:
            with transaction.atomic():
                InboundMessage.objects.create(
                    partner=partner,
                    bundle_id=bundle_id,
                    header_id=header_id,
                    event=event[:64],
                    outcome=InboundMessage.Outcome.FATAL,
                    http_status=400,
                    acknowledgement=ack,
                )
        except IntegrityError:
            earlier = _earlier(partner, bundle_id, header_id)
            if earlier is not None:
                return Answer(earlier.http_status, earlier.acknowledgement, duplicate=True)
    log.info("message from %s refused: %s", partner.code, code)
    return Answer(400, ack)


def message_receive(*, partner: Partner, raw: bytes) -> Answer:
    """Process one signed message from ``partner`` (already authenticated)."""
    try:
        # The same door as every other body: size, depth, NUL and broken text.
        data = json_load(raw)
    except InvalidInput as exc:
        code = "message.not_json" if exc.code == "request.malformed" else exc.code
        return _fatal(partner, "", "", "", code, exc.message, exc.field)
    bundle_id, header_id = peek_ids(data)
    earlier = _earlier(partner, bundle_id, header_id)
    if earlier is not None:
        return Answer(earlier.http_status, earlier.acknowledgement, duplicate=True)
    try:
        parsed = parse_message(data)
    except InvalidMessage as exc:
        return _fatal(partner, bundle_id, header_id, "", exc.code, exc.message, exc.field)

    if parsed.event == Event.ACKNOWLEDGEMENT:
        response = parsed.response or {}
        detail = ""
        for outcome in parsed.of_type("OperationOutcome"):
            detail = str((outcome.get("issue") or [{}])[0].get("diagnostics", ""))
        matched = outbox_acknowledge(
            partner=partner,
            answering=str(response.get("identifier", "")),
            code=str(response.get("code", "")),
            detail=detail,
        )
        # Acknowledgements are not acknowledged; the HTTP answer says whether it matched.
        return Answer(
            200 if matched else 404,
            error_outcome(
                "ack.received" if matched else "ack.unknown_message",
                "Acknowledgement recorded." if matched else "No such message to this partner.",
                kind="invalid" if matched else "not_found",
            ),
        )

    # A partner may send only what its adapter declares it receives.
    handler = adapter_for(partner.kind).handler(parsed.event)
    if handler is None:
        return _fatal(
            partner,
            parsed.bundle_id,
            parsed.header_id,
            parsed.event,
            "message.event_unsupported",
            "This partner may not send this kind of message to the platform.",
            "MessageHeader.eventCoding",
        )
    actor = Actor.system(PROCESS_TASK, partner=partner.organisation)
    try:
        with transaction.atomic():
            handled = handler(partner, parsed, actor)
            ack = acknowledgement_bundle(answering=parsed.header_id, code=AckCode.OK, sender=None)
            InboundMessage.objects.create(
                partner=partner,
                bundle_id=parsed.bundle_id,
                header_id=parsed.header_id,
                event=parsed.event,
                citizen=handled.citizen,
                outcome=InboundMessage.Outcome.OK,
                http_status=200,
                acknowledgement=ack,
                result=handled.result,
            )
            if handled.citizen is not None:
                audit_record(
                    actor=actor,
                    action=Action.CREATE,
                    purpose=Purpose.TREATMENT,
                    citizen_id=handled.citizen.pk,
                    outcome=Outcome.PERMITTED,
                    resource_type="Bundle",
                    resource_id=parsed.bundle_id[:64],
                    reason_code=parsed.event,
                    detail={"partner": partner.code, "result": handled.result},
                )
    except Unavailable as exc:
        return _transient(parsed.header_id, exc.code, exc.message)
    except (InvalidMessage, PlatformError) as exc:
        return _fatal(
            partner,
            parsed.bundle_id,
            parsed.header_id,
            parsed.event,
            exc.code,
            exc.message,
            exc.field,
        )
    except IntegrityError:
        # A copy of this message won the race: answer as it was answered.
        earlier = _earlier(partner, parsed.bundle_id, parsed.header_id)
        if earlier is not None:
            return Answer(earlier.http_status, earlier.acknowledgement, duplicate=True)
        return _transient(parsed.header_id, "db.conflict", "A concurrent change; send again.")
    except DataError:
        # A value the database cannot hold (a number out of any column's
        # range): the message is wrong and sending it again cannot help.
        return _fatal(
            partner,
            parsed.bundle_id,
            parsed.header_id,
            parsed.event,
            "message.value_out_of_range",
            "A value in the message cannot be stored.",
            None,
        )
    except (OperationalError, DatabaseError) as exc:
        log.warning("message from %s not processed: %s", partner.code, type(exc).__name__)
        return _transient(
            parsed.header_id, "db.unavailable", "The database was briefly unavailable."
        )
    return Answer(200, ack)


def _transient(header_id: str, code: str, text: str) -> Answer:
    ack = acknowledgement_bundle(
        answering=header_id or "unknown",
        code=AckCode.TRANSIENT,
        outcome=error_outcome(code, text, kind="unavailable"),
        sender=None,
    )
    return Answer(503, ack)
