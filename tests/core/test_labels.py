"""Every code the audit log keeps has Danish words for the auditor's pages:
the access decision's reasons and the platform's background tasks."""

from __future__ import annotations

import re
from pathlib import Path

from django.utils import translation

from core.labels import REASONS, TASKS, reason_label, task_label
from tests.core.recorded_codes import recorded_codes

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
    # Defaults and alternatives: reason_code: str = "...", reason="..." if ... else "..."
    recorded |= set(re.findall(r'reason_code: str = "([a-z_.]+)"', text))
    recorded |= set(re.findall(r'reason(?:_code)?="[a-z_.]+" if [^\n]+ else "([a-z_.]+)"', text))
    recorded |= set(re.findall(r'reason(?:_code)?="([a-z_.]+)" if ', text))
    # A hand-off's entry is recorded with the message's event.
    events = (ROOT / "integrations" / "messages.py").read_text(encoding="utf-8")
    event_class = events[events.index("class Event:") : events.index("class AckCode:")]
    recorded |= set(re.findall(r'^    [A-Z_]+ = "([a-z-]+)"', event_class, re.M))
    recorded -= {"outbox.resent", "acknowledgement"}  # never on an access entry
    assert {"acute_function", "unknown_order", "unknown_alert", "care-communication"} <= recorded
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


def test_a_refusals_code_reads_as_words_and_no_code_is_shown_raw() -> None:
    """A write refused by a service is recorded with the refusal's code."""
    with translation.override("da"):
        assert reason_label("record.psychiatric_diagnosis") == "psykiatrisk diagnose (R2)"
        assert reason_label("acute_function") == "tildeling i akutfunktionen"
        assert reason_label("some.future_refusal") == "afvist af platformens regler"
        assert reason_label("some_future_reason") == "anden årsag"


def test_every_code_the_audit_log_may_keep_reads_as_its_own_words() -> None:
    """Danish first: codes never reach a page. Each code any production path
    can write as an entry's reason (a MedCom message refused at the door, a
    permitted message named by its MedCom event, a service's refusal) has a
    label of its own, not the words kept for a code no one has named yet."""
    codes = recorded_codes()
    assert {
        "message.bundle_id_reused",
        "message.event_unsupported",
        "medcom.rule_broken",
        "hospital-notification-message",
        "care-communication-message",
        "witness.same_person",
    } <= codes
    with translation.override("da"):
        generic = {reason_label("some.future_refusal"), reason_label("some_future_reason")}
        unnamed = sorted(code for code in codes if reason_label(code) in generic)
        raw = sorted(code for code in codes if reason_label(code) == code)
    assert unnamed == []
    assert raw == []


def test_the_message_doors_codes_read_in_danish() -> None:
    with translation.override("da"):
        assert reason_label("message.bundle_id_reused") == (
            "meddelelsens id er allerede brugt af en anden meddelelse"
        )
        assert reason_label("hospital-notification-message") == "MedCom-sygehusadvis"
        assert reason_label("witness.same_person") == "vidnet er den samme person"
