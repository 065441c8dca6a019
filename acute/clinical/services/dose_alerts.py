"""A dose given against an order before the physician corrected or cancelled
it, booked after that (the tablet queued it without a connection): the dose
left the bag and is booked, and the physician is told at once (R8), with the
order the dose was given against and, for a correction, the order that took
its place and counts it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils.translation import gettext_noop

from acute.clinical import signals
from acute.clinical.audit import clinical_audit
from acute.clinical.models import MedicationOrder, PhysicianAlert
from consent.audit.services import Action
from core.actors import Actor
from core.times import shown
from core.units import unit_label

DOSE_AFTER_CORRECTION = gettext_noop(
    "A dose of %(medicine)s (%(amount)s) given %(given)s against phone order no. %(order)s"
    " was recorded after order no. %(correction)s corrected it, and counts against that"
    " order. Check what the citizen has had."
)
DOSE_AFTER_CANCELLATION = gettext_noop(
    "A dose of %(medicine)s (%(amount)s) given %(given)s against order no. %(order)s"
    " was recorded after the order was cancelled. Check what the citizen has had."
)


def late_dose_alert_raise(
    *,
    actor: Actor,
    order: MedicationOrder,
    given_at: dt.datetime,
    amount: Decimal,
) -> PhysicianAlert | None:
    """Tell the physician of a dose booked against ``order`` after it was
    cancelled or corrected (given before that, as the cabinet checked): one
    alert per dose, raised in the booking's transaction, so a dose sent again
    is told once. Nothing for an order in force. To the ordering physician
    (or her organisation), else to the acute function that took the order;
    shown on the visit, to its nurse and the coordinators, until seen."""
    if order.status != MedicationOrder.Status.CANCELLED:
        return None
    correction = MedicationOrder.objects.filter(corrects=order).values_list("pk", flat=True).first()
    # The medicine and the amount keep the machine's decimal point: the
    # message shows them with the reader's (``PhysicianAlert.shown_message``).
    params: dict[str, object] = {
        "medicine": order.medicine_name,
        "amount": f"{Decimal(amount).normalize():f} {unit_label(order.dose_unit)}",
        "given": shown(given_at, "d-m-Y H:i"),
        "order": order.pk,
    }
    if correction is not None:
        kind, message = PhysicianAlert.Kind.DOSE_AFTER_CORRECTION, DOSE_AFTER_CORRECTION
        params["correction"] = correction
    else:
        kind, message = PhysicianAlert.Kind.DOSE_AFTER_CANCELLATION, DOSE_AFTER_CANCELLATION
    known = order.ordering_physician_id is not None or order.ordering_organisation_id is not None
    alert = PhysicianAlert(
        kind=kind,
        citizen_id=order.citizen_id,
        recipient_id=order.ordering_physician_id if known else None,
        recipient_organisation_id=(
            order.ordering_organisation_id if known else order.recorded_by_organisation_id
        ),
        medication_order=order,
        visit_id=order.visit_id,
        message=message,
        params=params,
    )
    alert.save(force_insert=True)
    clinical_audit(
        actor,
        Action.CREATE,
        alert,
        {"kind": kind, "order": order.pk, **({"correction": correction} if correction else {})},
    )
    signals.physician_alert_raised.send(sender=PhysicianAlert, alert=alert)
    return alert
