"""What the nurse's tablet shows: her own unfinished visits. The warnings about
them combine clinical results and hand-offs, so they are read in
``portal.selectors``."""

from __future__ import annotations

from acute.models import Visit
from acute.selectors.records import gated
from core.actors import Actor


def nurse_visits(*, actor: Actor) -> list[Visit]:
    """The nurse's own visits that are not finished, for her tablet."""
    qs = (
        Visit.objects.filter(nurse=actor.user, status__in=Visit.ACTIVE_STATUSES)
        .select_related("citizen", "citizen__municipality", "referral")
        .order_by("assigned_at")
    )
    return gated(actor, list(qs), "Encounter")
