"""A write refused before anything is written is still an attempt on the
citizen's data: it is recorded (R9), outside any transaction the refusal
rolls back."""

from __future__ import annotations

from consent.audit.services import Outcome, audit_record
from core.actors import Actor


def audit_denied(
    *,
    actor: Actor,
    action: str,
    purpose: str,
    reason_code: str,
    citizen_id: int | None = None,
    resource_type: str = "",
    rule: str | None = None,
) -> None:
    """Record a refused write. ``citizen_id`` is recorded only when it names
    a citizen (an unknown one is -1 to the gate); ``rule`` is the rule that
    refused, if one did (``R2``)."""
    audit_record(
        actor=actor,
        action=action,
        purpose=purpose,
        citizen_id=citizen_id if citizen_id and citizen_id > 0 else None,
        outcome=Outcome.DENIED,
        resource_type=resource_type,
        reason_code=reason_code,
        detail={"rule": rule} if rule else None,
    )
