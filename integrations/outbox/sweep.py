"""The sweeper, run by beat: whatever is due goes, nothing waits forever.

A row whose first hand-over was lost with the broker, whose back-off ended,
whose lease expired (the worker died mid-delivery), or whose acknowledgement
never came (re-sent a bounded number of times, then parked for a person).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from integrations.models import DeliveryAttempt, OutboundMessage
from integrations.outbox.queue import deliver_later
from integrations.outbox.renew import envelope_renew


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
                renewed = envelope_renew(message, at=real_now)
                message.save(
                    update_fields=["status", "resends", "attempts", "next_attempt_at", *renewed]
                )
        # Moving the clock (tests) makes later-due rows due now, so the worker takes them.
        pending = OutboundMessage.objects.filter(
            status=OutboundMessage.Status.PENDING, next_attempt_at__lte=now
        )
        due = list(pending.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
        if now > real_now and due:
            OutboundMessage.objects.filter(pk__in=due).update(next_attempt_at=real_now)
        if due:
            transaction.on_commit(lambda: deliver_later(due))
    return due
