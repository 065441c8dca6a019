"""Delivering hand-offs: claim a batch, send each message, record every answer.

:func:`outbox_deliver` claims a batch of rows under row locks with a lease
(one attempt row each), sends them outside any transaction through each
partner's transport (:mod:`integrations.adapters`), then records every answer
in one transaction. The receiver de-duplicates by Bundle.id and
MessageHeader.id, so a repeat after a crash is answered with the original
acknowledgement and processed once.

A partner hears about one citizen in the order things happened: a message
waits while an earlier one to the same partner about the same citizen is
still to be sent or is being sent (1813 must never see "nurse en route" after
"completed"). When that one is sent, given up or withheld, the next is handed
to a worker at once; the sweeper takes it otherwise.

R4 is asked again at each claim (:mod:`integrations.disclosure`): a refusal
recorded since the message was written withholds it. The first time a
partner receives a message that carries citizen data, the disclosure is
written to the audit log (R9), by the task on behalf of the person who caused
the event.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F, Max, Model
from django.utils import timezone

from consent.audit.services import Action, audit_record
from integrations.adapters import DeliveryAnswer
from integrations.disclosure import (
    NO_REFUSAL,
    DisclosureDecision,
    directives_in_force,
    disclosure_actor,
    disclosure_decide,
    disclosure_withhold,
)
from integrations.models import (
    PARTNER_INACTIVE,
    PARTNER_NO_ADDRESS,
    REASONS_IN_THEIR_WORDS,
    DeliveryAttempt,
    OutboundMessage,
    ReceivedAcknowledgement,
)
from integrations.outbox.acknowledge import (
    AckSettles,
    acknowledgement_judged,
    acknowledgement_remembered,
    acknowledgements_seen,
)
from integrations.outbox.queue import DELIVER_TASK, deliver_later
from integrations.outbox.renew import envelope_renew
from integrations.partners import adapter_for

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class Claimed:
    message: OutboundMessage
    attempt: DeliveryAttempt
    disclosure: DisclosureDecision


Line = tuple[int, int]  # (partner, citizen): the messages that keep their order


def _line(message: OutboundMessage) -> Line | None:
    return None if message.citizen_id is None else (message.partner_id, message.citizen_id)


UNSENT = (OutboundMessage.Status.PENDING, OutboundMessage.Status.SENDING)


def _first_in_line(messages: list[OutboundMessage]) -> list[OutboundMessage]:
    """Of the locked ``messages`` (in order of writing), those that go now:
    for each partner and citizen only the oldest, and only if no older
    message to that partner about that citizen is still unsent."""
    lines = {line for m in messages if (line := _line(m)) is not None}
    if not lines:
        return messages
    oldest_unsent: dict[Line, int] = {}
    for partner_id, citizen_id, pk in (
        OutboundMessage.objects.filter(
            status__in=UNSENT,
            partner_id__in={p for p, _ in lines},
            citizen_id__in={c for _, c in lines},
            pk__lt=messages[-1].pk,
        )
        .order_by("pk")
        .values_list("partner_id", "citizen_id", "pk")
    ):
        oldest_unsent.setdefault((partner_id, citizen_id), pk)
    going: list[OutboundMessage] = []
    taken: set[Line] = set()
    for message in messages:
        line = _line(message)
        if line is not None:
            if line in taken or oldest_unsent.get(line, message.pk) < message.pk:
                continue  # waits its turn; handed on when the one before is settled
            taken.add(line)
        going.append(message)
    return going


def _next_in_line(settled: list[OutboundMessage], now: dt.datetime) -> list[int]:
    """The oldest due message behind each of ``settled`` (sent, given up or
    withheld), to be handed to a worker once this transaction commits."""
    lines = {line for m in settled if (line := _line(m)) is not None}
    if not lines:
        return []
    nexts: dict[Line, int] = {}
    for partner_id, citizen_id, pk in (
        OutboundMessage.objects.filter(
            status=OutboundMessage.Status.PENDING,
            partner_id__in={p for p, _ in lines},
            citizen_id__in={c for _, c in lines},
            next_attempt_at__lte=now,
        )
        .order_by("pk")
        .values_list("partner_id", "citizen_id", "pk")
    ):
        if (partner_id, citizen_id) in lines:
            nexts.setdefault((partner_id, citizen_id), pk)
    return sorted(nexts.values())


def _claim(message_pks: list[int], now: dt.datetime) -> tuple[list[Claimed], list[int], list[int]]:
    """Lock the due messages among ``message_pks`` (others hold the rest), ask
    R4 again, park those whose partner has been deactivated, and open one
    attempt for each message that may go."""
    with transaction.atomic():
        messages = list(
            OutboundMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("partner__organisation", "on_behalf_of__user", "recipient")
            .filter(
                pk__in=message_pks,
                status=OutboundMessage.Status.PENDING,
                next_attempt_at__lte=now,
            )
            .order_by("pk")
        )
        messages = _first_in_line(messages)
        if not messages:
            return [], [], []
        directives = directives_in_force(
            [m.citizen_id for m in messages if m.citizen_id is not None], at=now
        )
        sending: list[OutboundMessage] = []
        decisions: list[DisclosureDecision] = []
        withheld: list[int] = []
        parked: list[int] = []
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
            if not message.partner.in_service:
                # Deactivated since the message was written: parked for a person.
                _park(message, PARTNER_INACTIVE, "is deactivated", now)
                parked.append(message.pk)
                continue
            if not adapter_for(message.partner.kind).transport.addressed(message.partner):
                # Nowhere to send it (no endpoint configured): a person phones
                # or gives the partner its address, instead of hours of
                # attempts at nothing.
                _park(message, PARTNER_NO_ADDRESS, "has no address to send to", now)
                parked.append(message.pk)
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
        if withheld or parked:
            _hand_on([m for m in messages if m.pk in {*withheld, *parked}], now)
        if not sending:
            return [], withheld, parked
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
    return claimed, withheld, parked


def _park(message: OutboundMessage, code: str, why: str, now: dt.datetime) -> None:
    """Fail ``message`` before any attempt: it waits on the board for a person."""
    message.status = OutboundMessage.Status.FAILED
    message.failed_at = now
    message.last_error_code = code
    message.last_error = f"partner {message.partner.code} {why}"
    message.save(update_fields=["status", "failed_at", "last_error_code", "last_error"])
    log.warning("outbound message %s to %s parked: %s", message.pk, message.partner.code, code)


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


def _settle(message: OutboundMessage, answer: DeliveryAnswer, now: dt.datetime) -> float | None:
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
        # The receiver's own words stand alone where the coordinator's board
        # quotes them (after its Danish "given up after n attempts").
        message.last_error = (
            detail
            if outcome == DeliveryAttempt.Outcome.FATAL
            or (detail and error_code in REASONS_IN_THEIR_WORDS)
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


def _heeded(
    results: list[tuple[Claimed, DeliveryAnswer]],
) -> list[tuple[Claimed, DeliveryAnswer]]:
    """The answers as they count: one whose acknowledgement the partner sent
    before (the same MessageHeader.id or Bundle.id, as its own message or in
    an earlier answer) counts by its HTTP status alone. MedCom 043: a
    message received twice is processed once, an acknowledgement too; a
    transient-error seen again asks for nothing again. Read under the
    messages' locks, which the acknowledgement door takes too."""
    acks = [a.acknowledgement for _, a in results if a.acknowledgement is not None]
    if not acks:
        return results
    seen = acknowledgements_seen(
        {c.message.partner_id for c, a in results if a.acknowledgement is not None},
        [a.bundle_id for a in acks],
        [a.header_id for a in acks],
    )
    seen_bundles = {(p, b) for p, b, _ in seen}
    seen_headers = {(p, h) for p, _, h in seen}
    heeded: list[tuple[Claimed, DeliveryAnswer]] = []
    for claimed, answer in results:
        ack, partner_id = answer.acknowledgement, claimed.message.partner_id
        if ack is not None and (
            (partner_id, ack.bundle_id[:64]) in seen_bundles
            or (partner_id, ack.header_id[:64]) in seen_headers
        ):
            log.info(
                "acknowledgement in the answer to message %s repeats one received before",
                claimed.message.pk,
            )
            answer = ack.unheeded
        heeded.append((claimed, answer))
    return heeded


