"""Notifications to the acute function, raised once per open key."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.actors import Actor
from core.errors import (
    NotFoundOrNotAllowed,
)
from core.models import Organisation
from medicine_cabinet import selectors
from medicine_cabinet.models import (
    Medicine,
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


def offline_dose_refused_flag(
    *,
    actor: Actor,
    medicine: Medicine | None,
    quantity: str,
    given_at: dt.datetime | None,
    code: str,
    client_ref: str,
) -> bool:
    """Flag for the medicine officer a dose the nurse gave while her tablet had
    no connection and the server then refused (R8): the medicine left her bag
    without a booking, so the officer reconciles the bag. Raised once per
    queued dose (its ``client_ref``); the message names no citizen."""

    if actor.user is None:
        raise NotFoundOrNotAllowed()
    organisation = acute_organisation(actor)
    when = timezone.localtime(given_at).strftime("%d-%m-%Y %H:%M") if given_at else "?"
    what = medicine.name if medicine is not None else "?"
    return notify(
        organisation=organisation,
        kind=Notification.Kind.OFFLINE_DOSE_REFUSED,
        key=f"offline_dose:{actor.user.pk}:{client_ref}",
        message=(
            f"{actor.user.display_name} gave {_amount(quantity)} {what} without a connection"
            f" at {when}; refused when sent ({code}). Reconcile her bag."
        ),
        medicine=medicine,
        location=selectors.bag_of(organisation=organisation, nurse=actor.user),
    )


def _amount(quantity: str) -> str:
    try:
        return str(Decimal(quantity).normalize()) if quantity else "?"
    except ArithmeticError:
        return "?"
