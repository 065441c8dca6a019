"""Reads of the hand-off state, for the coordinator's board and /healthz."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from integrations.models import DeliveryAttempt, InboundMessage, OutboundMessage

UNDELIVERED = (
    OutboundMessage.Status.PENDING,
    OutboundMessage.Status.SENDING,
    OutboundMessage.Status.AWAITING_ACK,
)


def outbox_problems(*, status: str | None = None) -> QuerySet[OutboundMessage]:
    """Messages a person should look at: failed (parked), withheld (R4: the
    citizen refused disclosure to the recipient) and the undelivered, oldest
    first. No message bodies: the board shows who, what,
    why, never the citizen data inside."""
    statuses = (
        [status]
        if status
        else [OutboundMessage.Status.FAILED, OutboundMessage.Status.WITHHELD, *UNDELIVERED]
    )
    return (
        # One a person has marked handled is dealt with: kept, off the board.
        OutboundMessage.objects.filter(status__in=statuses, handled_at__isnull=True)
        .select_related("partner__organisation", "resent_by__user", "handled_by__user")
        .defer("bundle")
        .order_by("created_at", "pk")
    )


def inbox_refusals() -> QuerySet[InboundMessage]:
    """Messages from partners the platform refused (fatal-error) that no
    coordinator has seen yet, oldest first: a referral refused is a citizen
    nobody goes to unless someone phones the sender. No message bodies and no
    citizen: the board shows from whom, what, when and why."""
    return (
        InboundMessage.objects.filter(outcome=InboundMessage.Outcome.FATAL, noted_at__isnull=True)
        .select_related("partner__organisation")
        .defer("acknowledgement", "result")
        .order_by("received_at", "pk")
    )


def inbox_refusal(*, pk: int) -> InboundMessage | None:
    return (
        InboundMessage.objects.filter(pk=pk, outcome=InboundMessage.Outcome.FATAL)
        .select_related("partner__organisation")
        .defer("acknowledgement", "result")
        .first()
    )


def outbox_attempts(*, message: OutboundMessage) -> QuerySet[DeliveryAttempt]:
    return DeliveryAttempt.objects.filter(message=message).order_by("number")


def outbox_message(*, pk: int) -> OutboundMessage | None:
    return (
        OutboundMessage.objects.select_related("partner", "resent_by__user", "handled_by__user")
        .defer("bundle")
        .filter(pk=pk)
        .first()
    )


def outbox_health() -> dict[str, Any]:
    """Counts by state and the age of the oldest undelivered message. A
    failed or withheld message a coordinator has marked handled needs
    nobody any more and is not counted."""
    counts = dict(
        OutboundMessage.objects.filter(
            Q(status__in=UNDELIVERED)
            | Q(
                status__in=[OutboundMessage.Status.FAILED, OutboundMessage.Status.WITHHELD],
                handled_at__isnull=True,
            )
        )
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    oldest = OutboundMessage.objects.filter(status__in=UNDELIVERED).aggregate(at=Min("created_at"))[
        "at"
    ]
    return {
        "undelivered": sum(counts.get(s, 0) for s in UNDELIVERED),
        "failed": counts.get(OutboundMessage.Status.FAILED, 0),
        "withheld": counts.get(OutboundMessage.Status.WITHHELD, 0),
        "by_status": counts,
        "oldest_undelivered_at": oldest.isoformat() if oldest else None,
        "oldest_undelivered_age_seconds": round((timezone.now() - oldest).total_seconds(), 1)
        if oldest
        else None,
    }
