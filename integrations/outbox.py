"""The outbox: durable hand-off messages, delivered after commit, retried, never lost.

Life of a message::

    pending --claim--> sending --ack ok--------------------> acknowledged
       ^                  |----202, ack to follow--> awaiting_ack --ack--^
       |                  |----transient / network--> pending (back-off)
       |                  `----fatal, or attempts used up--> failed
       `---- a person re-sends a failed message (new round of attempts)

- :func:`outbox_enqueue` writes the row inside the caller's transaction and
  asks Celery to deliver it once that transaction commits. If the broker is
  down at that moment the row simply waits: :func:`outbox_sweep`, run by beat,
  sends whatever is due, whatever leases expired (a worker killed
  mid-delivery) and re-sends messages whose acknowledgement never came.
- :func:`outbox_deliver` claims the row under a row lock with a lease, POSTs
  outside any transaction, then records the attempt. The receiver
  de-duplicates by Bundle.id and MessageHeader.id, so a repeat after a crash
  is answered with the original acknowledgement and processed once.
- The first time a partner receives a message that carries citizen data, the
  disclosure is written to the audit log (R9), by the task on behalf of the
  person who caused the event.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import uuid
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from consent.audit.services import Action, Purpose, audit_record
from core.actors import Actor
from core.errors import PreconditionFailed
from core.models import Citizen
from integrations.messages import AckCode
from integrations.models import DeliveryAttempt, OutboundMessage, Partner
from integrations.transport import OUR_SENDER_CODE, HttpReply, TransportError, post_signed

log = logging.getLogger(__name__)

DELIVER_TASK = "integrations.outbox_deliver"
# Retries sooner than this are scheduled as Celery countdowns; later ones wait
# for the sweeper (a countdown of hours would sit in a worker's memory).
COUNTDOWN_LIMIT_SECONDS = 60.0
LEASE_MARGIN_SECONDS = 5


def backoff_delay(
    *, attempt: int, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Exponential back-off with jitter: the n-th failure waits
    ``min(cap, base * 2**(n-1))``, of which a random half is taken off so that
    many messages to one partner do not retry in lock-step."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return ceiling * (0.5 + 0.5 * (rng or random).random())


def _dispatch(message_pk: int, *, countdown: float | None = None) -> None:
    """Hand the message to Celery; if the broker is unreachable the row waits
    for the sweeper, and the event that caused it stays committed."""
    from integrations.tasks import outbox_deliver_task

    try:
        outbox_deliver_task.apply_async(args=(message_pk,), countdown=countdown or 0.0, retry=False)
    except (BrokerUnavailable, OSError) as exc:
        log.warning(
            "broker unreachable (%s); outbound message %s waits for the sweeper",
            type(exc).__name__,
            message_pk,
        )


def outbox_enqueue(
    *,
    partner: Partner,
    event: str,
    bundle: dict[str, Any],
    citizen: Citizen | None,
    source_type: str = "",
    source_id: str = "",
    on_behalf_of: Actor | None = None,
) -> OutboundMessage:
    """Write the message in the current transaction; deliver after commit."""
    header = bundle["entry"][0]["resource"]
    with transaction.atomic():
        message = OutboundMessage.objects.create(
            message_id=header["id"],
            bundle_id=bundle["id"],
            partner=partner,
            event=event,
            citizen=citizen,
            source_type=source_type,
            source_id=str(source_id),
            on_behalf_of=on_behalf_of.membership if on_behalf_of else None,
            bundle=bundle,
        )
        pk = message.pk
        transaction.on_commit(lambda: _dispatch(pk))
    return message


def _claim(message_pk: int, now: dt.datetime) -> tuple[OutboundMessage, DeliveryAttempt] | None:
    with transaction.atomic():
        message = (
            OutboundMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("partner")
            .filter(
                pk=message_pk,
                status=OutboundMessage.Status.PENDING,
                next_attempt_at__lte=now,
            )
            .first()
        )
        if message is None:
            return None
        partner = message.partner
        number = DeliveryAttempt.objects.filter(message=message).count() + 1
        message.status = OutboundMessage.Status.SENDING
        message.attempts += 1
        message.lease_until = now + dt.timedelta(
            seconds=2 * partner.request_timeout_seconds + LEASE_MARGIN_SECONDS
        )
        message.save(update_fields=["status", "attempts", "lease_until"])
        attempt = DeliveryAttempt.objects.create(
            message=message, number=number, started_at=now, task=DELIVER_TASK
        )
    return message, attempt


def _classify(reply: HttpReply, message: OutboundMessage) -> tuple[str, str, str]:
    """(attempt outcome, error code, detail) from the partner's answer."""
    ack_code, detail = "", ""
    if reply.body:
        try:
            data = reply.json()
            header = data["entry"][0]["resource"]
            response = header.get("response") or {}
            if response.get("identifier") == str(message.message_id):
                ack_code = response.get("code", "")
            for entry in data.get("entry", [])[1:]:
                resource = entry.get("resource") or {}
                if resource.get("resourceType") == "OperationOutcome":
                    issue = (resource.get("issue") or [{}])[0]
                    detail = str(issue.get("diagnostics", ""))[:300]
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            ack_code = ""
    if ack_code == AckCode.OK and 200 <= reply.status < 300:
        return DeliveryAttempt.Outcome.ACKNOWLEDGED, "", ""
    if ack_code == AckCode.FATAL:
        return DeliveryAttempt.Outcome.FATAL, "partner.fatal_error", detail or "fatal-error"
    if ack_code == AckCode.TRANSIENT:
        return (
            DeliveryAttempt.Outcome.TRANSIENT,
            "partner.transient_error",
            detail or "transient-error",
        )
    if reply.status == 202:
        return DeliveryAttempt.Outcome.ACCEPTED, "", ""
    if reply.status in (408, 425, 429) or reply.status >= 500:
        return DeliveryAttempt.Outcome.TRANSIENT, f"http.{reply.status}", detail
    if 200 <= reply.status < 300:
        # A 2xx without a readable acknowledgement: treat as accepted, wait for the ack.
        return DeliveryAttempt.Outcome.ACCEPTED, "", ""
    return DeliveryAttempt.Outcome.FATAL, f"http.{reply.status}", detail


