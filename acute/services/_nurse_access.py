"""A nurse sees a citizen while she has a visit there (R1): the care
relationship opens when a visit is assigned and ends when it is cancelled.

For the use-case modules beside it (dispatch, visits, episodes); nothing here
is re-exported.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from acute.models import NurseShift, Referral, Visit
from acute.selectors.nurses import nurse_in_force
from acute.services._common import VISIT_SOURCE, visit_audit
from acute.services.admissions import hold_audit_detail
from consent.audit.services import Action
from consent.models import CareRelationship
from consent.services import care_relationship_close, care_relationship_open
from core.actors import Actor
from core.errors import NotFoundOrNotAllowed, PreconditionFailed
from core.models import Citizen, Organisation
from core.validation import full_clean_or_raise


def visit_send(
    *,
    visit: Visit,
    shift: NurseShift,
    actor: Actor,
    held: Referral | None,
    detail: dict[str, object],
) -> Visit:
    """Save a new visit (first or follow-up), open the nurse's access through
    it and record the assignment, with the hold it overrides (R12) if ``held``.
    Call inside the assigning transaction."""
    shift_may_serve(shift=shift, citizen=visit.citizen, actor=actor)
    shift_nurse_in_force_check(shift, at=[timezone.now(), *filter(None, [visit.planned_for])])
    full_clean_or_raise(visit, code="visit.invalid")
    visit.save(force_insert=True)
    care_relationship_open(
        citizen=visit.citizen,
        organisation=shift.acute_function,
        user=shift.nurse,
        basis=CareRelationship.Basis.VISIT,
        source_type=VISIT_SOURCE,
        source_id=str(visit.pk),
    )
    override_reason = visit.hold_override_reason
    visit_audit(
        visit,
        actor,
        {**detail, "nurse": shift.nurse_id, **hold_audit_detail(held, override_reason)},
        action=Action.CREATE,
        resource_type="Task",
        reason_code="hold_override" if override_reason else "acute_function",
    )
    return visit


SHIFT_NOT_FOUND = "shift.not_found"
DISPATCH_MUNICIPALITY_NOT_SERVED = "dispatch.municipality_not_served"
DISPATCH_NURSE_NOT_IN_FORCE = "dispatch.nurse_not_in_force"


def shift_nurse_in_force_check(shift: NurseShift, *, at: list[dt.datetime]) -> None:
    """A visit opens the nurse's access to the citizen (R1): only a nurse whose
    role as acute nurse of the shift's function is in force (switched on, not
    past its end, she and the function active) at each of ``at`` is sent. Her
    shift may have been put on the rota before her role ended."""
    for moment in at:
        if not NurseShift.objects.filter(nurse_in_force(moment), pk=shift.pk).exists():
            raise PreconditionFailed(
                DISPATCH_NURSE_NOT_IN_FORCE,
                "The nurse's role as an acute nurse of this acute function has ended"
                " or is switched off.",
                field="shift",
                rule="R1",
            )


def shift_may_serve(*, shift: NurseShift, citizen: Citizen, actor: Actor) -> None:
    """A visit opens the nurse's access to the citizen (R1), so only a nurse
    of an acute function that serves the citizen's municipality is sent, and
    a coordinator sends only her own acute function's nurses: another
    function's shift is not hers to see ("not found")."""
    organisation = actor.organisation
    if (
        organisation is not None
        and organisation.kind == Organisation.Kind.ACUTE_FUNCTION
        and organisation.pk != shift.acute_function_id
    ):
        raise NotFoundOrNotAllowed(SHIFT_NOT_FOUND, "No such shift.", field="shift")
    if not Organisation.objects.filter(
        pk=shift.acute_function_id, serves=citizen.municipality_id
    ).exists():
        raise PreconditionFailed(
            DISPATCH_MUNICIPALITY_NOT_SERVED,
            "The nurse's acute function does not serve the citizen's municipality.",
            field="shift",
            rule="R1",
        )


def visit_cancel_locked(visit: Visit, *, reason: str, note: str, actor: Actor) -> None:
    """Cancel a visit already locked by the caller and end the nurse's access through it."""
    visit.status = Visit.Status.CANCELLED
    visit.cancelled_at = timezone.now()
    visit.cancel_reason = reason
    visit.cancel_note = note
    visit.save(update_fields=["status", "cancelled_at", "cancel_reason", "cancel_note"])
    care_relationship_close(source_type=VISIT_SOURCE, source_id=str(visit.pk), user=visit.nurse)
    shift_status_follow_visits(visit.shift_id)
    visit_audit(visit, actor, {"step": f"cancelled:{reason}"})


def shift_status_follow_visits(shift_id: int, *, since: dt.datetime | None = None) -> None:
    """After a visit of the shift ended or was cancelled: 'en route' and 'on a
    visit' say what her other visits say — with one at the door she is still
    on a visit, with one on the way still en route, with none of either she is
    available (visits she has not set off for yet do not make her busy). A
    status she set by hand is hers to change. ``since``: when the visit
    ended (a completion her tablet sent later), else now."""
    statuses = set(
        Visit.objects.filter(
            shift_id=shift_id, status__in=[Visit.Status.EN_ROUTE, Visit.Status.ON_SITE]
        ).values_list("status", flat=True)
    )
    if Visit.Status.ON_SITE in statuses:
        status = NurseShift.Status.ON_VISIT
    elif Visit.Status.EN_ROUTE in statuses:
        status = NurseShift.Status.EN_ROUTE
    else:
        status = NurseShift.Status.AVAILABLE
    NurseShift.objects.filter(
        pk=shift_id, status__in=[NurseShift.Status.EN_ROUTE, NurseShift.Status.ON_VISIT]
    ).exclude(status=status).update(status=status, status_changed_at=since or timezone.now())
