"""Reads of the hand-off state, for the coordinator's board and /healthz."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from core.times import api_instant
from integrations.models import (
    CareMessage,
    CareThread,
    DeliveryAttempt,
    InboundMessage,
    OutboundMessage,
)

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


def care_threads_awaiting_answer(*, referrals: dict[int, int]) -> set[int]:
    """Of ``referrals`` (referral id → citizen id), those with a partner's
    CareCommunication the acute function has not answered: a thread shown
    on the referral (its own, or its citizen's outside any referral) whose
    latest segment came from the partner. The message was acknowledged
    ``ok``, so the partner waits for an answer; the board says so until
    someone replies in the thread. Ids only, no message content."""
    if not referrals:
        return set()
    # The order segments arrived in: ``written_at`` is the author's own
    # stamp, which a partner may set to any time.
    latest = CareMessage.objects.filter(thread=OuterRef("pk")).order_by("-pk").values("direction")
    threads = (
        CareThread.objects.filter(citizen_id__in=set(referrals.values()))
        .filter(Q(referral_id__in=referrals.keys()) | Q(referral__isnull=True))
        .annotate(latest=Subquery(latest[:1]))
        .filter(latest=CareMessage.Direction.IN)
        .values_list("referral_id", "citizen_id")
    )
    waiting: set[int] = set()
    for referral_id, citizen_id in threads:
        if referral_id is not None:
            waiting.add(referral_id)
        else:
            waiting.update(r for r, c in referrals.items() if c == citizen_id)
    return waiting


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
        "oldest_undelivered_at": api_instant(oldest),
        "oldest_undelivered_age_seconds": round((timezone.now() - oldest).total_seconds(), 1)
        if oldest
        else None,
    }
