"""1813's own time for the visit (``ServiceRequest.occurrence[x]``, R10) over
real HTTP: a sooner time than the urgency's becomes the deadline, a resend
with a sooner time tightens it and a later one never relaxes it, and a time
the platform cannot honour (gone by, reversed, more than 14 days ahead) gets
a fatal-error acknowledgement naming why,
nothing written and the attempt denied on the citizen's record."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from acute.models import Referral
from consent.audit.models import AuditEntry
from core.fhir.patient import patient_resource
from integrations.simulators import helpline_referral
from tests import factories as f
from tests.integrations.helpers import ack_of

pytestmark = pytest.mark.django_db(transaction=True)

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def _local(moment) -> str:
    return moment.astimezone(COPENHAGEN).replace(microsecond=0).isoformat()


def _referral(sim, citizen, *, case_id: str, priority: str = "urgent", **occurrence):
    message = helpline_referral(
        sender_code=sim.code,
        patient=patient_resource(citizen),
        reason="Feber og forvirring",
        case_id=case_id,
        priority=priority,
    )
    message["entry"][2]["resource"].update(occurrence)
    [reply] = sim.send(message)
    return reply


def test_a_1813_time_sooner_than_the_urgency_is_the_deadline_and_resends_never_relax_it(
    live_network,
) -> None:
    citizen = f.citizen()
    sim = live_network.sims["1813"]
    sooner = (timezone.now() + timedelta(minutes=45)).replace(microsecond=0)
    reply = _referral(sim, citizen, case_id="1813-0101", occurrenceDateTime=_local(sooner))
    assert ack_of(reply)[0] == "ok"
    referral = Referral.objects.get(citizen=citizen)
    assert (referral.urgency, referral.deadline_at) == ("within_shift", sooner)

    # 1813 calls back: she is to be seen sooner still.
    sooner_still = (timezone.now() + timedelta(minutes=20)).replace(microsecond=0)
    reply = _referral(sim, citizen, case_id="1813-0101", occurrenceDateTime=_local(sooner_still))
    assert ack_of(reply)[0] == "ok"
    referral.refresh_from_db()
    assert referral.deadline_at == sooner_still

    # A later time, sent again, never relaxes it.
    later = timezone.now() + timedelta(hours=3)
    reply = _referral(sim, citizen, case_id="1813-0101", occurrenceDateTime=_local(later))
    assert ack_of(reply)[0] == "ok"
    referral.refresh_from_db()
    assert referral.deadline_at == sooner_still
    assert Referral.objects.filter(citizen=citizen).count() == 1


@pytest.mark.parametrize(
    ("occurrence", "code"),
    [
        ({"occurrenceDateTime": -60}, "referral.occurrence_past"),
        ({"occurrenceDateTime": "naive"}, "referral.occurrence_offset_missing"),
        ({"occurrencePeriod": (60, 10)}, "referral.occurrence_period_reversed"),
        ({"occurrencePeriod": (15 * 24 * 60, None)}, "referral.occurrence_too_far_ahead"),
        # 14 hours east of UTC, the first minute there is lies before it in UTC.
        ({"occurrenceDateTime": "0001-01-01T00:00:00+14:00"}, "time.out_of_range"),
    ],
)
def test_a_1813_time_that_cannot_be_honoured_is_fatal_and_audited(
    live_network, occurrence, code
) -> None:
    now = timezone.now()

    def at(minutes):
        return _local(now + timedelta(minutes=minutes)) if minutes is not None else None

    ((element, value),) = occurrence.items()
    if value == "naive":
        value = (now + timedelta(hours=1)).astimezone(COPENHAGEN).strftime("%Y-%m-%dT%H:%M:%S")
    elif isinstance(value, str):
        pass
    elif isinstance(value, tuple):
        value = {k: at(v) for k, v in zip(("start", "end"), value, strict=True) if v is not None}
    else:
        value = at(value)
    citizen = f.citizen()
    reply = _referral(live_network.sims["1813"], citizen, case_id="1813-0102", **{element: value})
    answer, _, outcome = ack_of(reply)
    assert (reply.status, answer) == (400, "fatal-error")
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == code
    assert not Referral.objects.exists()
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, outcome="denied", reason_code=code
    ).exists()
