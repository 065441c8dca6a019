"""Recall of a lot (*tilbagekaldelse*): blocked everywhere, and where it is held."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from consent.audit.services import Action
from core.actors import Actor
from core.errors import (
    Conflict,
    Forbidden,
)
from core.models import Role
from core.validation import required_text
from medicine_cabinet import selectors
from medicine_cabinet.models import (
    Balance,
    Lot,
    Notification,
)
from medicine_cabinet.services.checks import (
    acute_organisation,
)
from medicine_cabinet.services.ledger import operation_audit, quantity_text
from medicine_cabinet.services.notifications import notify


def lot_recall(*, actor: Actor, lot: Lot, reason: str) -> list[Balance]:
    """Block a lot everywhere (*tilbagekaldelse*) and say where it is now."""
    organisation = acute_organisation(actor)
    if actor.role != Role.MEDICINE_OFFICER:
        raise Forbidden("recall.role", "Only the medicine officer recalls a lot.")
    reason = required_text(
        reason,
        code="recall.reason_missing",
        field="reason",
        message="Give the reason for the recall.",
    )
    with transaction.atomic():
        locked = Lot.objects.select_for_update().get(pk=lot.pk)
        if locked.is_recalled:
            raise Conflict("lot.already_recalled", "This lot is already recalled.")
        locked.recalled_at = timezone.now()
        locked.recall_reason = reason[:300]
        locked.recalled_by = actor.user
        locked.save(update_fields=["recalled_at", "recall_reason", "recalled_by"])
        lot.recalled_at, lot.recall_reason = locked.recalled_at, locked.recall_reason
        holding = selectors.lot_holdings(organisation=organisation, lot=locked)
        where = ", ".join(f"{b.location.name}: {quantity_text(b.quantity)}" for b in holding)
        notify(
            organisation=organisation,
            kind=Notification.Kind.RECALL,
            key=f"recall:{locked.pk}",
            message=(
                f"Lot {locked.batch_number} of {locked.medicine} is recalled."
                f" Held in: {where or 'nowhere'}."
            ),
            medicine=locked.medicine,
            lot=locked,
        )
        operation_audit(
            actor=actor,
            action=Action.UPDATE,
            resource_type="Lot",
            resource_id=str(locked.pk),
            reason_code="recall",
            detail={
                "held_in": [
                    {"location": b.location_id, "quantity": str(b.quantity)} for b in holding
                ]
            },
        )
    return holding
