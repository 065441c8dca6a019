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
   rows (an order, then a lot, then its balances).

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
write may be the one waiting for the visit this one holds.

A write that locks a visit, a referral or the episode before her row
deadlocks with one that holds her row and waits for that visit: hence her
row first, even for a write that touches only one visit
(docs/decisions/0038-one-lock-order-citizen-first.md).
"""

from __future__ import annotations

from core.models import Citizen


def citizen_lock(citizen_id: int) -> None:
    """Lock the citizen's row for the transaction: the first lock of every
    write on her record (the lock order above). Taken again in the same
    transaction, it is already held and returns at once."""
    list(
        Citizen.objects.select_for_update(no_key=True)
        .filter(pk=citizen_id)
        .values_list("pk", flat=True)
    )
