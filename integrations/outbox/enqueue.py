"""Writing a hand-off: the outbox row, in the transaction of the event that causes it.

The ids a transaction wrote are handed to the workers once it commits, in
batches. R4: the citizen's refusals are asked here, and again at each claim
(:mod:`integrations.outbox.delivery`); a refused message is written
*withheld* for the coordinator and audited as a denied disclosure.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from integrations.disclosure import directives_in_force, disclosure_decide, disclosure_withhold
from integrations.models import PARTNER_INACTIVE, OutboundMessage, Partner
from integrations.outbox.queue import deliver_later

if TYPE_CHECKING:
    from consent.models import ConsentDirective
    from core.actors import Actor
    from core.models import Citizen, Organisation

ENQUEUE_TASK = "integrations.outbox_enqueue"


class _TransactionOutbox:
    """What one transaction wrote to the outbox: handed over after commit in
    batches, so a transaction writing a hundred messages publishes four tasks,
    not a hundred. A row rolled back with a savepoint leaves its id here;
    delivery finds no such row and skips it.

    It also remembers the refusals read for each citizen in this transaction
    (an episode's end writes several messages about one citizen); a refusal
    committed meanwhile by someone else is caught by the check before
    delivery."""

    def __init__(self) -> None:
        self.pks: list[int] = []
        self.directives: dict[int, list[ConsentDirective]] = {}
        self.registered = False

    def __call__(self) -> None:
        deliver_later(self.pks)

    def directives_for(self, citizen_id: int, at: dt.datetime) -> list[ConsentDirective]:
        if citizen_id not in self.directives:
            self.directives[citizen_id] = directives_in_force([citizen_id], at=at)[citizen_id]
        return self.directives[citizen_id]


def _transaction_outbox() -> _TransactionOutbox:
    """This transaction's outbox (registered to run after commit); outside a
    transaction a fresh one, run at once by ``on_commit``."""
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        for _sids, func, _robust in connection.run_on_commit:
            if isinstance(func, _TransactionOutbox):
                return func  # registered by an earlier message of this transaction
    return _TransactionOutbox()


def outbox_enqueue(
    *,
    partner: Partner,
    event: str,
    bundle: dict[str, Any],
    citizen: Citizen | None,
    source_type: str = "",
    source_id: str = "",
    on_behalf_of: Actor | None = None,
    recipient: Organisation | None = None,
    parked: tuple[str, str] | None = None,
) -> OutboundMessage:
    """Write the message in the current transaction; deliver after commit.

    R4: a message the citizen has refused disclosure of to this recipient is
    written *withheld* (kept for the coordinator, audited as a denied
    disclosure) and not handed to a worker. A message ``parked`` (an error
    code and the reason, e.g. the MedCom rule it breaks) is written *failed*
    for a person and never sent, as is one to a deactivated partner.
    ``recipient`` is the organisation the partner carries the message for,
    when not its own (R4 asks for both)."""
    header = bundle["entry"][0]["resource"]
    now = timezone.now()
    message = OutboundMessage(
        message_id=header["id"],
        bundle_id=bundle["id"],
        partner=partner,
        event=event,
        citizen=citizen,
        source_type=source_type,
        source_id=str(source_id),
        on_behalf_of=on_behalf_of.membership if on_behalf_of else None,
        recipient=recipient,
        bundle=bundle,
        created_at=now,
        next_attempt_at=now,
    )
    outbox = _transaction_outbox()
    decision = (
        disclosure_decide(message, directives=outbox.directives_for(citizen.pk, now), at=now)
        if citizen is not None
        else None
    )
    # No savepoint of its own (two round trips per message): the caller's
    # transaction is the event's, and a failure here fails the event.
    with transaction.atomic(savepoint=False):
        if decision is not None and not decision.permitted:
            disclosure_withhold(message, task=ENQUEUE_TASK, at=now, stage="enqueue")
            message.save(force_insert=True)
            return message
        if parked is None and not partner.in_service:
            # A deactivated partner is posted nothing: the message waits for a
            # person with the reason, never lost and never sent to a stale endpoint.
            parked = (PARTNER_INACTIVE, f"partner {partner.code} is deactivated")
        if parked is not None:
            message.status = OutboundMessage.Status.FAILED
            message.failed_at = now
            message.last_error_code, message.last_error = parked[0], parked[1][:500]
            message.save(force_insert=True)
            return message
        message.save(force_insert=True)
        outbox.pks.append(message.pk)
        if not outbox.registered:
            outbox.registered = True
            transaction.on_commit(outbox)
    return message
