"""Watch jobs of the medicine cabinet, run by Celery beat (``worker/schedule.py``).

Each writes stored notifications for the medicine officer and is idempotent:
an open notification for the same condition is not raised twice.
"""

from __future__ import annotations

from celery import shared_task

from core.models import Organisation
from medicine_cabinet.services import count_watch_overdue, stock_watch_expiry, stock_watch_low


def _acute_functions() -> list[Organisation]:
    return list(Organisation.objects.filter(kind=Organisation.Kind.ACUTE_FUNCTION, is_active=True))


@shared_task(name="medicine_cabinet.watch_low_stock")
def watch_low_stock_task() -> int:
    return sum(stock_watch_low(organisation=org) for org in _acute_functions())


@shared_task(name="medicine_cabinet.watch_expiry")
def watch_expiry_task() -> int:
    return sum(stock_watch_expiry(organisation=org) for org in _acute_functions())


@shared_task(name="medicine_cabinet.watch_counts")
def watch_counts_task() -> int:
    return sum(count_watch_overdue(organisation=org) for org in _acute_functions())
