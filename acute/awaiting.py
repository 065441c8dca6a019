"""Which referrals have a partner's message awaiting the acute function's
answer (*en samarbejdspartners besked venter på svar*).

The messages are the hand-offs' (``integrations``), the referrals acute's;
acute may not import the layer above it (decision 0004), so integrations
registers the one function that answers when its app is ready, and every
door that lists referrals asks it here: the coordinator's board (through
``portal``) and ``/api/acute/referrals``. Ids only, never a message's
content, in one query for the whole list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from acute.models import Referral

# referral id → citizen id, to the ids of those with a message awaiting an answer.
AwaitingFinder = Callable[[dict[int, int]], set[int]]

_finder: list[AwaitingFinder] = []


def register_answer_awaited(finder: AwaitingFinder) -> None:
    """The function that says which referrals have a partner's message
    awaiting an answer (set once, by the hand-offs' app)."""
    _finder[:] = [finder]


def referrals_awaiting_answer(referrals: dict[int, int]) -> set[int]:
    """Of ``referrals`` (referral id → citizen id), those with a partner's
    message awaiting an answer; none while no finder is registered."""
    if not referrals or not _finder:
        return set()
    return _finder[0](referrals)


def answer_awaited_mark(referrals: Iterable[Referral]) -> None:
    """Set ``answer_awaited`` on each referral already let through the gate."""
    rows = list(referrals)
    awaiting = referrals_awaiting_answer({r.pk: r.citizen_id for r in rows})
    for referral in rows:
        referral.answer_awaited = referral.pk in awaiting  # type: ignore[attr-defined]
