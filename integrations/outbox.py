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
- :func:`outbox_deliver` claims a batch of rows under row locks with a lease
  (one attempt row each), POSTs them outside any transaction over a
  kept-alive connection per partner, then records every answer in one
  transaction. The receiver de-duplicates by Bundle.id and MessageHeader.id,
  so a repeat after a crash is answered with the original acknowledgement and
  processed once.
- R4: the citizen's refusals are asked when the row is written and again at
  each claim (:mod:`integrations.disclosure`); a refused message is
  ``withheld`` for the coordinator and audited as a denied disclosure.
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
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F, Max, Model, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from consent.audit.services import Action, audit_record
from consent.models import ConsentDirective
from core.actors import Actor
from core.errors import PreconditionFailed
from core.models import Citizen
from integrations.disclosure import (
    NO_REFUSAL,
    DisclosureDecision,
    directives_in_force,
    disclosure_actor,
    disclosure_decide,
    disclosure_withhold,
)
from integrations.messages import AckCode
from integrations.models import DeliveryAttempt, OutboundMessage, Partner
from integrations.transport import OUR_SENDER_CODE, HttpReply, TransportError, post_signed

log = logging.getLogger(__name__)

DELIVER_TASK = "integrations.outbox_deliver"
ENQUEUE_TASK = "integrations.outbox_enqueue"
# Retries sooner than this are scheduled as Celery countdowns; later ones wait
# for the sweeper (a countdown of hours would sit in a worker's memory).
COUNTDOWN_LIMIT_SECONDS = 60.0
LEASE_MARGIN_SECONDS = 5
# Messages one delivery task claims, POSTs and records together: two short
# transactions per batch instead of per message. Small enough that a burst is
# spread over every worker process and a lease covers the batch's POSTs.
DELIVERY_BATCH = 25


