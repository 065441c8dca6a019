"""1813 sends one case twice at once, as two messages (new message ids, the
same case id), over real HTTP with real concurrent transactions on
PostgreSQL: both are acknowledged ok and name the one referral, as a copy of
one message gets the first acknowledgement."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from acute.models import Referral
from core.fhir.patient import patient_resource
from core.models import Citizen
from integrations.models import InboundMessage
from integrations.simulators import helpline_referral
from integrations.transport import HttpReply, close_connections
from tests import factories as f
from tests.integrations.helpers import ack_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _send_at_once(sim, messages: list[dict]) -> list[HttpReply]:
    barrier = threading.Barrier(len(messages))
    replies: list[HttpReply | None] = [None] * len(messages)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            [replies[index]] = sim.send(messages[index])
        finally:
            close_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(messages))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(reply is not None for reply in replies)
    return [reply for reply in replies if reply is not None]


def test_one_1813_case_sent_twice_at_once_is_one_referral_both_acknowledged_ok(
    live_network,
) -> None:
    sim = live_network.sims["1813"]
    for attempt in range(3):
        citizen = f.citizen()
        case_id = f"1813-twice-{attempt}"
        messages = [
            helpline_referral(
                sender_code=sim.code,
                patient=patient_resource(citizen),
                reason="Faldet, kan ikke rejse sig",
                case_id=case_id,
            )
            for _copy in range(2)
        ]
        replies = _send_at_once(sim, messages)
        assert [(r.status, ack_of(r)[0]) for r in replies] == [(200, "ok"), (200, "ok")], [
            r.body for r in replies
        ]
        referral = Referral.objects.get(citizen=citizen)
        assert referral.external_id == case_id
        stored = InboundMessage.objects.filter(citizen=citizen)
        assert sorted(m.result["referral"] for m in stored) == [referral.pk, referral.pk]


def test_two_1813_cases_for_one_new_citizen_at_once_register_the_citizen_once(
    live_network,
) -> None:
    """Two different cases about a citizen the platform has never seen, sent at
    the same moment: both are acknowledged ok, the citizen is registered once,
    and each case is a referral of that one citizen."""
    sim = live_network.sims["1813"]
    for attempt in range(3):
        unsaved = f.citizen()
        patient = patient_resource(unsaved)
        cpr = unsaved.cpr
        unsaved.delete()
        messages = [
            helpline_referral(
                sender_code=sim.code,
                patient=patient,
                reason="Faldet, kan ikke rejse sig",
                case_id=f"1813-new-{attempt}-{case}",
            )
            for case in ("a", "b")
        ]
        replies = _send_at_once(sim, messages)
        assert [(r.status, ack_of(r)[0]) for r in replies] == [(200, "ok"), (200, "ok")], [
            r.body for r in replies
        ]
        [citizen] = Citizen.objects.filter(cpr=cpr)
        assert sorted(
            Referral.objects.filter(citizen=citizen).values_list("external_id", flat=True)
        ) == [
            f"1813-new-{attempt}-a",
            f"1813-new-{attempt}-b",
        ]


def test_one_1813_message_arriving_three_times_at_once_is_received_once_and_answered_alike(
    live_network,
) -> None:
    """The same message (one Bundle.id) resent by 1813 before its first copy
    was answered: one referral, one message received, and every copy gets
    the first copy's acknowledgement, never one of its own."""
    sim = live_network.sims["1813"]
    for attempt in range(3):
        citizen = f.citizen()
        message = helpline_referral(
            sender_code=sim.code,
            patient=patient_resource(citizen),
            reason="Faldet, kan ikke rejse sig",
            case_id=f"1813-copies-{attempt}",
        )
        replies = _send_at_once(sim, [message, message, message])
        answers = {(r.status, ack_of(r)[:2]) for r in replies}
        assert len(answers) == 1, [r.body for r in replies]
        [(status, (code, _ack_id))] = answers
        assert (status, code) == (200, "ok")
        assert Referral.objects.filter(citizen=citizen).count() == 1
        assert InboundMessage.objects.filter(citizen=citizen).count() == 1
