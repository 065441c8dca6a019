"""A refused attempt on a citizen's data is still an attempt: it is recorded
(R9), outside any transaction the refusal rolls back.

:func:`audit_denied` is the one way every app records a denial: a refused
write, a read of a record that is not the actor's to see, or of one that
does not exist."""

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
    resource_id: str = "",
    rule: str | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    """Record a refused attempt. ``citizen_id`` is recorded only when it names
    a citizen (an unknown one is -1 to the gate); ``rule`` is the rule that
    refused, if one did (``R2``), kept in the entry's detail beside ``detail``."""
    if rule:
        detail = {**(detail or {}), "rule": rule}
    audit_record(
        actor=actor,
        action=action,
        purpose=purpose,
        citizen_id=citizen_id if citizen_id and citizen_id > 0 else None,
        outcome=Outcome.DENIED,
        resource_type=resource_type,
        resource_id=resource_id,
        reason_code=reason_code,
        detail=detail,
    )
