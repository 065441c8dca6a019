"""The citizen's view of her log (R5): every access to and disclosure of her
data in the last two years, as her insight report lists it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from consent.audit.models import (
    Action,
    AuditEntry,
    Purpose,
)
from consent.audit.selectors import LIST_FIELDS, flags_and_reviews

INSIGHT_YEARS = 2


def insight_since(at: dt.datetime) -> dt.datetime:
    """The start of "the last two years" up to ``at``, as the citizen counts
    them (*Min Log*): the same day and time of day in Copenhagen two calendar
    years before — not 730 days, which leaves out the first day of the two
    years whenever a 29 February lies inside them. From a 29 February, the
    28th."""
    local = timezone.localtime(at)
    year = local.year - INSIGHT_YEARS
    day = min(local.day, 28) if (local.month, local.day) == (2, 29) else local.day
    naive = local.replace(tzinfo=None).replace(year=year, day=day)
    return timezone.make_aware(naive, timezone.get_current_timezone())


@dataclass(frozen=True)
class Disclosure:
    """One line of the citizen's view: who, from which organisation, when, why, outcome."""

    entry_id: int
    at: dt.datetime
    who: str
    role: str
    organisation: str
    task: str
    action: str
    purpose: str
    outcome: str
    resource_type: str
    flags: list[str]

    @property
    def action_label(self) -> str:
        return str(Action(self.action).label)

    @property
    def purpose_label(self) -> str:
        return str(Purpose(self.purpose).label)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "at": self.at.isoformat()}


def audit_entries_for_citizen(
    *, citizen_id: int, since: dt.datetime | None = None, include_audit: bool = False
) -> list[Disclosure]:
    """Every access to and disclosure of one citizen's data in the last two
    years (or since ``since``), newest first — the basis of the insight report (R5).

    Auditors reading the log about the citizen are left out unless asked for:
    they see the log, not the citizen's data.
    """
    start = since or insight_since(timezone.now())
    entries = AuditEntry.objects.filter(citizen_id=citizen_id, recorded_at__gte=start).only(
        *LIST_FIELDS
    )
    if not include_audit:
        entries = entries.exclude(purpose=Purpose.AUDIT)
    rows = list(entries.order_by("-recorded_at", "-id"))
    flags, _ = flags_and_reviews([e.id for e in rows])
    return [
        Disclosure(
            entry_id=e.id,
            at=e.recorded_at,
            who=e.actor_username,
            role=e.actor_role,
            organisation=e.actor_organisation_name,
            task=e.task,
            action=e.action,
            purpose=e.purpose,
            outcome=e.outcome,
            resource_type=e.resource_type,
            flags=flags.get(e.id, []),
        )
        for e in rows
    ]
