"""Open work in the municipalities an acute function serves (its catchment).

The coordinator's board and the nurses' reach (R1) follow the function's
``serves``: a municipality taken out of it while its citizens still have open
episodes would leave those episodes on nobody's board. ``core`` knows no
episodes, so the app that keeps them registers how to count them here
(``acute/apps.py``), and the administration asks before it removes one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from core.errors import Forbidden
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


def withdrawn_municipality(organisation: Organisation | None) -> Organisation | None:
    """The municipality that ``organisation`` is (or is *part of*, through its
    units) when that municipality no longer takes part in the acute function;
    ``None`` for one that takes part and for an organisation of no
    municipality (the acute function, a hospital, 1813, a GP practice).

    Its staff act for a municipality that has left: the gate refuses them
    every citizen's data (deny by default) until it joins again. Read once per
    membership loaded (a request's), kept on the organisation object.
    """
    if organisation is None:
        return None
    if hasattr(organisation, "_withdrawn_municipality"):
        cached: Organisation | None = organisation._withdrawn_municipality
        return cached
    found: Organisation | None = None
    current: Organisation | None = organisation
    seen: set[int] = set()
    while current is not None and current.pk not in seen:
        seen.add(current.pk)
        if current.kind == Organisation.Kind.MUNICIPALITY:
            found = None if current.participates else current
            break
        if current.parent_id is None:
            break
        current = Organisation.objects.only("kind", "participates", "parent_id").get(
            pk=current.parent_id
        )
    organisation._withdrawn_municipality = found  # type: ignore[attr-defined]
    return found


class MunicipalityNotParticipating(Forbidden):
    """Staff of a municipality that has left the acute function: refused every
    citizen's data at the gate, by whatever door (the audit log's too). It
    says so (403) rather than "not found", and says it whether or not the
    citizen exists: it is about the member of staff, never the citizen."""

    def __init__(self) -> None:
        super().__init__(
            "access.municipality_not_participating",
            "Your organisation's municipality no longer takes part in the acute function; "
            "you have no access to citizens' data here.",
        )
