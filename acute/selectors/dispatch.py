"""Who should go: what a referral needs of a nurse, and the nurses on shift
ranked for it by the dispatch rule (``acute.dispatch``)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from acute.dispatch import Need, Suggestion, rank
from acute.models import Referral, Visit
from acute.occurrence import dispatch_opens_at
from acute.selectors.nurses import nurse_states


def need_for(referral: Referral, *, deadline_at: dt.datetime | None = None) -> Need:
    """What the referral needs; one query over the episode's visits gives both
    continuity (who has been there) and who declined or did not answer."""
    seen_by: set[int] = set()
    excluded: set[int] = set()
    for nurse_id, status, on_site_at, referral_id, cancel_reason in Visit.objects.filter(
        episode_id=referral.episode_id
    ).values_list("nurse_id", "status", "on_site_at", "referral_id", "cancel_reason"):
        if status == Visit.Status.COMPLETED or on_site_at is not None:
            seen_by.add(nurse_id)
        if referral_id == referral.pk and cancel_reason in (
            Visit.CancelReason.DECLINED,
            Visit.CancelReason.NO_ANSWER,
        ):
            excluded.add(nurse_id)
    citizen = referral.citizen
    return Need(
        latitude=float(citizen.latitude),
        longitude=float(citizen.longitude),
        deadline_at=deadline_at or referral.deadline_at,
        required_skills=frozenset(referral.required_skills),
        seen_by=frozenset(seen_by),
        excluded_nurses=frozenset(excluded),
    )


def dispatch_rank(*, referral: Referral, now: dt.datetime | None = None) -> list[Suggestion]:
    """Ranked nurses for a referral (no audit: the caller's gate records the read).
    None for a visit planned for later, before its dispatch lead time."""
    now = now or timezone.now()
    if referral.planned_for is not None and now < dispatch_opens_at(referral.planned_for):
        return []
    need = need_for(referral)
    states = nurse_states(
        now=now,
        available_only=True,
        skills=need.required_skills,
        serving_municipality_id=referral.citizen.municipality_id,
    )
    return rank(states, need, now=now)
