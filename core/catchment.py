"""Open work in the municipalities an acute function serves (its catchment).

The coordinator's board and the nurses' reach (R1) follow the function's
``serves``: a municipality taken out of it while its citizens still have open
episodes would leave those episodes on nobody's board. ``core`` knows no
episodes, so the app that keeps them registers how to count them here
(``acute/apps.py``), and the administration asks before it removes one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from core.models import Organisation

OpenWork = Callable[[Sequence[Organisation]], int]

_counters: dict[str, OpenWork] = {}


def register_open_work(name: str, count: OpenWork) -> None:
    """``count``: how many open pieces of work the citizens of the given
    municipalities have (registered once per name)."""
    _counters[name] = count


def open_work_in(municipalities: Sequence[Organisation]) -> int:
    """The open work of the citizens of ``municipalities``, every app's summed."""
    if not municipalities:
        return 0
    return sum(count(municipalities) for count in _counters.values())
