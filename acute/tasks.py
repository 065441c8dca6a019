"""Beat jobs of the acute function: they take no arguments, load and call a service."""

from __future__ import annotations

from celery import shared_task

from acute import services


@shared_task(name="acute.deadline_watch")
def deadline_watch() -> dict[str, int]:
    """Every minute: warn before deadlines are missed, escalate when they pass (R10)."""
    return services.deadline_watch()


@shared_task(name="acute.visits_expire_unanswered")
def visits_expire_unanswered() -> int:
    """Every minute: assignments not accepted in time move on."""
    return services.visits_expire_unanswered()


@shared_task(name="acute.planned_dispatch")
def planned_dispatch() -> int:
    """Every minute: a referral planned for later is sent a nurse when its hour comes."""
    return services.planned_referrals_dispatch()
