"""The hospital's time for the follow-up after discharge (``ServiceRequest.
occurrence[x]``, R10) over real HTTP: a time sooner than the urgency's is the
deadline; a visit planned for later ("tomorrow between 9 and 12") is taken in
as planned, due by the period's end and read back as the hospital sent it; a
time more than 14 days ahead or without its UTC offset is refused with its
code, and the discharge does not half happen."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from acute.models import Referral
from acute.selectors import dispatch_rank
from acute.services import deadline_watch
from consent.audit.models import AuditEntry
from consent.models import CareRelationship
from core.fhir.patient import patient_resource
from integrations.simulators import hospital_notification
from tests import factories as f
from tests.integrations.helpers import ack_of, notify_hospital

pytestmark = pytest.mark.django_db(transaction=True)

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def _discharge(sim, citizen, encounter_id: str, **occurrence):
    message = hospital_notification(
        sender_code=sim.code,
        patient=patient_resource(citizen),
        encounter_id=encounter_id,
        admitted=False,
        follow_up_reason="Kontrol af væsketal",
    )
    [request] = [
        e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == "ServiceRequest"
    ]
    request.update(occurrence)
    [reply] = sim.send(message)
    return reply


def test_a_follow_up_asked_for_sooner_than_next_day_is_due_then(live_network) -> None:
    citizen = f.citizen()
    sim = live_network.sims["hospital"]
    assert ack_of(notify_hospital(sim, citizen, encounter_id="E21", admitted=True))[0] == "ok"
    by = (timezone.now() + timedelta(hours=3)).replace(microsecond=0)
    reply = _discharge(
        sim,
        citizen,
        "E21",
        occurrencePeriod={
            "start": (timezone.now() - timedelta(minutes=1)).isoformat(),
            "end": by.astimezone(COPENHAGEN).isoformat(),
        },
    )
    assert ack_of(reply)[0] == "ok"
    follow_up = Referral.objects.get(citizen=citizen, source=Referral.Source.HOSPITAL)
    assert follow_up.urgency == "next_day"
    assert follow_up.deadline_at == by


def _days_ahead_at(days: int, hour: int) -> str:
    day = (timezone.now().astimezone(COPENHAGEN) + timedelta(days=days)).date()
    return datetime.combine(day, time(hour), tzinfo=COPENHAGEN).isoformat()


def _tomorrow_at(hour: int) -> str:
    return _days_ahead_at(1, hour)


def test_r10_a_follow_up_tomorrow_between_9_and_12_is_planned_and_due_by_12(
    live_network,
) -> None:
    citizen = f.citizen()
    sim = live_network.sims["hospital"]
    assert ack_of(notify_hospital(sim, citizen, encounter_id="E23", admitted=True))[0] == "ok"
    period = {"start": _tomorrow_at(9), "end": _tomorrow_at(12)}
    assert ack_of(_discharge(sim, citizen, "E23", occurrencePeriod=period))[0] == "ok"
    follow_up = Referral.objects.get(citizen=citizen, source=Referral.Source.HOSPITAL)
    assert follow_up.planned_for == datetime.fromisoformat(period["start"])
    assert follow_up.deadline_at == datetime.fromisoformat(period["end"])
    assert follow_up.requested_occurrence == {"occurrencePeriod": period}
    # Not judged by the deadline watch, nor offered to a nurse, before 08:00.
    assert deadline_watch() == {"at_risk": 0, "overdue": 0}
    assert dispatch_rank(referral=follow_up) == []


@pytest.mark.parametrize(
    ("occurrence", "code"),
    [
        (
            {"occurrencePeriod": {"start": _days_ahead_at(15, 9)}},
            "referral.occurrence_too_far_ahead",
        ),
        ({"occurrenceDateTime": _tomorrow_at(9)[:19]}, "referral.occurrence_offset_missing"),
    ],
)
def test_a_follow_up_time_that_cannot_be_honoured_refuses_the_discharge_whole(
    live_network, occurrence, code
) -> None:
    citizen = f.citizen()
    sim = live_network.sims["hospital"]
    assert ack_of(notify_hospital(sim, citizen, encounter_id="E22", admitted=True))[0] == "ok"
    answer, _, outcome = ack_of(_discharge(sim, citizen, "E22", **occurrence))
    assert answer == "fatal-error"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == code
    assert not Referral.objects.filter(citizen=citizen).exists()
    assert CareRelationship.objects.get(citizen=citizen).ended_at is None
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, outcome="denied", reason_code=code
    ).exists()
