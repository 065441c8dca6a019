"""Results to the citizen's GP practice in the shape of MedCom's
HomeCareObservation: NPU-coded Observations with UCUM units, sent when the
GP asked for the visit. (The outcome of the episode and requests to confirm
a phone order are built as for every partner: :mod:`integrations.builders`.)"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from integrations.adapters import Outgoing
from integrations.resources import observation

if TYPE_CHECKING:
    from acute.clinical.models import LabResult
    from acute.models import Visit
    from core.models import Citizen


@dataclass(frozen=True)
class VisitResults:
    """Results recorded on a visit the citizen's GP asked for."""

    visit: Visit
    citizen: Citizen
    results: Sequence[LabResult]


def home_care_observation(recorded: VisitResults) -> Outgoing | None:
    """The results as Observations; nothing when there are none."""
    observations = [observation(r, recorded.citizen) for r in recorded.results]
    if not observations:
        return None
    return Outgoing(
        citizen=recorded.citizen,
        focus=observations,
        source_type="acute.visit",
        source_id=str(recorded.visit.pk),
    )
