"""R9, R10: the deadline watch is background work on the citizen's referral.
Each warning it raises (at risk, overdue) is a write on her record, on her
log as the work of the acute function serving her — as the coordinator's
acknowledgement of the warning is — so her insight report (R5) and the
auditors' search by organisation find it. A run that raises nothing writes
nothing, and a warning already raised is not recorded again."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db.models import F, Q

from acute import tasks
from acute.models import DeadlineWarning, Referral
from consent.audit.models import AuditEntry
from core.models import Role
from tests import factories as f

pytestmark = pytest.mark.django_db


def _watch_entries(referral: Referral) -> list[tuple[Any, ...]]:
    return [
        (
            e.action,
            e.outcome,
            e.resource_type,
            e.reason_code,
            e.detail.get("kind"),
            e.detail.get("referral"),
            e.actor_user_id,
            e.actor_organisation_id,
        )
        for e in AuditEntry.objects.filter(
            citizen_id=referral.citizen_id, task="acute.deadline_watch"
        ).order_by("id")
    ]


def _earlier(referral: Referral, by: dt.timedelta) -> None:
    Referral.objects.filter(pk=referral.pk).update(
        received_at=F("received_at") - by, deadline_at=F("deadline_at") - by
    )


def test_r9_a_warning_the_watch_raises_is_on_the_citizens_log() -> None:
    function = f.acute_function()
    referral = f.acute_referral(by=f.staff(Role.COORDINATOR, function))
    # No nurse on shift: nobody can reach her in time.
    assert tasks.deadline_watch.apply().get() == {"at_risk": 1, "overdue": 0}

    warning = DeadlineWarning.objects.get(referral=referral)
    entry = AuditEntry.objects.get(citizen_id=referral.citizen_id, task="acute.deadline_watch")
    assert _watch_entries(referral) == [
        ("create", "permitted", "Flag", "warning_raised", "at_risk", referral.pk, None, function.pk)
    ]
    assert entry.resource_id == str(warning.pk)
    assert entry.actor_organisation_name == function.name

    # Run again: nothing new raised, nothing new recorded.
    assert tasks.deadline_watch.apply().get() == {"at_risk": 0, "overdue": 0}
    assert len(_watch_entries(referral)) == 1

    # The auditors' search by the acute function finds its watch's work.
    auditor = f.staff(Role.AUDITOR, function)
    found = f.client_for(auditor).get(
        f"/api/audit/entries?organisation={function.pk}&citizen={referral.citizen_id}&limit=200"
    )
    assert entry.pk in [e["id"] for e in found.json()["results"]]


def test_r9_an_overdue_warning_and_one_raised_again_are_each_on_her_log() -> None:
    function = f.acute_function()
    referral = f.acute_referral(by=f.staff(Role.COORDINATOR, function))
    other = f.acute_referral(by=f.staff(Role.COORDINATOR, function))
    # Her deadline has passed (received three hours ago); the other's is at risk.
    _earlier(referral, dt.timedelta(hours=3))
    assert tasks.deadline_watch.apply().get() == {"at_risk": 1, "overdue": 1}
    assert [e[4] for e in _watch_entries(referral)] == ["overdue"]
    assert [e[4] for e in _watch_entries(other)] == ["at_risk"]

    # Her deadline moved (a resend asking for more haste): judged afresh and
    # raised again for the new one, a new write on her log.
    Referral.objects.filter(pk=referral.pk).update(
        deadline_at=F("deadline_at") - dt.timedelta(minutes=30)
    )
    assert tasks.deadline_watch.apply().get()["overdue"] == 1
    assert [e[4] for e in _watch_entries(referral)] == ["overdue", "overdue"]
    assert not AuditEntry.objects.filter(
        Q(task="acute.deadline_watch") & ~Q(citizen_id__in=[referral.citizen_id, other.citizen_id])
    ).exists()
