"""A partner's CareCommunication acknowledged ``ok`` waits for an answer, but
it is read only on the referral's page: the coordinator's board says which
open referral has a partner's message nobody has answered, and links to it,
until someone replies in the thread. A conversation the partner opened
before the citizen had a referral is shown on the referral she gets, and so
is its waiting."""

from __future__ import annotations

import pytest
from django.test import Client

from core.models import Role
from integrations.models import CareThread
from tests import factories as f
from tests.core.test_danish_pages import _read
from tests.integrations.medcom.peers import example, post_signed

pytestmark = pytest.mark.django_db

FIRST = "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"  # MedCom's new message: asks for results
WAITING = "En samarbejdspartners besked venter på svar"


def _coordinator() -> tuple[object, Client]:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    client = Client()
    assert f.log_in(client, coordinator).status_code == 302
    return coordinator, client


def _board(client: Client) -> tuple[str, str]:
    html = client.get("/coordinator/", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    text, _links = _read(html)
    return text, html


def test_r11_a_partners_message_on_an_open_referral_shows_on_the_board_until_answered(
    hospital, citizen
):
    coordinator, client = _coordinator()
    referral = f.acute_referral(person=citizen, by=coordinator)
    text, _html = _board(client)
    assert WAITING not in text

    status, _body = post_signed(hospital, example("carecommunication", FIRST))
    assert status == 200
    text, html = _board(client)
    assert WAITING in text
    assert f'href="/coordinator/referrals/{referral.pk}/#care-threads-title"' in html
    # The board says that a message waits, not what it says.
    assert "Til rette vedkommende" not in text and "examination-results" not in text

    thread = CareThread.objects.get()
    done = client.post(
        f"/care-threads/{thread.pk}/reply/",
        {"text": "Blodprøverne tages i aften.", "on": f"referral-{referral.pk}"},
    )
    assert done.status_code == 302
    assert WAITING not in _board(client)[0]


def test_a_conversation_opened_before_the_referral_waits_on_the_referral_she_gets(
    hospital, citizen
):
    status, _body = post_signed(hospital, example("carecommunication", FIRST))
    assert status == 200
    assert CareThread.objects.get().referral is None  # no referral to open it on
    coordinator, client = _coordinator()
    referral = f.acute_referral(person=citizen, by=coordinator)

    text, html = _board(client)
    assert WAITING in text
    assert f'data-answer-awaited="{referral.pk}"' in html
    # Another citizen's referral is not marked.
    other = f.acute_referral(by=coordinator)
    assert f'data-answer-awaited="{other.pk}"' not in _board(client)[1]
