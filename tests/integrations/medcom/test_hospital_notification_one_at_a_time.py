"""Two HospitalNotifications about the same citizen processed at the same
moment are processed one after the other (R12): the message takes the
citizen's row before it reads her stay, so the second reads the stay as the
first left it (never held twice, never resumed before the admission it ends
is in)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from core.models import Citizen
from tests import factories as f
from tests.integrations.medcom.test_hospital_notification import STIN, _ack, _example, _post

# Row locks are PostgreSQL's: SQLite takes one writer at a time and has none.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_r12_a_message_about_a_citizen_waits_for_the_one_in_hand(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    in_hand, release = threading.Event(), threading.Event()
    answers: list[tuple[int, str]] = []

    def other_message() -> None:
        # Another message about her, in the middle of its transaction (its
        # lock on her row taken so as not to stop rows that merely refer to
        # her being written: only a message that asks for her row waits).
        try:
            with transaction.atomic():
                Citizen.objects.select_for_update(no_key=True).get(pk=citizen.pk)
                in_hand.set()
                release.wait(10)
        finally:
            connection.close()

    def admission() -> None:
        try:
            status, body = _post(hospital, _example(STIN))
            answers.append((status, _ack(body)[0]))
        finally:
            connection.close()

    holder = threading.Thread(target=other_message)
    holder.start()
    assert in_hand.wait(10)
    waiting = threading.Thread(target=admission)
    waiting.start()
    waiting.join(3)
    try:
        assert waiting.is_alive(), "the admission did not wait for the message in hand"
        referral.refresh_from_db()
        assert referral.on_hold_since is None
    finally:
        release.set()
        holder.join(10)
        waiting.join(30)
    assert answers == [(200, "ok")]
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"
