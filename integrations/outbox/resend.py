"""A person re-sends a hand-off that failed or was withheld."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.actors import Actor
from core.errors import PreconditionFailed
from integrations.medcom.outbound import RULE_BROKEN
from integrations.models import PARTNER_FATAL, CareMessage, OutboundMessage
from integrations.outbox.handled import RESENT, outbox_action_audit
from integrations.outbox.queue import deliver_later
from integrations.outbox.renew import envelope_renew, message_renew


def outbox_resend(*, message: OutboundMessage, by: Actor) -> OutboundMessage:
    """A person re-sends a failed or withheld message: a new round of
    attempts. A withheld message goes only if the refusal no longer covers it
    (withdrawn, or a break-the-glass for an admission); delivery asks again.
    One the receiver refused goes as a new message (``message_renew``); one
    that breaks MedCom's rules is never sent."""
    with transaction.atomic():
        locked = OutboundMessage.objects.select_for_update().get(pk=message.pk)
        if locked.status not in (OutboundMessage.Status.FAILED, OutboundMessage.Status.WITHHELD):
            raise PreconditionFailed(
                "outbox.not_failed", "Only a message that failed or was withheld can be re-sent."
            )
        if locked.last_error_code == RULE_BROKEN:
            # Built with what broke the rule (the receiver's SOR or EAN): it
            # never goes; once the cause is fixed, the next message does.
            raise PreconditionFailed(
                "outbox.rule_broken",
                "A message that breaks MedCom's rules is never sent; correct the cause"
                " and the next message goes.",
            )
        now = timezone.now()
        locked.status = OutboundMessage.Status.PENDING
        locked.attempts = 0
        locked.resends = 0
        locked.next_attempt_at = now
        locked.resent_by = by.membership
        locked.resent_at = now
        # Sent again, it needs nobody until it fails again.
        locked.handled_at = None
        locked.handled_by = None
        refused = locked.last_error_code == PARTNER_FATAL
        renewed = (message_renew if refused else envelope_renew)(locked, at=now)
        if refused:
            # A thread's segment is known by its message's id: a partner's
            # reply to the new message answers that segment.
            CareMessage.objects.filter(outbound=locked).update(header_id=str(locked.message_id))
        locked.save(
            update_fields=[
                "status",
                "attempts",
                "resends",
                "next_attempt_at",
                "resent_by",
                "resent_at",
                "handled_at",
                "handled_by",
                *renewed,
            ]
        )
        # The re-send and its audit entry commit together (R9), whatever door.
        outbox_action_audit(message=locked, by=by, reason=RESENT)
        pk = locked.pk
        transaction.on_commit(lambda: deliver_later([pk]))
    return locked
