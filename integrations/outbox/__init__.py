"""The outbox: durable hand-off messages, delivered after commit, retried, never lost.

Life of a message::

    pending --claim--> sending --ack ok--------------------> acknowledged
       ^                  |----202, ack to follow--> awaiting_ack --ack--^
       |                  |----transient / network--> pending (back-off)
       |                  `----fatal, or attempts used up--> failed
       `---- a person re-sends a failed message (new round of attempts)

One module per use case:

- :mod:`~integrations.outbox.enqueue` — an event writes the row in its own
  transaction (R4 asked; a refused message is withheld);
- :mod:`~integrations.outbox.queue` — the rows are handed to a worker after
  commit; with the broker down they wait for the sweeper;
- :mod:`~integrations.outbox.delivery` — a worker claims, sends through the
  partner's transport, records every answer, audits each first disclosure;
- :mod:`~integrations.outbox.sweep` — beat sends whatever is due, stuck or
  unacknowledged;
- :mod:`~integrations.outbox.resend` — a person sends a failed or withheld
  message again;
- :mod:`~integrations.outbox.handled` — a person marks a failed or withheld
  message dealt with another way (she phoned); it leaves the board;
- :mod:`~integrations.outbox.acknowledge` — an acknowledgement, as its own
  message or in the partner's answer to a delivery, is judged and
  remembered once; it completes or fails one.
"""

from integrations.outbox.acknowledge import AckSettles, outbox_acknowledge
from integrations.outbox.delivery import backoff_delay, outbox_deliver
from integrations.outbox.enqueue import outbox_enqueue
from integrations.outbox.handled import outbox_mark_handled
from integrations.outbox.queue import DELIVER_TASK, SWEEP_TASK
from integrations.outbox.resend import outbox_resend
from integrations.outbox.sweep import outbox_sweep

__all__ = [
    "DELIVER_TASK",
    "SWEEP_TASK",
    "AckSettles",
    "backoff_delay",
    "outbox_acknowledge",
    "outbox_deliver",
    "outbox_enqueue",
    "outbox_mark_handled",
    "outbox_resend",
    "outbox_sweep",
]
