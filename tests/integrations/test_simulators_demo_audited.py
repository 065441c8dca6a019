"""The demo's partner simulators name two citizens in their messages: each
read of them is in the audit log as background work for the partner whose
message carries the citizen (R9)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from consent.audit.models import Action, AuditEntry, Outcome
from core.labels import TASKS
from integrations.management.commands.partner_simulators import demo_citizens
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_r9_the_demo_citizens_are_read_on_the_record() -> None:
    helpline = f.integration_partner("helpline_1813", f.organisation("helpline_1813"))
    hospital = f.integration_partner("hospital", f.hospital_department())
    deceased = f.citizen()
    deceased.deceased_at = timezone.now()
    deceased.save(update_fields=["deceased_at"])
    first, second, _third = f.citizen(), f.citizen(), f.citizen()

    assert demo_citizens(helpline=helpline, hospital=hospital) == [first, second]

    entries = list(AuditEntry.objects.filter(task="integrations.simulator_demo").order_by("pk"))
    assert [
        (e.citizen_id, e.partner_organisation_id, e.action, e.outcome, e.resource_type)
        for e in entries
    ] == [
        (first.pk, helpline.organisation_id, Action.READ, Outcome.PERMITTED, "Patient"),
        (second.pk, hospital.organisation_id, Action.READ, Outcome.PERMITTED, "Patient"),
    ]
    assert "integrations.simulator_demo" in TASKS


def test_no_demo_without_two_citizens_and_nothing_read() -> None:
    helpline = f.integration_partner("helpline_1813", f.organisation("helpline_1813"))
    hospital = f.integration_partner("hospital", f.hospital_department())
    f.citizen()
    assert demo_citizens(helpline=helpline, hospital=hospital) == []
    assert not AuditEntry.objects.filter(task="integrations.simulator_demo").exists()