def _audit_disclosure(message: OutboundMessage, now: dt.datetime) -> None:
    if message.citizen_id is None or message.disclosed_at is not None:
        return
    on_behalf = Actor.for_membership(message.on_behalf_of) if message.on_behalf_of else None
    audit_record(
        actor=Actor.system(
            DELIVER_TASK, on_behalf_of=on_behalf, partner=message.partner.organisation
        ),
        action=Action.DISCLOSE,
        purpose=Purpose.TREATMENT,
        citizen_id=message.citizen_id,
        resource_type="Bundle",
        resource_id=str(message.bundle_id),
        reason_code=message.event,
        detail={"partner": message.partner.code, "message_id": str(message.message_id)},
    )
    message.disclosed_at = now


def _record(
    message_pk: int,
    attempt_pk: int,
    *,
    outcome: str,
    http_status: int | None,
    error_code: str,
    detail: str,
) -> str:
    now = timezone.now()
    retry_in: float | None = None
    with transaction.atomic():
        message = (
            OutboundMessage.objects.select_for_update(of=("self",))
            .select_related(
                "partner__organisation", "on_behalf_of__user", "on_behalf_of__organisation"
            )
            .get(pk=message_pk)
        )
        partner = message.partner
        fields = ["status", "lease_until", "last_error_code", "last_error", "disclosed_at"]
        message.lease_until = None
        if http_status is not None:
            _audit_disclosure(message, now)
        if message.status != OutboundMessage.Status.SENDING:
            # The acknowledgement overtook this reply (sent separately), or a
            # person intervened: the attempt is recorded, the state stays.
            pass
        elif outcome == DeliveryAttempt.Outcome.ACKNOWLEDGED:
            message.status = OutboundMessage.Status.ACKNOWLEDGED
            message.acknowledged_at = now
            message.sent_at = message.sent_at or now
            message.last_error_code, message.last_error = "", ""
            fields += ["acknowledged_at", "sent_at"]
        elif outcome == DeliveryAttempt.Outcome.ACCEPTED:
            message.status = OutboundMessage.Status.AWAITING_ACK
            message.sent_at = now
            message.next_attempt_at = now + dt.timedelta(seconds=partner.ack_timeout_seconds)
            fields += ["sent_at", "next_attempt_at"]
        elif outcome == DeliveryAttempt.Outcome.FATAL or message.attempts >= partner.max_attempts:
            message.status = OutboundMessage.Status.FAILED
            message.failed_at = now
            message.last_error_code = error_code
            message.last_error = (
                detail
                if outcome == DeliveryAttempt.Outcome.FATAL
                else f"gave up after {message.attempts} attempts; last: {detail or error_code}"
            )[:500]
            fields += ["failed_at"]
            log.warning(
                "outbound message %s to %s parked as failed (%s)",
                message.pk,
                partner.code,
                error_code,
            )
        else:
            retry_in = backoff_delay(
                attempt=message.attempts,
                base=partner.backoff_base_seconds,
                cap=partner.backoff_max_seconds,
            )
            message.status = OutboundMessage.Status.PENDING
            message.next_attempt_at = now + dt.timedelta(seconds=retry_in)
            fields += ["next_attempt_at"]
        if message.status == OutboundMessage.Status.PENDING:
            message.last_error_code = error_code
            message.last_error = (detail or error_code)[:500]
        message.save(update_fields=fields)
        DeliveryAttempt.objects.filter(pk=attempt_pk).update(
            finished_at=now,
            outcome=outcome,
            http_status=http_status,
            error_code=error_code,
            detail=detail[:500],
            retry_in_seconds=retry_in,
        )
        if retry_in is not None and retry_in <= COUNTDOWN_LIMIT_SECONDS:
            transaction.on_commit(lambda: _dispatch(message_pk, countdown=retry_in))
    return outcome


