"""R12: a hospital notification reports what has happened. One whose
``Provenance.occurredDateTime`` lies ahead (a discharge stamped next month,
a typo in the year) was received as if it had, and being the stay's latest
event it outranked every true one until then: the referrals resumed at
once, and the citizen's re-admission the same day was acknowledged ``ok``
and changed nothing (``superseded_by``), so a nurse could be sent to the
home of a citizen lying in hospital. It is refused whole."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from consent.audit.models import AuditEntry
from integrations.models import InboundMessage
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, header_id, post_signed
from tests.integrations.medcom.test_hospital_notification import SLHJ, STIN, _example, _sent_anew
from tests.integrations.medcom.test_stay_order import _occurred, _open_stays

pytestmark = pytest.mark.django_db


def test_r12_a_discharge_stamped_in_the_future_is_refused_and_the_hold_stays(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    now = timezone.now()
    admission = _occurred(_example(STIN), (now - dt.timedelta(hours=2)).isoformat())
    assert ack_parts(post_signed(hospital, admission)[1])[0] == "ok"

    ahead = _occurred(_example(SLHJ), (now + dt.timedelta(days=30)).isoformat())
    status, body = post_signed(hospital, ahead)
    assert (status, ack_parts(body)[0]) == (400, "fatal-error")
    assert ack_parts(body)[2] == ["MSG_PARAM_INVALID"]
    refused = InboundMessage.objects.get(partner=hospital, header_id=header_id(ahead))
    assert refused.reason_code == "hospital.occurred_in_future"
    # Nothing changed: she is still in hospital, her referral still held.
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"
    assert _open_stays(citizen, hospital).count() == 1
    # R9: the refused message is a denied attempt on her record.
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, outcome="denied", reason_code="hospital.occurred_in_future"
    ).exists()

    # The true discharge, stamped now, ends the stay as any discharge does.
    discharge = _occurred(_sent_anew(_example(SLHJ)), timezone.now().isoformat())
    assert ack_parts(post_signed(hospital, discharge)[1])[0] == "ok"
    referral.refresh_from_db()
    assert referral.on_hold_since is None
    assert not _open_stays(citizen, hospital).exists()


def test_r12_a_readmission_after_a_refused_future_discharge_holds_again(hospital, citizen):
    """Had the future discharge been kept, this re-admission would have been
    superseded by it and held nothing."""
    referral = f.acute_referral(person=citizen, accepted=False)
    now = timezone.now()
    post_signed(hospital, _occurred(_example(STIN), (now - dt.timedelta(hours=3)).isoformat()))
    post_signed(hospital, _occurred(_example(SLHJ), (now + dt.timedelta(days=30)).isoformat()))
    true_discharge = _occurred(
        _sent_anew(_example(SLHJ)), (now - dt.timedelta(hours=1)).isoformat()
    )
    assert ack_parts(post_signed(hospital, true_discharge)[1])[0] == "ok"
    again = _occurred(_sent_anew(_example(STIN)), timezone.now().isoformat())
    assert ack_parts(post_signed(hospital, again)[1])[0] == "ok"
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"
    assert _open_stays(citizen, hospital).count() == 1
    assert "superseded_by" not in InboundMessage.objects.get(header_id=header_id(again)).result


def test_r12_a_notification_a_few_seconds_ahead_of_our_clock_is_received(hospital, citizen):
    """The hospital's clock may run a little ahead of ours: within the few
    minutes clocks are allowed to differ, the discharge is taken."""
    referral = f.acute_referral(person=citizen, accepted=False)
    now = timezone.now()
    post_signed(hospital, _occurred(_example(STIN), (now - dt.timedelta(hours=2)).isoformat()))
    discharge = _occurred(_example(SLHJ), (now + dt.timedelta(seconds=90)).isoformat())
    assert ack_parts(post_signed(hospital, discharge)[1])[0] == "ok"
    referral.refresh_from_db()
    assert referral.on_hold_since is None
