"""Notifications to the acute function, raised once per open key."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.actors import Actor
from core.errors import (
    NotFoundOrNotAllowed,
)
from core.models import Organisation
from medicine_cabinet.models import (
    Notification,
)
from medicine_cabinet.services.checks import (
    acute_organisation,
)


def notify(*, organisation: Organisation, kind: str, key: str, message: str, **refs: Any) -> bool:
    """Raise a notification once per open key; returns whether a new one was made."""
    try:
        with transaction.atomic():
            Notification.objects.create(
                organisation=organisation, kind=kind, key=key, message=message[:300], **refs
            )
    except IntegrityError:
        return False
    return True


@transaction.atomic
def notification_acknowledge(*, actor: Actor, notification: Notification) -> Notification:
    if notification.organisation_id != acute_organisation(actor).pk:
        raise NotFoundOrNotAllowed()
    if notification.acknowledged_at is None:
        notification.acknowledged_at = timezone.now()
        notification.acknowledged_by = actor.user
        notification.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return notification
