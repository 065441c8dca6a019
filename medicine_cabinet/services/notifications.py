"""Notifications to the acute function, raised once per open key."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import formats, timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_noop

from core.actors import Actor
from core.errors import (
    NotFoundOrNotAllowed,
    PlatformError,
)
from core.messages import user_message
from core.models import Organisation
from core.times import shown
from medicine_cabinet import selectors
from medicine_cabinet.models import (
    Medicine,
    Notification,
)
from medicine_cabinet.services.checks import (
    acute_organisation,
)


def notify(
    *,
    organisation: Organisation,
    kind: str,
    key: str,
    message: str,
    params: dict[str, Any] | None = None,
    **refs: Any,
) -> bool:
    """Raise a notification once per open key; returns whether a new one was made.

    ``message`` is a msgid (``gettext_noop``) filled from ``params``. It is kept
    as the medicine officer reads it, in the platform's language (Danish): a
    watch job has no request, and the text is read long after it was raised."""
    with translation.override(settings.LANGUAGE_CODE):
        if params:
            # Quantities as a Danish reader writes them (2,5, never 2.5 or
            # 3E+1); a lazy value (a unit's label) in the same language.
            values = {
                k: formats.number_format(v.normalize(), use_l10n=True)
                if isinstance(v, Decimal)
                else str(v)
                if isinstance(v, Promise)
                else v
                for k, v in params.items()
            }
            message = gettext(message) % values
        else:
            message = gettext(message)
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
    error: PlatformError,
    client_ref: str,
) -> bool:
    """Flag for the medicine officer a dose the nurse gave while her tablet had
    no connection and the server then refused (R8): the medicine left her bag
    without a booking, so the officer reconciles the bag. Raised once per
    queued dose (its ``client_ref``); the message names no citizen."""

    if actor.user is None:
        raise NotFoundOrNotAllowed()
    organisation = acute_organisation(actor)
    when = shown(given_at, "d-m-Y H:i") if given_at else "?"
    what = medicine.name if medicine is not None else "?"
    with translation.override(settings.LANGUAGE_CODE):
        # The officer reads why, not the refusal's code.
        reason = user_message(error).rstrip(".")
        amount = _amount(quantity)
    return notify(
        organisation=organisation,
        kind=Notification.Kind.OFFLINE_DOSE_REFUSED,
        key=f"offline_dose:{actor.user.pk}:{client_ref}",
        message=gettext_noop(
            "%(nurse)s gave %(quantity)s %(medicine)s without a connection at %(when)s;"
            " refused when sent: %(reason)s. Reconcile her bag."
        ),
        params={
            "nurse": actor.user.display_name,
            "quantity": amount,
            "medicine": what,
            "when": when,
            "reason": reason,
        },
        medicine=medicine,
        location=selectors.bag_of(organisation=organisation, nurse=actor.user),
    )


def _amount(quantity: str) -> str:
    try:
        if not quantity:
            return "?"
        return formats.number_format(Decimal(quantity).normalize(), use_l10n=True)
    except ArithmeticError:
        return "?"
