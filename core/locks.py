"""The platform's one lock order for a citizen's record, and its first lock.

Every write on a citizen's acute record — on every door: the API, FHIR, the
pages, a hospital's or a GP's MedCom message, the offline queue, the beat
jobs — takes the rows it locks in this order, and never the other way round:

1. the citizen's row (:func:`citizen_lock`; a hospital's message takes it
   with its look-up, ``integrations.hospital.inbound.citizen_locked``, a
   death ``acute.services.deaths``): one write on her record at a time;
2. her referrals, in the order of their ids
   (``acute.services._common.referral_lock``);
3. the episode;
4. its visits, in the order of their ids
   (``acute.services._common.visit_lock``,
   ``acute.clinical.services.common.visit_held``);
5. the nurse's shift, then what hangs off a visit: its documentation, its
   orders and their alerts, warnings, care relationships, and the cabinet's
   rows (an order, then the balances a movement books, then their lot).

Two writes on the same citizen at the same moment then queue on her row: the
second waits for the first to commit and reads what it left (a clear 409 if
it may no longer be done), never a deadlock that PostgreSQL breaks by failing
one of them (a 500, or a hospital's message answered as a transient error).

Her row is locked ``FOR NO KEY UPDATE``: it queues every write that asks
for her row (these, and the ``FOR UPDATE`` of a hospital's message or a
death, which also waits for them), and never stops a row that merely names
her — a visit's note, an order, a result, with a foreign key to her — from
being committed meanwhile. The rows after hers are locked on their own
(``select_for_update(of=("self",))``), not with her row joined in: a full
lock on her row taken there would wait for such a row's commit, and that
write may be the one waiting for the visit this one holds. Nor with any
other row joined in to be read (the nurse's user behind her shift, a
result's test, a warning's referral): PostgreSQL locks every table of a
``FOR UPDATE`` without ``OF``, out of this order.

A write that locks a visit, a referral or the episode before her row
deadlocks with one that holds her row and waits for that visit: hence her
row first, even for a write that touches only one visit
(docs/decisions/0038-one-lock-order-citizen-first.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from django.db import transaction

from core.errors import PlatformError
from core.models import Citizen

Written = TypeVar("Written")


def citizen_lock(citizen_id: int) -> None:
    """Lock the citizen's row for the transaction: the first lock of every
    write on her record (the lock order above). Taken again in the same
    transaction, it is already held and returns at once."""
    list(
        Citizen.objects.select_for_update(no_key=True)
        .filter(pk=citizen_id)
        .values_list("pk", flat=True)
    )


def citizens_locked_then(citizen_ids: Iterable[int], work: Callable[[], Written]) -> Written:
    """Run ``work`` — the access gate's question and the write it allows — in
    one transaction that first holds the row of each citizen it names (in
    the order of their ids). Recording her refusal and withdrawing her
    consent take her row too (``consent.services.consents``): so either the
    write is on her record before such a directive is recorded, or the gate
    is asked after it and refuses. Asked before the lock, a write the gate
    let through could be stored after the refusal was answered as recorded.

    A refusal ``work`` raises is raised after the transaction has committed
    what it recorded of it (the denied attempt, R9); ``work`` keeps its own
    writes in a transaction of their own (a savepoint), so none of them
    stays."""
    refused: PlatformError
    with transaction.atomic():
        for citizen_id in sorted(set(citizen_ids)):
            citizen_lock(citizen_id)
        try:
            return work()
        except PlatformError as exc:
            refused = exc
    raise refused
