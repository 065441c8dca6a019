"""Recall of a lot (*tilbagekaldelse*): blocked everywhere, and where it is held."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext_noop

from consent.audit.services import Action
from core.actors import Actor
from core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFoundOrNotAllowed,
)
from core.models import Organisation, Role
from core.validation import required_text
from medicine_cabinet import selectors
from medicine_cabinet.models import (
    Administration,
    Balance,
    Lot,
    Notification,
)
from medicine_cabinet.services.checks import (
    acute_organisation,
)
from medicine_cabinet.services.formulary import medicine_label
from medicine_cabinet.services.ledger import operation_audit
from medicine_cabinet.services.notifications import notify

RECALL_REASON_MOST = Lot._meta.get_field("recall_reason").max_length or 300


def _recall_notify(*, organisation: Organisation, lot: Lot, holding: list[Balance]) -> None:
    """The recall as this acute function's officer reads it: where the lot is
    held and, if any, how many doses its nurses gave from it — never who
    received them: the recall's page lists them, each one audited."""
    with translation.override(settings.LANGUAGE_CODE):
        where = ", ".join(
            f"{b.location.name}: {formats.number_format(b.quantity.normalize(), use_l10n=True)}"
            for b in holding
        )
    given = Administration.objects.filter(lot=lot, bag__organisation=organisation).count()
    if given:
        message = (
            gettext_noop(
                "Lot %(lot)s of %(medicine)s is recalled. Doses given from it: %(given)s;"
                " see who received them on the recall. Held in: %(where)s."
            )
            if where
            else gettext_noop(
                "Lot %(lot)s of %(medicine)s is recalled. Doses given from it: %(given)s;"
                " see who received them on the recall. Held nowhere."
            )
        )
    else:
        message = (
            gettext_noop("Lot %(lot)s of %(medicine)s is recalled. Held in: %(where)s.")
            if where
            else gettext_noop("Lot %(lot)s of %(medicine)s is recalled. Held nowhere.")
        )
    notify(
        organisation=organisation,
        kind=Notification.Kind.RECALL,
        key=f"recall:{lot.pk}",
        message=message,
        params={
            "lot": lot.batch_number,
            "medicine": medicine_label(lot.medicine),
            "where": where,
            "given": given,
        },
        medicine=lot.medicine,
        lot=lot,
    )


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
    if len(reason) > RECALL_REASON_MOST:
        # Kept whole or not at all: a reason cut short on the page would be
        # recorded as something the officer did not write.
        raise InvalidInput(
            "recall.reason_too_long",
            f"The reason for a recall has at most {RECALL_REASON_MOST} characters.",
            field="reason",
            params={"most": RECALL_REASON_MOST},
        )
    if not selectors.lot_known(organisation=organisation, lot_id=lot.pk):
        # A lot this acute function never booked is not its to recall.
        raise NotFoundOrNotAllowed("lot.not_found", "No such lot.")
    with transaction.atomic():
        locked = Lot.objects.select_for_update().get(pk=lot.pk)
        if locked.is_recalled:
            raise Conflict("lot.already_recalled", "This lot is already recalled.")
        locked.recalled_at = timezone.now()
        locked.recall_reason = reason
        locked.recalled_by = actor.user
        locked.save(update_fields=["recalled_at", "recall_reason", "recalled_by"])
        lot.recalled_at, lot.recall_reason = locked.recalled_at, locked.recall_reason
        holding = selectors.lot_holdings(organisation=organisation, lot=locked)
        _recall_notify(organisation=organisation, lot=locked, holding=holding)
        # The batch is blocked everywhere: every other acute function that
        # holds it is told where, so its officer takes it out too, and one
        # whose nurses gave doses from it, so its officer follows them up.
        for other in (
            Organisation.objects.filter(
                Q(
                    stock_locations__balances__lot=locked,
                    stock_locations__balances__quantity__gt=0,
                )
                | Q(stock_locations__administrations__lot=locked)
            )
            .exclude(pk=organisation.pk)
            .distinct()
        ):
            _recall_notify(
                organisation=other,
                lot=locked,
                holding=selectors.lot_holdings(organisation=other, lot=locked),
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
