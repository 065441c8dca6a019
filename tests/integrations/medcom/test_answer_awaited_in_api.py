"""The referral API marks, as the coordinator's board does, a referral with a
partner's CareCommunication awaiting the acute function's answer
(``answer_awaited``), on the board's list and on one referral, with one query
for the whole list: never what the message says."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Role
from integrations.models import CareThread
from tests import factories as f
from tests.integrations.medcom.peers import example, post_signed

pytestmark = pytest.mark.django_db

FIRST = "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"  # MedCom's new message: asks for results


def test_r11_the_referral_list_and_read_say_a_partners_message_awaits_an_answer(hospital, citizen):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    api = f.client_for(coordinator)
    referral = f.acute_referral(person=citizen, by=coordinator)
    other = f.acute_referral(by=coordinator)

    rows = {r["id"]: r for r in api.get("/api/acute/referrals").json()["results"]}
    assert rows[referral.pk]["answer_awaited"] is False
    assert api.get(f"/api/acute/referrals/{referral.pk}").json()["answer_awaited"] is False

    assert post_signed(hospital, example("carecommunication", FIRST))[0] == 200
    rows = {r["id"]: r for r in api.get("/api/acute/referrals").json()["results"]}
    assert rows[referral.pk]["answer_awaited"] is True
    assert rows[other.pk]["answer_awaited"] is False
    assert "examination-results" not in str(rows[referral.pk])
    one = api.get(f"/api/acute/referrals/{referral.pk}").json()
    assert one["answer_awaited"] is True

    # Answered in the thread: no longer awaited.
    thread = CareThread.objects.get()
    reply = api.post(
        f"/api/integrations/care-threads/{thread.pk}/reply",
        {"text": "Blodprøverne tages i aften."},
        format="json",
    )
    assert reply.status_code == 201
    rows = {r["id"]: r for r in api.get("/api/acute/referrals").json()["results"]}
    assert rows[referral.pk]["answer_awaited"] is False


def test_the_mark_costs_one_query_whatever_the_number_of_referrals(hospital, citizen):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    api = f.client_for(coordinator)
    f.acute_referral(person=citizen, by=coordinator)
    post_signed(hospital, example("carecommunication", FIRST))
    api.get("/api/acute/referrals")  # warm the token path

    def awaiting_queries() -> int:
        with CaptureQueriesContext(connection) as seen:
            assert api.get("/api/acute/referrals").status_code == 200
        return sum('"integrations_carethread"' in q["sql"] for q in seen.captured_queries)

    few = awaiting_queries()
    for _ in range(4):
        f.acute_referral(by=coordinator)
    assert awaiting_queries() == few == 1
