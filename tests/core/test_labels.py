"""Every code the audit log keeps has Danish words for the auditor's pages:
the access decision's reasons and the platform's background tasks."""

from __future__ import annotations

import re
from pathlib import Path

from django.utils import translation

from core.labels import REASONS, TASKS, reason_label, task_label

ROOT = Path(__file__).resolve().parents[2]
APPS = ("acute", "consent", "core", "integrations", "medicine_cabinet", "portal", "worker")


def _sources() -> str:
    return "\n".join(
        path.read_text(encoding="utf-8")
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    )


def test_every_reason_the_gate_and_the_services_record_has_a_label() -> None:
    text = _sources()
    recorded = set(re.findall(r'reason_code="([a-z_.]+)"', text))
    recorded |= set(re.findall(r'Decision\(\s*(?:True|False),\s*"([a-z_]+)"', text))
    recorded -= {"outbox.resent"}  # a hand-off's, never on an access entry
    assert {"no_care_relationship", "refused", "care_relationship"} <= recorded
    assert sorted(recorded - set(REASONS)) == []


def test_every_background_task_that_records_has_a_label() -> None:
    text = _sources()
    named = set(re.findall(r'Actor\.system\(\s*"([a-z_.-]+)"', text))
    named |= set(re.findall(r'^[A-Z_]*TASK = "([a-z_.-]+)"', text, re.M))
    assert {"acute.auto_assign", "integrations.outbox_deliver", "sign-in"} <= named
    assert sorted(named - set(TASKS)) == []


def test_labels_read_in_danish_and_never_as_the_code() -> None:
    with translation.override("da"):
        assert reason_label("care_relationship") == "behandlingsrelation"
        assert reason_label("no_care_relationship") == "ingen behandlingsrelation"
        assert task_label("acute.auto_assign") == "automatisk tildeling"
        assert task_label("some.future_task") == "platformen"