def backoff_delay(
    *, attempt: int, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Exponential back-off with jitter: the n-th failure waits
    ``min(cap, base * 2**(n-1))``, of which a random half is taken off so that
    many messages to one partner do not retry in lock-step."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return ceiling * (0.5 + 0.5 * (rng or random).random())


def _dispatch(message_pks: list[int], *, countdown: float | None = None) -> None:
    """Hand the messages to Celery, a batch per task; if the broker is
    unreachable the rows wait for the sweeper, and the event that caused them
    stays committed."""
    from integrations.tasks import outbox_deliver_task

    for first in range(0, len(message_pks), DELIVERY_BATCH):
        chunk = message_pks[first : first + DELIVERY_BATCH]
        try:
            outbox_deliver_task.apply_async(args=(chunk,), countdown=countdown or 0.0, retry=False)
        except (BrokerUnavailable, OSError) as exc:
            log.warning(
                "broker unreachable (%s); %d outbound message(s), each waits for the sweeper",
                type(exc).__name__,
                len(message_pks) - first,
            )
            return


class _TransactionOutbox:
    """What one transaction wrote to the outbox: handed over after commit in
    batches, so a transaction writing a hundred messages publishes four tasks,
    not a hundred. A row rolled back with a savepoint leaves its id here;
    delivery finds no such row and skips it.

    It also remembers the refusals read for each citizen in this transaction
    (an episode's end writes several messages about one citizen); a refusal
    committed meanwhile by someone else is caught by the check before
    delivery."""

    def __init__(self) -> None:
        self.pks: list[int] = []
        self.directives: dict[int, list[ConsentDirective]] = {}
        self.registered = False

    def __call__(self) -> None:
        _dispatch(self.pks)

    def directives_for(self, citizen_id: int, at: dt.datetime) -> list[ConsentDirective]:
        if citizen_id not in self.directives:
            self.directives[citizen_id] = directives_in_force([citizen_id], at=at)[citizen_id]
        return self.directives[citizen_id]


def _transaction_outbox() -> _TransactionOutbox:
    """This transaction's outbox (registered to run after commit); outside a
    transaction a fresh one, run at once by ``on_commit``."""
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        for _sids, func, _robust in connection.run_on_commit:
            if isinstance(func, _TransactionOutbox):
                return func  # registered by an earlier message of this transaction
    return _TransactionOutbox()


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
    """Write the message in the current transaction; deliver after commit.

    R4: a message the citizen has refused disclosure of to this recipient is
    written *withheld* (kept for the coordinator, audited as a denied
    disclosure) and not handed to a worker."""
    header = bundle["entry"][0]["resource"]
    now = timezone.now()
    message = OutboundMessage(
        message_id=header["id"],
        bundle_id=bundle["id"],
        partner=partner,
        event=event,
        citizen=citizen,
        source_type=source_type,
        source_id=str(source_id),
        on_behalf_of=on_behalf_of.membership if on_behalf_of else None,
        bundle=bundle,
        created_at=now,
        next_attempt_at=now,
    )
    outbox = _transaction_outbox()
    decision = (
        disclosure_decide(message, directives=outbox.directives_for(citizen.pk, now), at=now)
        if citizen is not None
        else None
    )
    # No savepoint of its own (two round trips per message): the caller's
    # transaction is the event's, and a failure here fails the event.
    with transaction.atomic(savepoint=False):
        if decision is not None and not decision.permitted:
            disclosure_withhold(message, task=ENQUEUE_TASK, at=now, stage="enqueue")
            message.save(force_insert=True)
            return message
        message.save(force_insert=True)
        outbox.pks.append(message.pk)
        if not outbox.registered:
            outbox.registered = True
            transaction.on_commit(outbox)
    return message


@dataclass(frozen=True)
class Claimed:
    message: OutboundMessage
    attempt: DeliveryAttempt
    disclosure: DisclosureDecision


def _claim(message_pks: list[int], now: dt.datetime) -> tuple[list[Claimed], list[int]]:
    """Lock the due messages among ``message_pks`` (others hold the rest), ask
    R4 again, and open one attempt for each message that may go."""
    with transaction.atomic():
        messages = list(
            OutboundMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("partner__organisation", "on_behalf_of__user")
            .filter(
                pk__in=message_pks,
                status=OutboundMessage.Status.PENDING,
                next_attempt_at__lte=now,
            )
            .order_by("pk")
        )
        if not messages:
            return [], []
        directives = directives_in_force(
            [m.citizen_id for m in messages if m.citizen_id is not None], at=now
        )
        sending: list[OutboundMessage] = []
        decisions: list[DisclosureDecision] = []
        withheld: list[int] = []
        for message in messages:
            decision = disclosure_decide(
                message, directives=directives.get(message.citizen_id or 0, []), at=now
            )
            if not decision.permitted:
                # A refusal recorded since the message was written stops it here.
                fields = disclosure_withhold(message, task=DELIVER_TASK, at=now, stage="delivery")
                message.save(update_fields=fields)
                withheld.append(message.pk)
                continue
            decisions.append(decision)
            message.status = OutboundMessage.Status.SENDING
            message.attempts += 1
            # Covers every POST of the batch (each may wait its timeout twice).
            message.lease_until = now + dt.timedelta(
                seconds=2 * max(m.partner.request_timeout_seconds for m in messages) * len(messages)
                + LEASE_MARGIN_SECONDS
            )
            sending.append(message)
        if not sending:
            return [], withheld
        lease_until = sending[0].lease_until
        OutboundMessage.objects.filter(pk__in=[m.pk for m in sending]).update(
            status=OutboundMessage.Status.SENDING,
            attempts=F("attempts") + 1,
            lease_until=lease_until,
        )
        numbers = dict(
            DeliveryAttempt.objects.filter(message__in=sending)
            .values("message_id")
            .annotate(last=Max("number"))
            .values_list("message_id", "last")
        )
        attempts = DeliveryAttempt.objects.bulk_create(
            [
                DeliveryAttempt(
                    message=m,
                    number=numbers.get(m.pk, 0) + 1,
                    started_at=now,
                    task=DELIVER_TASK,
                )
                for m in sending
            ]
        )
    claimed = [Claimed(m, a, d) for m, a, d in zip(sending, attempts, decisions, strict=True)]
    return claimed, withheld


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


def _audit_disclosure(message: OutboundMessage, decision: DisclosureDecision) -> None:
    """The first time the partner received the message: a disclosure (R9)."""
    detail: dict[str, Any] = {
        "partner": message.partner.code,
        "message_id": str(message.message_id),
    }
    if decision.reason_code != NO_REFUSAL:
        # Sent despite a refusal, under one of R4's exceptions: say which.
        detail["despite_refusal"] = decision.reason_code
    if decision.break_glass_id:
        detail["break_glass_id"] = decision.break_glass_id
    audit_record(
        actor=disclosure_actor(message, DELIVER_TASK),
        action=Action.DISCLOSE,
        purpose=decision.purpose,
        citizen_id=message.citizen_id,
        resource_type="Bundle",
        resource_id=str(message.bundle_id),
        reason_code=decision.reason_code if decision.reason_code != NO_REFUSAL else message.event,
        detail=detail,
    )


@dataclass(frozen=True)
class _Answer:
    outcome: str
    http_status: int | None
    error_code: str
    detail: str


def _post(message: OutboundMessage) -> _Answer:
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
        return _Answer(
            DeliveryAttempt.Outcome.NETWORK,
            None,
            "network.unreachable",
            f"no answer from the partner ({exc})",
        )
    outcome, error_code, detail = _classify(reply, message)
    return _Answer(outcome, reply.status, error_code, detail)


_RECORDED_FIELDS = [
    "status",
    "lease_until",
    "last_error_code",
    "last_error",
    "disclosed_at",
    "acknowledged_at",
    "sent_at",
    "failed_at",
]


def _settle(message: OutboundMessage, answer: _Answer, now: dt.datetime) -> float | None:
    """Apply one answer to the locked message; returns the back-off, if any."""
    partner = message.partner
    outcome, error_code, detail = answer.outcome, answer.error_code, answer.detail
    message.lease_until = None
    if message.status != OutboundMessage.Status.SENDING:
        # The acknowledgement overtook this reply (sent separately), or a
        # person intervened: the attempt is recorded, the state stays.
        return None
    if outcome == DeliveryAttempt.Outcome.ACKNOWLEDGED:
        message.status = OutboundMessage.Status.ACKNOWLEDGED
        message.acknowledged_at = now
        message.sent_at = message.sent_at or now
        message.last_error_code, message.last_error = "", ""
        return None
    if outcome == DeliveryAttempt.Outcome.ACCEPTED:
        message.status = OutboundMessage.Status.AWAITING_ACK
        message.sent_at = now
        message.next_attempt_at = now + dt.timedelta(seconds=partner.ack_timeout_seconds)
        return None
    if outcome == DeliveryAttempt.Outcome.FATAL or message.attempts >= partner.max_attempts:
        message.status = OutboundMessage.Status.FAILED
        message.failed_at = now
        message.last_error_code = error_code
        message.last_error = (
            detail
            if outcome == DeliveryAttempt.Outcome.FATAL
            else f"gave up after {message.attempts} attempts; last: {detail or error_code}"
        )[:500]
        log.warning(
            "outbound message %s to %s parked as failed (%s)", message.pk, partner.code, error_code
        )
        return None
    retry_in = backoff_delay(
        attempt=message.attempts,
        base=partner.backoff_base_seconds,
        cap=partner.backoff_max_seconds,
    )
    message.status = OutboundMessage.Status.PENDING
    message.next_attempt_at = now + dt.timedelta(seconds=retry_in)
    message.last_error_code = error_code
    message.last_error = (detail or error_code)[:500]
    return retry_in


def _update_grouped(model: type[Model], objects: list[Any], fields: list[str]) -> None:
    """Save ``fields`` of many rows with one UPDATE per distinct set of values:
    a batch mostly ends the same way (acknowledged now), and Django's
    ``bulk_update`` builds a CASE per row and field, which costs more CPU than
    the round trips it saves."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for obj in objects:
        groups.setdefault(tuple(getattr(obj, f) for f in fields), []).append(obj.pk)
    for values, pks in groups.items():
        model._default_manager.filter(pk__in=pks).update(**dict(zip(fields, values, strict=True)))


def _record(results: list[tuple[Claimed, _Answer]]) -> None:
    """Record every answer of a batch in one transaction: the messages' new
    state, each attempt, and each first disclosure in the audit log (last, so
    the audit chain's lock is held only for the commit)."""
    now = timezone.now()
    by_pk = {c.message.pk: c for c, _ in results}
    with transaction.atomic():
        locked = {
            m.pk: m
            for m in OutboundMessage.objects.select_for_update(of=("self",))
            .select_related(
                "partner__organisation", "on_behalf_of__user", "on_behalf_of__organisation"
            )
            .filter(pk__in=by_pk)
            .defer("bundle")
            .order_by("pk")
        }
        retries: dict[float, list[int]] = {}
        disclosed: list[tuple[OutboundMessage, DisclosureDecision]] = []
        for claimed, answer in results:
            message, attempt = locked[claimed.message.pk], claimed.attempt
            retry_in = _settle(message, answer, now)
            # Any HTTP answer means the partner received the data.
            if (
                answer.http_status is not None
                and message.citizen_id is not None
                and message.disclosed_at is None
            ):
                message.disclosed_at = now
                disclosed.append((message, claimed.disclosure))
            attempt.finished_at = now
            attempt.outcome = answer.outcome
            attempt.http_status = answer.http_status
            attempt.error_code = answer.error_code
            attempt.detail = answer.detail[:500]
            attempt.retry_in_seconds = retry_in
            if retry_in is not None and retry_in <= COUNTDOWN_LIMIT_SECONDS:
                retries.setdefault(round(retry_in, 1), []).append(message.pk)
        # next_attempt_at is written only where it was changed (it differs per row).
        retrying = (OutboundMessage.Status.PENDING, OutboundMessage.Status.AWAITING_ACK)
        _update_grouped(
            OutboundMessage,
            [m for m in locked.values() if m.status in retrying],
            [*_RECORDED_FIELDS, "next_attempt_at"],
        )
        _update_grouped(
            OutboundMessage,
            [m for m in locked.values() if m.status not in retrying],
            _RECORDED_FIELDS,
        )
        _update_grouped(
            DeliveryAttempt,
            [c.attempt for c, _ in results],
            ["finished_at", "outcome", "http_status", "error_code", "detail", "retry_in_seconds"],
        )
        for message, decision in disclosed:
            _audit_disclosure(message, decision)
        for countdown, pks in retries.items():
            transaction.on_commit(lambda pks=pks, c=countdown: _dispatch(pks, countdown=c))  # type: ignore[misc]


def outbox_deliver(*, message_pks: list[int]) -> dict[int, str]:
    """Deliver those of ``message_pks`` that are due: claim, POST each (one
    kept-alive connection per partner), record. Returns each claimed
    message's attempt outcome, or ``withheld``; messages not claimed (already
    sent, not yet due, or held by another worker) are left out."""
    now = timezone.now()
    claimed, withheld = _claim(message_pks, now)
    results: list[tuple[Claimed, _Answer]] = []
    unreachable: set[int] = set()
    for c in claimed:
        if c.message.partner_id in unreachable:
            # The partner gave no answer a moment ago: do not hold the worker
            # for another timeout; this attempt backs off like the first.
            answer = _Answer(
                DeliveryAttempt.Outcome.NETWORK,
                None,
                "network.unreachable",
                "not tried: the partner did not answer earlier in this batch",
            )
        else:
            answer = _post(c.message)
            if answer.http_status is None:
                unreachable.add(c.message.partner_id)
        results.append((c, answer))
    if results:
        _record(results)
    outcomes = {c.message.pk: answer.outcome for c, answer in results}
    outcomes.update(dict.fromkeys(withheld, OutboundMessage.Status.WITHHELD.value))
    return outcomes


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
        if due:
            transaction.on_commit(lambda: _dispatch(due))
    return due


def outbox_resend(*, message: OutboundMessage, by: Actor) -> OutboundMessage:
    """A person re-sends a failed or withheld message: a new round of
    attempts. A withheld message goes only if the refusal no longer covers it
    (withdrawn, or a break-the-glass for an admission); delivery asks again."""
    with transaction.atomic():
        locked = OutboundMessage.objects.select_for_update().get(pk=message.pk)
        if locked.status not in (OutboundMessage.Status.FAILED, OutboundMessage.Status.WITHHELD):
            raise PreconditionFailed(
                "outbox.not_failed", "Only a message that failed or was withheld can be re-sent."
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
        transaction.on_commit(lambda: _dispatch([pk]))
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
            transaction.on_commit(lambda: _dispatch([pk]))
    return True
