"""What the nurse's tablet shows: her own unfinished visits. The warnings about
them combine clinical results and hand-offs, so they are read in
``portal.selectors``."""

from __future__ import annotations

from acute.models import NurseShift, Visit, VisitSubmission
from acute.selectors.records import HOSPITAL_WITHDRAWALS, gated, own_visit_under_way
from core.actors import Actor


def nurse_visits(*, actor: Actor) -> list[Visit]:
    """The nurse's own visits that are not finished, for her tablet. One
    under way stays on it under the citizen's refusal: she finishes it
    (:func:`acute.selectors.own_visit_under_way`)."""
    rows = list(
        Visit.objects.filter(nurse=actor.user, status__in=Visit.ACTIVE_STATUSES)
        .select_related("citizen", "citizen__municipality", "referral", "shift")
        .order_by("assigned_at")
    )
    own_care = {v.citizen_id: basis for v in rows if (basis := own_visit_under_way(actor, v))}
    return gated(actor, rows, "Encounter", own_care=own_care)


def nurse_visits_withdrawn(*, actor: Actor, shift: NurseShift | None) -> list[Visit]:
    """Her visits of this shift that the hospital's report withdrew (the
    citizen admitted, or dead), newest first: her list says so, as her visit
    page does, whether or not she opens it. When and why, with the note
    given; no citizen data (her access ended with the visit, R1)."""
    if shift is None or actor.user is None:
        return []
    return list(
        Visit.objects.filter(
            nurse=actor.user,
            shift=shift,
            status=Visit.Status.CANCELLED,
            cancel_reason__in=HOSPITAL_WITHDRAWALS,
        )
        .only("pk", "cancelled_at", "cancel_reason", "cancel_note")
        .order_by("-cancelled_at", "-pk")
    )


def visit_submission_received(
    *, actor: Actor, visit_id: int, client_ref: str, fingerprint: str = ""
) -> bool:
    """Whether her tablet's form with this ``client_ref`` was already received
    on this visit. Asked before the access gate, so a re-send whose first
    answer was lost is "already received" even once the visit is completed
    or no longer hers; it reads only her own submission, no citizen data.
    A reference received with other content (``fingerprint``) is not: that
    send goes on to the gate and is refused there or by
    :func:`acute.services.visit_submission_once`."""
    ref = client_ref.strip()
    if actor.user is None or not ref:
        return False
    earlier = VisitSubmission.objects.filter(
        visit_id=visit_id, user=actor.user, client_ref=ref
    ).first()
    return earlier is not None and earlier.same_entry(fingerprint)
