"""Recording to the audit log: the one way, used by API, FHIR, pages, tasks and commands.

Rules for callers:

- A **write** records inside the same ``transaction.atomic`` block as the write,
  so both commit or neither does.
- A **read** records before the data is returned; if recording fails the
  exception propagates and the data is not served.
- A **denied** attempt is recorded by the access gate outside any transaction
  that the refusal will roll back (the gate is asked before a write's
  transaction starts).
- A search or list records one entry per citizen in the result (IHE BALP).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from consent.audit.models import Action, AuditEntry, Outcome, Purpose
from core.actors import Actor
from core.context import current_context

__all__ = ["Action", "Outcome", "Purpose", "audit_record", "audit_record_many"]


def _entry(
    *,
    actor: Actor,
    action: str,
    purpose: str,
    outcome: str,
    citizen_id: int | None,
    resource_type: str,
    resource_id: str,
    reason_code: str,
    detail: dict[str, Any] | None,
) -> AuditEntry:
    ctx = current_context()
    organisation = actor.organisation
    return AuditEntry(
        recorded_at=timezone.now(),
        actor_user_id=actor.user.pk if actor.user else None,
        actor_username=actor.user.username if actor.user else "",
        actor_role=actor.role,
        actor_organisation_id=organisation.pk if organisation else None,
        actor_organisation_name=organisation.name if organisation else "",
        task=actor.task,
        partner_organisation_id=actor.partner.pk if actor.partner else None,
        citizen_id=citizen_id,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id),
        purpose=purpose,
        outcome=outcome,
        reason_code=reason_code,
        request_id=ctx.request_id,
        client_address=ctx.client_address,
        user_agent=ctx.user_agent,
        detail=detail or {},
    )


def audit_record(
    *,
    actor: Actor,
    action: str,
    purpose: str,
    citizen_id: int | None,
    outcome: str = Outcome.PERMITTED,
    resource_type: str = "",
    resource_id: str = "",
    reason_code: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. Raises if it cannot be written."""
    entry = _entry(
        actor=actor,
        action=action,
        purpose=purpose,
        outcome=outcome,
        citizen_id=citizen_id,
        resource_type=resource_type,
        resource_id=resource_id,
        reason_code=reason_code,
        detail=detail,
    )
    entry.save(force_insert=True)
    return entry


def audit_record_many(
    *,
    actor: Actor,
    action: str,
    purpose: str,
    citizen_ids: Iterable[int],
    outcome: str = Outcome.PERMITTED,
    resource_type: str = "",
    reason_code: str = "",
    detail: dict[str, Any] | None = None,
) -> list[AuditEntry]:
    """One entry per distinct citizen, as IHE BALP asks for searches and lists."""
    entries = [
        _entry(
            actor=actor,
            action=action,
            purpose=purpose,
            outcome=outcome,
            citizen_id=citizen_id,
            resource_type=resource_type,
            resource_id="",
            reason_code=reason_code,
            detail=detail,
        )
        for citizen_id in dict.fromkeys(citizen_ids)
    ]
    return AuditEntry.objects.bulk_create(entries)
