"""The watch jobs: low stock, lots about to expire, and counts overdue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy, gettext_noop

from core.models import Organisation
from medicine_cabinet import selectors
from medicine_cabinet.models import (
    Lot,
    Medicine,
    Notification,
)
from medicine_cabinet.services.formulary import medicine_label
from medicine_cabinet.services.notifications import notify

EXPIRY_WINDOWS = (
    (30, Notification.Kind.EXPIRES_30),
    (60, Notification.Kind.EXPIRES_60),
    (90, Notification.Kind.EXPIRES_90),
)


def stock_watch_low(*, organisation: Organisation) -> int:
    """Low stock: usable units across the cabinets and bags below the medicine's minimum."""
    made = 0
    totals = selectors.usable_totals(organisation=organisation, today=timezone.localdate())
    for medicine in Medicine.objects.filter(is_active=True, minimum_stock__gt=0):
        total = totals.get(medicine.pk, Decimal("0"))
        if total < medicine.minimum_stock:
            made += notify(
                organisation=organisation,
                kind=Notification.Kind.LOW_STOCK,
                key=f"low_stock:{medicine.pk}",
                message=gettext_noop(
                    "%(medicine)s: %(usable)s %(unit)s usable, minimum %(minimum)s."
                ),
                params={
                    "medicine": medicine_label(medicine),
                    "usable": total,
                    "unit": gettext_lazy(medicine.unit),
                    "minimum": medicine.minimum_stock,
                },
                medicine=medicine,
            )
    return made


def stock_watch_expiry(*, organisation: Organisation, today: dt.date | None = None) -> int:
    """Lots held anywhere that expire within 30, 60 or 90 days (the nearest window only)."""
    today = today or timezone.localdate()
    made = 0
    lots = (
        Lot.objects.filter(
            recalled_at__isnull=True,
            expires_on__lte=today + dt.timedelta(days=90),
            balances__quantity__gt=0,
            balances__location__organisation=organisation,
        )
        .distinct()
        .select_related("medicine")
    )
    for lot in lots:
        days = (lot.expires_on - today).days
        kind = next(k for limit, k in EXPIRY_WINDOWS if days <= limit)
        made += notify(
            organisation=organisation,
            kind=kind,
            key=f"{kind}:{lot.pk}",
            message=gettext_noop("Lot %(lot)s of %(medicine)s expires %(date)s."),
            params={
                "lot": lot.batch_number,
                "medicine": medicine_label(lot.medicine),
                "date": f"{lot.expires_on:%d-%m-%Y}",
            },
            medicine=lot.medicine,
            lot=lot,
        )
    return made


def count_watch_overdue(*, organisation: Organisation, now: dt.datetime | None = None) -> int:
    made = 0
    for location, last in selectors.counts_overdue(
        organisation=organisation, now=now or timezone.now()
    ):
        made += notify(
            organisation=organisation,
            kind=Notification.Kind.COUNT_OVERDUE,
            key=f"count_overdue:{location.pk}",
            message=gettext_noop("%(location)s is due for a count (last approved %(date)s).")
            if last
            else gettext_noop("%(location)s is due for a count (never counted)."),
            params={
                "location": location.name,
                "date": f"{timezone.localtime(last):%d-%m-%Y}" if last else "",
            },
            location=location,
        )
    return made


def cabinet_watch(*, now: dt.datetime | None = None) -> dict[str, int]:
    """All three watches for every acute function; idempotent."""
    made = {"low_stock": 0, "expiry": 0, "count_overdue": 0}
    for organisation in Organisation.objects.filter(
        kind=Organisation.Kind.ACUTE_FUNCTION, is_active=True
    ):
        made["low_stock"] += stock_watch_low(organisation=organisation)
        made["expiry"] += stock_watch_expiry(organisation=organisation)
        made["count_overdue"] += count_watch_overdue(organisation=organisation, now=now)
    return made