def outbox_deliver(*, message_pk: int) -> str:
    """Deliver one message if it is due. Returns the attempt's outcome, or
    ``"skipped"`` when there was nothing to do (already sent, not yet due,
    or another worker holds it)."""
    claimed = _claim(message_pk, timezone.now())
    if claimed is None:
        return "skipped"
    message, attempt = claimed
    partner = message.partner
    body = json.dumps(message.bundle, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    try:
        reply = post_signed(
            url=partner.endpoint_url,
            body=body,
            sender=OUR_SENDER_CODE,
            secret=partner.secret,
            timeout=partner.request_timeout_seconds,
        )
    except TransportError as exc:
        return _record(
            message.pk,
            attempt.pk,
            outcome=DeliveryAttempt.Outcome.NETWORK,
            http_status=None,
            error_code="network.unreachable",
            detail=f"no answer from the partner ({exc})",
        )
    outcome, error_code, detail = _classify(reply, message)
    return _record(
        message.pk,
        attempt.pk,
        outcome=outcome,
        http_status=reply.status,
        error_code=error_code,
        detail=detail,
    )


def outbox_sweep(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Send whatever is due. Run by beat; ``now`` lets tests move the clock.

    - pending and due (first send lost with the broker, or a back-off elapsed);
    - sending with an expired lease (the worker died mid-delivery);
    - awaiting an acknowledgement past the partner's timeout: re-sent a
      bounded number of times, then parked as failed for a person.
    """
    now = now or timezone.now()
    real_now = timezone.now()
    due: list[int] = []
    with transaction.atomic():
        expired = list(
            OutboundMessage.objects.select_for_update(skip_locked=True)
            .filter(status=OutboundMessage.Status.SENDING, lease_until__lte=now)
            .values_list("pk", flat=True)[:limit]
        )
        if expired:
            DeliveryAttempt.objects.filter(
                message_id__in=expired, outcome=DeliveryAttempt.Outcome.IN_FLIGHT
            ).update(
                outcome=DeliveryAttempt.Outcome.NETWORK,
                finished_at=real_now,
                error_code="worker.lost",
                detail="the delivering worker stopped before recording an answer",
            )
            OutboundMessage.objects.filter(pk__in=expired).update(
                status=OutboundMessage.Status.PENDING,
                lease_until=None,
                next_attempt_at=min(now, real_now),
            )
        unacknowledged = list(
            OutboundMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("partner")
            .filter(status=OutboundMessage.Status.AWAITING_ACK, next_attempt_at__lte=now)[:limit]
        )
        for message in unacknowledged:
            if message.resends >= message.partner.max_resends:
                message.status = OutboundMessage.Status.FAILED
                message.failed_at = real_now
                message.last_error_code = "ack.missing"
                message.last_error = f"no acknowledgement after {message.resends + 1} sendings"
                message.save(update_fields=["status", "failed_at", "last_error_code", "last_error"])
            else:
                message.status = OutboundMessage.Status.PENDING
                message.resends += 1
                message.attempts = 0
                message.next_attempt_at = min(now, real_now)
                message.save(update_fields=["status", "resends", "attempts", "next_attempt_at"])
        # Moving the clock (tests) makes later-due rows due now, so the worker takes them.
        pending = OutboundMessage.objects.filter(
            status=OutboundMessage.Status.PENDING, next_attempt_at__lte=now
        )
        due = list(pending.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
        if now > real_now and due:
            OutboundMessage.objects.filter(pk__in=due).update(next_attempt_at=real_now)
        for pk in due:
            transaction.on_commit(lambda pk=pk: _dispatch(pk))  # type: ignore[misc]
    return due


def outbox_resend(*, message: OutboundMessage, by: Actor) -> OutboundMessage:
    """A person re-sends a failed message: a new round of attempts."""
    with transaction.atomic():
        locked = OutboundMessage.objects.select_for_update().get(pk=message.pk)
        if locked.status != OutboundMessage.Status.FAILED:
            raise PreconditionFailed(
                "outbox.not_failed", "Only a message that failed can be re-sent."
            )
        now = timezone.now()
        locked.status = OutboundMessage.Status.PENDING
        locked.attempts = 0
        locked.resends = 0
        locked.next_attempt_at = now
        locked.resent_by = by.membership
        locked.resent_at = now
        locked.save(
            update_fields=[
                "status",
                "attempts",
                "resends",
                "next_attempt_at",
                "resent_by",
                "resent_at",
            ]
        )
        pk = locked.pk
        transaction.on_commit(lambda: _dispatch(pk))
    return locked


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
            message.last_error_code = "partner.fatal_error"
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
            # Transient: the partner asks us to send again.
            message.status = OutboundMessage.Status.PENDING
            message.next_attempt_at = now
            message.save(update_fields=["status", "next_attempt_at"])
            pk = message.pk
            transaction.on_commit(lambda: _dispatch(pk))
    return True
