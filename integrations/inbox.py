"""The coordinator's side of messages the platform refused: she has seen one
on the board (and phoned the sender where it mattered), and it leaves the
board. The partner itself was told by its fatal-error acknowledgement."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.actors import Actor
from core.errors import Conflict
from integrations.models import InboundMessage


def inbox_refusal_note(*, message: InboundMessage, actor: Actor) -> InboundMessage:
    """Mark a refused message as seen by ``actor``; a second coordinator's
    mark is a conflict, the first one stands."""
    with transaction.atomic():
        locked = InboundMessage.objects.select_for_update().get(pk=message.pk)
        if locked.noted_at is not None:
            raise Conflict(
                "inbox.already_noted", "Another coordinator has already seen the message."
            )
        locked.noted_at = timezone.now()
        locked.noted_by = actor.user
        locked.save(update_fields=["noted_at", "noted_by"])
    return locked
