"""The watch job that reminds physicians of phone orders left unconfirmed."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from acute.clinical import signals
from acute.clinical.models import (
    MedicationOrder,
    PhysicianAlert,
)
from acute.clinical.services.orders import order_audit
from consent.audit.services import Action
from core.actors import Actor

# The watch's messages are msgids with their values kept beside them
# (``PhysicianAlert.params``): each reader reads them in her own language.
CONFIRMATION_REMINDER = gettext_noop("Please confirm your phone order of %(medicine)s.")
CONFIRMATION_ESCALATION = gettext_noop(
    "Phone order of %(medicine)s from %(physician)s is not confirmed in time."
)
PRESCRIPTION_OVERDUE = gettext_noop("The prescription for %(medicine)s is not marked sent.")


def _medicine(order: MedicationOrder) -> dict[str, object]:
    return {"medicine": order.medicine_name}


def _medicine_and_physician(order: MedicationOrder) -> dict[str, object]:
    return {"medicine": order.medicine_name, "physician": order.ordered_by_name}


@dataclass(frozen=True)
class WatchFigures:
    reminded: int
    escalated: int
    prescriptions_overdue: int


def _watch_alert(
    *,
    actor: Actor,
    order: MedicationOrder,
    kind: str,
    to_coordinators: bool,
    message: str,
    params: dict[str, object],
) -> PhysicianAlert:
    # To the physician (or her organisation); escalations, and orders from a
    # physician unknown to the platform, go to the acute function's coordinators.
    to_physician = not to_coordinators and (
        order.ordering_physician_id is not None or order.ordering_organisation_id is not None
    )
    recipient_id = order.ordering_physician_id if to_physician else None
    organisation_id = (
        order.ordering_organisation_id if to_physician else order.recorded_by_organisation_id
    )
    alert = PhysicianAlert(
        kind=kind,
        citizen_id=order.citizen_id,
        recipient_id=recipient_id,
        recipient_organisation_id=organisation_id,
        medication_order=order,
        visit_id=order.visit_id,
        message=message,
        params=params,
    )
    alert.save(force_insert=True)
    # The work of the acute function that recorded the order: its log entry names it (R5).
    for_function = dataclasses.replace(actor, caused_by=order.recorded_by_organisation)
    order_audit(for_function, order, Action.UPDATE, {"alert": kind})
    signals.physician_alert_raised.send(sender=PhysicianAlert, alert=alert)
    return alert


def _alert_each(
    *,
    actor: Actor,
    orders: QuerySet[MedicationOrder],
    kind: str,
    to_coordinators: bool,
    message: str,
    params: Callable[[MedicationOrder], dict[str, object]],
    stamp: str | None = None,
    now: dt.datetime,
) -> int:
    """Raise ``kind`` for each of ``orders`` that no other run holds, and stamp
    ``stamp`` with ``now`` so it is raised once; how many were raised."""
    raised = 0
    for order in orders.select_for_update(skip_locked=True):
        _watch_alert(
            actor=actor,
            order=order,
            kind=kind,
            to_coordinators=to_coordinators,
            message=message,
            params=params(order),
        )
        if stamp is not None:
            setattr(order, stamp, now)
            order.save(update_fields=[stamp])
        raised += 1
    return raised


def medication_orders_watch(*, now: dt.datetime | None = None) -> WatchFigures:
    """Remind the physician of a phone order awaiting confirmation, escalate to
    the acute function's coordinators once it is overdue, and flag prescriptions
    not sent in time. Safe to run twice: each alert exists once per order and kind."""
    now = now or timezone.now()
    actor = Actor.system("clinical.medication_orders_watch")
    remind_before = now - dt.timedelta(minutes=settings.CLINICAL_PHONE_ORDER_REMIND_AFTER_MINUTES)
    awaiting = MedicationOrder.objects.filter(status=MedicationOrder.Status.AWAITING_CONFIRMATION)
    with transaction.atomic():
        reminded = _alert_each(
            actor=actor,
            orders=awaiting.filter(reminded_at__isnull=True, recorded_at__lte=remind_before),
            kind=PhysicianAlert.Kind.CONFIRMATION_REMINDER,
            to_coordinators=False,
            message=CONFIRMATION_REMINDER,
            params=_medicine,
            stamp="reminded_at",
            now=now,
        )
        escalated = _alert_each(
            actor=actor,
            orders=awaiting.filter(escalated_at__isnull=True, confirm_by__lte=now),
            kind=PhysicianAlert.Kind.CONFIRMATION_ESCALATION,
            to_coordinators=True,
            message=CONFIRMATION_ESCALATION,
            params=_medicine_and_physician,
            stamp="escalated_at",
            now=now,
        )
        overdue = MedicationOrder.objects.filter(
            MedicationOrder.prescription_owed(), prescription_due_by__lte=now
        )
        prescriptions_overdue = _alert_each(
            actor=actor,
            orders=overdue.exclude(alerts__kind=PhysicianAlert.Kind.PRESCRIPTION_OVERDUE),
            kind=PhysicianAlert.Kind.PRESCRIPTION_OVERDUE,
            to_coordinators=False,
            message=PRESCRIPTION_OVERDUE,
            params=_medicine,
            now=now,
        )
    return WatchFigures(reminded, escalated, prescriptions_overdue)
