"""A coordinator decides on a referral as her page showed it.

Two coordinators may have the same referral open. When one sends a nurse or
changes the urgency, the other's page is out of date: her "Assign" would
replace the nurse already on her way, her urgency would undo her
colleague's. Each form on the referral's page therefore carries what the
page showed (:func:`referral_shown_stamp`): the status, urgency and
deadline, the hold for an admission and the nurse sent. A form whose page
no longer matches the referral is refused, ``409 referral.changed_since_shown``,
and the page shows the referral as it is now; the attempt is on the
citizen's record (R9)."""

from __future__ import annotations

import hashlib

from acute.models import Referral, Visit
from acute.services._common import referral_lock, referral_refusals_audited
from core.actors import Actor
from core.errors import Conflict

REFERRAL_CHANGED_SINCE_SHOWN = "referral.changed_since_shown"


def referral_shown_stamp(referral: Referral) -> str:
    """A short digest of what the referral's page shows that a decision on
    it rests on."""
    # Who is on it, not how far she has come: her setting off changes no decision.
    active = (
        Visit.objects.filter(referral=referral, status__in=Visit.ACTIVE_STATUSES)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    parts = (
        referral.status,
        referral.urgency,
        referral.deadline_at.isoformat() if referral.deadline_at else "",
        referral.on_hold_since.isoformat() if referral.on_hold_since else "",
        str(active or ""),
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


def referral_still_as_shown(*, referral: Referral, shown: str, actor: Actor) -> Referral:
    """The referral, row-locked in the caller's transaction, when it is still
    as the page that sent ``shown`` showed it; refused otherwise. The caller
    makes its change in the same transaction, so nobody changes it between."""
    with referral_refusals_audited(
        referral,
        actor=actor,
        detail={"step": "as_shown"},
        codes={REFERRAL_CHANGED_SINCE_SHOWN},
    ):
        locked = referral_lock(referral)
        if referral_shown_stamp(locked) != shown:
            raise Conflict(
                REFERRAL_CHANGED_SINCE_SHOWN,
                "Someone else changed this referral after your page showed it."
                " It is shown again as it is now; nothing was saved, decide again.",
            )
    return locked
