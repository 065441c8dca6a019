"""A person has dealt with a failed or withheld hand-off another way.

A message the partner refused, one given up on, one parked for breaking
MedCom's rules and one withheld under the citizen's refusal (R4) each stay on
the coordinator's board until a person acts. Re-sending is one way; the
other is that she phoned the recipient, or that nothing is owed any more
(the refusal stands): she marks it handled and it leaves the board, kept
for the record with who and when. Without this the board, oldest first,
would fill with what was long dealt with and hide what is new.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from consent.audit.services import Action, Purpose, audit_record
from core.actors import Actor
from core.errors import Conflict, PreconditionFailed
from integrations.models import OutboundMessage

HANDLED = "outbox.handled"
RESENT = "outbox.resent"


def outbox_action_audit(*, message: OutboundMessage, by: Actor, reason: str) -> None:
    """A coordinator's action on a hand-off about a citizen (R9), in the
    transaction of the action itself."""
    if message.citizen_id:
        audit_record(
            actor=by,
            action=Action.UPDATE,
            purpose=Purpose.OPERATIONS,
            citizen_id=message.citizen_id,
            resource_type="Bundle",
            resource_id=str(message.bundle_id),
            reason_code=reason,
        )


def outbox_mark_handled(*, message: OutboundMessage, by: Actor) -> OutboundMessage:
    """Mark a failed or withheld ``message`` as dealt with by ``by``: it
    leaves the board. One still on its way is not a person's to close
    (412 ``outbox.not_failed``); a second mark is a conflict, the first
    stands (409 ``outbox.already_handled``)."""
    with transaction.atomic():
        locked = OutboundMessage.objects.select_for_update().get(pk=message.pk)
        if locked.status not in (OutboundMessage.Status.FAILED, OutboundMessage.Status.WITHHELD):
            raise PreconditionFailed(
                "outbox.not_failed",
                "Only a message that failed or was withheld can be marked handled.",
            )
        if locked.handled_at is not None:
            raise Conflict(
                "outbox.already_handled", "Another coordinator has already handled the message."
            )
        locked.handled_at = timezone.now()
        locked.handled_by = by.membership
        locked.save(update_fields=["handled_at", "handled_by"])
        outbox_action_audit(message=locked, by=by, reason=HANDLED)
    return locked
