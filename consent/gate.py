"""The access gate: the one function every read and write of citizen data passes.

``access_decide`` answers permit/deny with a reason and touches nothing.
``access_citizen`` decides, records the decision in the audit log, and either
returns the citizen or raises :class:`core.errors.NotFoundOrNotAllowed` — the
same error whether the citizen does not exist or may not be seen.

Ask the gate *before* opening a write's transaction: a denial is recorded at
once and must not be rolled back with the refused write.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from consent.audit.services import Action, Outcome, Purpose, audit_record
from consent.models import CareRelationship
from core.actors import Actor
from core.errors import NotFoundOrNotAllowed
from core.models import Citizen, Role

__all__ = ["Action", "Decision", "Purpose", "access_citizen", "access_decide"]


@dataclass(frozen=True)
class Decision:
    permitted: bool
    reason_code: str  # why: "care_relationship", "no_care_relationship", "role_not_permitted", ...
    basis: str = ""


def _has_open_relationship(actor: Actor, citizen: Citizen) -> CareRelationship | None:
    organisation = actor.organisation
    if organisation is None:
        return None
    now = timezone.now()
    return (
        CareRelationship.objects.filter(
            citizen=citizen, organisation=organisation, started_at__lte=now
        )
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=now))
        .filter(Q(user__isnull=True) | Q(user=actor.user))
        .order_by("started_at")
        .first()
    )


def access_decide(
    *, actor: Actor, citizen: Citizen, action: str, category: str, purpose: str
) -> Decision:
    """Permit or deny; no side effects."""
    if actor.membership is None and not actor.task:
        return Decision(False, "no_actor")
    if actor.role in (Role.AUDITOR, Role.ANALYST, Role.ADMINISTRATOR, Role.MEDICINE_OFFICER):
        return Decision(False, "role_not_permitted")
    relationship = _has_open_relationship(actor, citizen)
    if relationship is None:
        return Decision(False, "no_care_relationship")
    return Decision(True, "care_relationship", relationship.basis)


def access_citizen(
    *,
    actor: Actor,
    citizen_id: int,
    action: str,
    category: str,
    purpose: str,
    resource_type: str = "",
    resource_id: str = "",
) -> Citizen:
    """Decide, audit, and return the citizen — or raise "not found" for both unknown and refused."""
    citizen = (
        Citizen.objects.select_related("municipality", "gp_practice").filter(pk=citizen_id).first()
    )
    if citizen is None:
        audit_record(
            actor=actor,
            action=action,
            purpose=purpose,
            citizen_id=None,
            outcome=Outcome.DENIED,
            resource_type=resource_type,
            resource_id=resource_id,
            reason_code="unknown_citizen",
        )
        raise NotFoundOrNotAllowed()
    decision = access_decide(
        actor=actor, citizen=citizen, action=action, category=category, purpose=purpose
    )
    audit_record(
        actor=actor,
        action=action,
        purpose=purpose,
        citizen_id=citizen.pk,
        outcome=Outcome.PERMITTED if decision.permitted else Outcome.DENIED,
        resource_type=resource_type,
        resource_id=resource_id,
        reason_code=decision.reason_code,
        detail={"category": category, "basis": decision.basis}
        if category
        else {"basis": decision.basis},
    )
    if not decision.permitted:
        raise NotFoundOrNotAllowed()
    return citizen
