"""The coordinator's board (*tavlen*): referrals not yet reached, and the
deadline warnings not yet acknowledged."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from acute.models import DeadlineWarning, Referral, Visit
from acute.selectors.records import gated
from core.actors import Actor
from core.errors import InvalidInput

BOARD_LIMIT = 100


def referral_board(*, actor: Actor, status: str = "") -> list[Referral]:
    """The coordinator's board: referrals not yet reached (awaiting triage or a
    nurse), most urgent deadline first, with their active visit and open warnings."""
    qs = (
        Referral.objects.filter(reached_at__isnull=True)
        .select_related("citizen", "citizen__municipality")
        .prefetch_related(
            Prefetch(
                "visits",
                queryset=Visit.objects.filter(status__in=Visit.ACTIVE_STATUSES).select_related(
                    "nurse"
                ),
                to_attr="active_visits",
            ),
            Prefetch(
                "warnings",
                queryset=DeadlineWarning.objects.filter(acknowledged_at__isnull=True),
                to_attr="open_warnings",
            ),
        )
        .order_by("deadline_at", "pk")
    )
    if status:
        if status not in (Referral.Status.RECEIVED, Referral.Status.ACCEPTED):
            raise InvalidInput(
                "board.status_invalid", "Filter on received or accepted.", field="status"
            )
        qs = qs.filter(status=status)
    else:
        qs = qs.filter(status__in=[Referral.Status.RECEIVED, Referral.Status.ACCEPTED])
    return gated(actor, list(qs[:BOARD_LIMIT]), "ServiceRequest")


def warnings_open() -> QuerySet[DeadlineWarning]:
    """Deadline warnings not yet acknowledged (no citizen data: referral id, deadline)."""
    return (
        DeadlineWarning.objects.filter(acknowledged_at__isnull=True)
        .select_related("referral")
        .order_by("-raised_at", "pk")
    )
