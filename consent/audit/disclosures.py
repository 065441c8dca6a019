"""The citizen's view of her log (R5): every access to and disclosure of her
data in the last two years, as her insight report lists it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from consent.audit.fhir import disclosure_recipient_id
from consent.audit.models import (
    Action,
    AuditEntry,
    Purpose,
)
from consent.audit.selectors import LIST_FIELDS, flags_and_reviews
from core.models import Organisation

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
    # Where the clocks skipped that time (the last Sunday of March) or showed
    # it twice (October), the earlier of its readings: the window then holds
    # every disclosure of the two years, never an hour less.
    zone = timezone.get_current_timezone()
    return min(naive.replace(tzinfo=zone, fold=fold).astimezone(dt.UTC) for fold in (0, 1))


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
    # Whom the data was disclosed to: the partner organisation a hand-off
    # went to, when the entry names a person's organisation as the sender.
    recipient: str = ""

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
    recipients = disclosure_recipients(rows)
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
            recipient=recipients.get(e.id, ""),
        )
        for e in rows
    ]


def disclosure_recipients(entries: list[AuditEntry]) -> dict[int, str]:
    """The recipient's name of each disclosure among ``entries`` that names
    one apart from its sender (:func:`disclosure_recipient_id`), in one query."""
    wanted = {e.id: disclosure_recipient_id(e) for e in entries}
    ids = {pk for pk in wanted.values() if pk is not None}
    if not ids:
        return {}
    names = dict(Organisation.objects.filter(pk__in=ids).values_list("pk", "name"))
    return {
        entry_id: names.get(pk, "")
        for entry_id, pk in wanted.items()
        if pk is not None and names.get(pk)
    }
