"""The citizen's view of her log (R5): every access to and disclosure of her
data in the last two years, as her insight report lists it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from consent.audit.fhir import disclosure_recipient_id
from consent.audit.flags import BREAK_GLASS_REASON
from consent.audit.models import (
    Action,
    AuditEntry,
    Flag,
    Purpose,
)
from consent.audit.selectors import LIST_FIELDS, flags_and_reviews
from core.labels import task_label
from core.models import Organisation, Role, User

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
    # The member of staff as the citizen reads her (*Min Log*): her full
    # name on her account now, the username only where none is recorded or
    # the account is gone. Empty for the platform's own work.
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
    # The identifiers the entry keeps (the auditors' and FHIR's, not for display).
    user_id: int | None = None
    username: str = ""
    reason_code: str = ""

    @property
    def action_label(self) -> str:
        return str(Action(self.action).label)

    @property
    def purpose_label(self) -> str:
        return str(Purpose(self.purpose).label)

    @property
    def role_label(self) -> str:
        """The role in words (*Akutsygeplejerske*), never its code."""
        return str(Role(self.role).label) if self.role in Role.values else ""

    @property
    def task_label(self) -> str:
        """The platform's own work in words, never the task's code."""
        return task_label(self.task)

    @property
    def by(self) -> str:
        """Who made the access as one line: the person's name and role, or
        the platform's task in words."""
        if self.who:
            return f"{self.who} ({self.role_label})" if self.role_label else self.who
        return self.task_label

    @property
    def emergency(self) -> bool:
        """Break-the-glass: the override itself or an access it alone made
        possible — as the auditors' flag scan reads it, flagged or not yet."""
        return (
            self.action == Action.BREAK_GLASS
            or self.purpose == Purpose.EMERGENCY
            or self.reason_code == BREAK_GLASS_REASON
            or Flag.BREAK_GLASS in self.flags
        )

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
    names = staff_names(rows)
    return [
        Disclosure(
            entry_id=e.id,
            at=e.recorded_at,
            who=names.get(e.actor_user_id, e.actor_username)
            if e.actor_user_id is not None
            else e.actor_username,
            role=e.actor_role,
            organisation=e.actor_organisation_name,
            task=e.task,
            action=e.action,
            purpose=e.purpose,
            outcome=e.outcome,
            resource_type=e.resource_type,
            flags=flags.get(e.id, []),
            recipient=recipients.get(e.id, ""),
            user_id=e.actor_user_id,
            username=e.actor_username,
            reason_code=e.reason_code,
        )
        for e in rows
    ]


def disclosure_recipients(entries: list[AuditEntry]) -> dict[int, str]:
    """The recipient's name of each disclosure among ``entries`` that names
    one (:func:`disclosure_recipient_id`), in one query."""
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


def staff_names(entries: list[AuditEntry]) -> dict[int, str]:
    """The name of each member of staff among ``entries``, by the user id the
    entry keeps (a username may be renamed or given to someone else later),
    in one query: the full name on the account, or its username when none is
    recorded. An account that is gone is left out; the entry's recorded
    username then stands in."""
    ids = {e.actor_user_id for e in entries if e.actor_user_id is not None}
    if not ids:
        return {}
    users = User.objects.filter(pk__in=ids).only("id", "username", "first_name", "last_name")
    return {user.pk: user.display_name for user in users}
