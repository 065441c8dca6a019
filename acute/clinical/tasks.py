from __future__ import annotations

from celery import shared_task

from acute.clinical.services import medication_orders_watch


@shared_task(name="acute.clinical.medication_orders_watch")
def medication_orders_watch_task() -> dict[str, int]:
    """Beat job: remind, escalate, flag overdue prescriptions (R8)."""
    figures = medication_orders_watch()
    return {
        "reminded": figures.reminded,
        "escalated": figures.escalated,
        "prescriptions_overdue": figures.prescriptions_overdue,
    }
