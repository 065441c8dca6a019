"""R12: a hospital notification reports what has happened, in every time it
gives. Its own Provenance's ``occurredDateTime`` was held to that, but the
Encounter's period was not: an admission whose stay starts next month, or a
discharge whose stay ends next week, was received as if it had happened —
the referrals held or resumed, the care relationship opened or closed, on
a time no clock has reached. Refused whole with MedCom's fatal-error
(MSG_PARAM_INVALID) naming the element, nothing changed, and a denied
attempt on the citizen's record (R9)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from consent.audit.models import AuditEntry
from integrations.models import InboundMessage
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, header_id, post_signed
from tests.integrations.medcom.test_hospital_notification import SLHJ, STIN, _example
from tests.integrations.medcom.test_stay_order import _occurred, _open_stays

pytestmark = pytest.mark.django_db

CODE = "hospital.occurred_in_future"


def _with_period(message: dict[str, Any], **period: str) -> dict[str, Any]:
    """The message, its Provenance stamped now, with the Encounter's period."""
    for entry in _occurred(message, timezone.now().isoformat())["entry"]:
        if entry["resource"]["resourceType"] == "Encounter":
            entry["resource"]["period"] = period
    return message


def _refused_naming(body: dict[str, Any], element: str) -> None:
    assert ack_parts(body)[0] == "fatal-error"
    assert ack_parts(body)[2] == ["MSG_PARAM_INVALID"]
    outcome = next(
        e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == "OperationOutcome"
    )
    text = outcome["issue"][0]["details"]["text"]
    assert text.startswith(f"{element}: {element} ligger i fremtiden"), text
    assert text.endswith(f"({CODE})")


@pytest.mark.parametrize(
    "start", [dt.timedelta(days=30), dt.timedelta(minutes=10), "date a month ahead"]
)
def test_r12_an_admission_whose_stay_starts_ahead_is_refused_and_holds_nothing(
    hospital, citizen, start
):
    referral = f.acute_referral(person=citizen, accepted=False)
    now = timezone.now()
    starts = (
        (now + dt.timedelta(days=31)).date().isoformat()
        if isinstance(start, str)
        else (now + start).isoformat()
    )
    admission = _with_period(_example(STIN), start=starts)
    status, body = post_signed(hospital, admission)
    assert status == 400
    _refused_naming(body, "Encounter.period.start")
    refused = InboundMessage.objects.get(partner=hospital, header_id=header_id(admission))
    assert refused.reason_code == CODE
    referral.refresh_from_db()
    assert referral.on_hold_since is None
    assert not _open_stays(citizen, hospital).exists()
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, outcome="denied", reason_code=CODE
    ).exists()


def test_r12_a_discharge_whose_stay_ends_ahead_is_refused_and_the_hold_stays(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    now = timezone.now()
    began = (now - dt.timedelta(days=2)).isoformat()
    assert ack_parts(post_signed(hospital, _with_period(_example(STIN), start=began))[1])[0] == "ok"

    discharge = _with_period(
        _example(SLHJ), start=began, end=(now + dt.timedelta(days=7)).isoformat()
    )
    status, body = post_signed(hospital, discharge)
    assert status == 400
    _refused_naming(body, "Encounter.period.end")
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"
    assert _open_stays(citizen, hospital).count() == 1
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, outcome="denied", reason_code=CODE
    ).exists()


def test_r12_a_period_a_little_ahead_of_our_clock_is_received(hospital, citizen):
    """The hospital's clock may run a few minutes ahead of ours."""
    referral = f.acute_referral(person=citizen, accepted=False)
    now = timezone.now()
    began = (now - dt.timedelta(hours=5)).isoformat()
    post_signed(hospital, _with_period(_example(STIN), start=began))
    discharge = _with_period(
        _example(SLHJ), start=began, end=(now + dt.timedelta(seconds=90)).isoformat()
    )
    assert ack_parts(post_signed(hospital, discharge)[1])[0] == "ok"
    referral.refresh_from_db()
    assert referral.on_hold_since is None