def _update_grouped(model: type[Model], objects: Sequence[Model], fields: list[str]) -> None:
    """Save ``fields`` of many rows with one UPDATE per distinct set of values:
    a batch mostly ends the same way (acknowledged now), and Django's
    ``bulk_update`` builds a CASE per row and field, which costs more CPU than
    the round trips it saves."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for obj in objects:
        groups.setdefault(tuple(getattr(obj, f) for f in fields), []).append(obj.pk)
    for values, pks in groups.items():
        model._default_manager.filter(pk__in=pks).update(**dict(zip(fields, values, strict=True)))


def _record(results: list[tuple[Claimed, DeliveryAnswer]]) -> None:
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
        renewing: list[OutboundMessage] = []
        remembered: list[ReceivedAcknowledgement] = []
        for claimed, answer in _heeded(results):
            message, attempt = locked[claimed.message.pk], claimed.attempt
            ack = answer.acknowledgement
            if ack is not None:
                # Remembered as one sent as a message is: a copy of it later,
                # either way, is answered as this one and settles nothing.
                # One overtaken by another answer is judged by that first one.
                settles = (
                    AckSettles.SETTLED
                    if message.status == OutboundMessage.Status.SENDING
                    else acknowledgement_judged(message, ack.code, partner=message.partner)
                    or AckSettles.REPEATED
                )
                remembered.append(
                    acknowledgement_remembered(
                        partner=message.partner,
                        bundle_id=ack.bundle_id,
                        header_id=ack.header_id,
                        answering=str(message.message_id),
                        code=ack.code,
                        settles=settles,
                    )
                )
            retry_in = _settle(message, answer, now)
            if retry_in is not None and answer.reached:
                # The partner received it and asked for it again (a
                # transient-error, a busy server): what goes next is a
                # resend, in a new envelope (MedCom 043, scenario 3).
                renewing.append(message)
            # Any answer means the partner received the data.
            if answer.reached and message.citizen_id is not None and message.disclosed_at is None:
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
        # A copy kept first (the same ids, under the same lock) stands.
        ReceivedAcknowledgement.objects.bulk_create(remembered, ignore_conflicts=True)
        for message, decision in disclosed:
            _audit_disclosure(message, decision)
        # After the disclosures, which name the Bundle the partner received.
        for message in renewing:
            message.save(update_fields=envelope_renew(message, at=now))
        for countdown, pks in retries.items():
            transaction.on_commit(lambda pks=pks, c=countdown: deliver_later(pks, countdown=c))  # type: ignore[misc]
        _hand_on([m for m in locked.values() if m.status not in UNSENT], now)


def _hand_on(settled: list[OutboundMessage], now: dt.datetime) -> None:
    """After commit, hand a worker the messages that waited for ``settled``."""
    waiting = _next_in_line(settled, now)
    if waiting:
        transaction.on_commit(lambda: deliver_later(waiting))


def outbox_deliver(*, message_pks: list[int]) -> dict[int, str]:
    """Deliver those of ``message_pks`` that are due: claim, POST each (one
    kept-alive connection per partner), record. Returns each claimed
    message's attempt outcome, or ``withheld``; messages not claimed (already
    sent, not yet due, or held by another worker) are left out."""
    now = timezone.now()
    claimed, withheld, parked = _claim(message_pks, now)
    results: list[tuple[Claimed, DeliveryAnswer]] = []
    unreachable: set[int] = set()
    for c in claimed:
        if c.message.partner_id in unreachable:
            # The partner gave no answer a moment ago: do not hold the worker
            # for another timeout; this attempt backs off like the first.
            answer = DeliveryAnswer(
                DeliveryAttempt.Outcome.NETWORK,
                None,
                "network.unreachable",
                "not tried: the partner did not answer earlier in this batch",
            )
        else:
            partner = c.message.partner
            answer = adapter_for(partner.kind).transport.deliver(partner=partner, message=c.message)
            if not answer.reached:
                unreachable.add(c.message.partner_id)
        results.append((c, answer))
    if results:
        _record(results)
    outcomes = {c.message.pk: answer.outcome for c, answer in results}
    outcomes.update(dict.fromkeys(withheld, OutboundMessage.Status.WITHHELD.value))
    outcomes.update(dict.fromkeys(parked, OutboundMessage.Status.FAILED.value))
    return outcomes
