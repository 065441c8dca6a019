"""A partner's CareCommunication whose category or Provenance activity is not
one of MedCom's codes for a CareCommunication (the value sets
medcom-careCommunication-categories and -messagingActivities, bound as
required) gets MedCom's fatal-error naming the element, and nothing is
written: the platform read those bindings as unknown value sets and took
any code (MedCom's CareCommunication guide declares them by alias)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from integrations.models import CareThread
from tests.integrations.medcom.peers import ack_parts, example, post_signed

pytestmark = pytest.mark.django_db

FIRST = "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"  # MedCom's example: a new message


def _of(message: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == kind)


def _category(code: str, system: str = "") -> Callable[[dict[str, Any]], None]:
    def mutate(message: dict[str, Any]) -> None:
        coding = _of(message, "Communication")["category"][0]["coding"][0]
        coding["code"] = code
        if system:
            coding["system"] = system

    return mutate


def _activity(code: str) -> Callable[[dict[str, Any]], None]:
    def mutate(message: dict[str, Any]) -> None:
        _of(message, "Provenance")["activity"]["coding"][0]["code"] = code

    return mutate


@pytest.mark.parametrize(
    ("mutate", "element"),
    [
        (_category("nonsense"), "category"),
        (_category("other", "http://example.org/categories"), "category"),
        # A HospitalNotification's activity, of MedCom's activity code system.
        (_activity("admit-inpatient"), "activity"),
    ],
    ids=["unknown category", "category of another system", "a stay's activity"],
)
def test_a_care_communication_with_a_code_outside_medcoms_value_set_is_refused(
    mutate, element, hospital, citizen
):
    message = example("carecommunication", FIRST)
    mutate(message)
    status, body = post_signed(hospital, message)
    code, _answered, details = ack_parts(body)
    assert (status, code) == (400, "fatal-error")
    assert "MSG_VALUESET_VALUE_UNKNOWN" in details
    texts = [
        f"{issue['details']['text']} {issue.get('diagnostics', '')}"
        for entry in body["entry"]
        if entry["resource"]["resourceType"] == "OperationOutcome"
        for issue in entry["resource"]["issue"]
    ]
    assert any(f"{element}: binding" in text for text in texts), texts
    assert not CareThread.objects.exists()


def test_medcoms_own_care_communication_is_received(hospital, citizen):
    assert ack_parts(post_signed(hospital, example("carecommunication", FIRST))[1])[0] == "ok"
