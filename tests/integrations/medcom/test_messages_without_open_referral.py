"""A partner's CareCommunication that no referral page shows — a new
conversation about a citizen without a referral, home nursing's answer after
the episode closed — is acknowledged ``ok``, so the partner waits for an
answer. The coordinator's board lists it under "Beskeder uden åbent forløb"
(the citizen named, no CPR number in any address, every showing audited,
R9); she opens it, replies in the same thread (a MedCom CareCommunication
reply) or marks it handled, on the pages and through the API
(docs/decisions/0031-a-message-without-an-open-referral-is-the-boards.md)."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.utils import timezone

from consent.audit.models import AuditEntry
from consent.models import ConsentDirective
from core.models import Membership, Organisation, Role
from integrations.messages import Event
from integrations.models import CareMessage, CareThread, OutboundMessage
from tests import factories as f
from tests.core.test_danish_pages import _read
from tests.integrations.medcom.peers import ack_parts, example, post_signed
from tests.integrations.medcom.test_replies_to_our_outcomes import _handed_back, _left, _reply

pytestmark = pytest.mark.django_db

FIRST = "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"  # MedCom's new message: asks for results
LIST = "Beskeder uden åbent forløb"


def _coordinator() -> tuple[Membership, Client]:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    client = Client()
    assert f.log_in(client, coordinator).status_code == 302
    return coordinator, client


def _board(client: Client) -> tuple[str, str]:
    html = client.get("/coordinator/", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    return _read(html)[0], html


def _unmatched(thread: CareThread) -> str:
    return f'data-unmatched-thread="{thread.pk}"'


def test_r9_a_new_message_about_a_citizen_without_a_referral_is_on_the_board(hospital, citizen):
    status, body = post_signed(hospital, example("carecommunication", FIRST))
    assert (status, ack_parts(body)[0]) == (200, "ok")
    thread = CareThread.objects.get()
    assert thread.referral is None
    _membership, client = _coordinator()

    text, html = _board(client)
    assert LIST in text and _unmatched(thread) in html
    assert f"{citizen.given_name} {citizen.family_name}" in text
    assert f'href="/care-threads/{thread.pk}/"' in html
    assert citizen.cpr not in html
    # The board says that a message waits and from whom, not what it says.
    assert "Til rette vedkommende" not in text
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, reason_code="care_thread_unmatched", action="search"
    ).exists()

    page = client.get(f"/care-threads/{thread.pk}/", HTTP_ACCEPT_LANGUAGE="da")
    assert page.status_code == 200
    shown = _read(page.content.decode())[0]
    assert "Besked uden åbent forløb" in shown
    assert thread.messages.get().text[:20] in page.content.decode()
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk,
        reason_code="care_thread_unmatched",
        action="read",
        resource_id=f"care-thread-{thread.pk}",
    ).exists()


def test_r11_the_coordinators_reply_goes_out_in_the_thread_and_leaves_the_board(hospital, citizen):
    post_signed(hospital, example("carecommunication", FIRST))
    thread = CareThread.objects.get()
    _coordinator_membership, client = _coordinator()
    answered = client.post(
        f"/care-threads/{thread.pk}/reply/",
        {"text": "Borgeren har ikke et forløb hos os; ring til os.", "on": f"thread-{thread.pk}"},
    )
    assert answered.status_code == 302 and answered["Location"] == f"/care-threads/{thread.pk}/"
    [sent] = OutboundMessage.objects.filter(event=Event.CARE_COMMUNICATION_REPLY)
    assert sent.partner == hospital and sent.citizen_id == citizen.pk
    communication = next(
        e["resource"]
        for e in sent.bundle["entry"]
        if e["resource"]["resourceType"] == "Communication"
    )
    assert communication["identifier"][0]["value"] == thread.identifier
    assert _unmatched(thread) not in _board(client)[1]


def test_marked_handled_it_leaves_the_board_until_the_partner_writes_again(hospital, citizen):
    post_signed(hospital, example("carecommunication", FIRST))
    thread = CareThread.objects.get()
    _membership, client = _coordinator()
    done = client.post(f"/care-threads/{thread.pk}/handled/", HTTP_ACCEPT_LANGUAGE="da")
    assert done.status_code == 302
    assert _unmatched(thread) not in _board(client)[1]
    thread.refresh_from_db()
    assert thread.handled_at is not None and thread.handled_through is not None
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, reason_code="care_thread_handled", action="update"
    ).exists()
    # Nothing went to the partner.
    assert not OutboundMessage.objects.filter(event=Event.CARE_COMMUNICATION_REPLY).exists()
    # The partner's next message puts it back.
    CareMessage.objects.create(
        thread=thread,
        identifier=f"urn:uuid:{uuid.uuid4()}",
        header_id=str(uuid.uuid4()),
        direction=CareMessage.Direction.IN,
        text="Har I set vores besked?",
        written_at=timezone.now(),
    )
    assert _unmatched(thread) in _board(client)[1]


def test_r11_home_nursings_answer_after_the_episode_closed_is_on_the_board():
    ours, own, referral = _handed_back()
    _left(ours)
    status, body = post_signed(own, _reply(ours, "Hvornår skal kateteret skiftes?"))
    assert (status, ack_parts(body)[0]) == (200, "ok")
    thread = CareThread.objects.get()
    referral.refresh_from_db()
    assert thread.referral == referral and referral.status == "closed"
    _membership, client = _coordinator()
    assert _unmatched(thread) in _board(client)[1]
    page = client.get(f"/care-threads/{thread.pk}/", HTTP_ACCEPT_LANGUAGE="da")
    assert page.status_code == 200
    assert "Hvornår skal kateteret skiftes?" in page.content.decode()


def test_a_thread_an_open_referral_shows_is_not_on_the_list(hospital, citizen):
    coordinator, client = _coordinator()
    referral = f.acute_referral(person=citizen, by=coordinator)
    post_signed(hospital, example("carecommunication", FIRST))
    thread = CareThread.objects.get()
    assert thread.referral == referral
    assert _unmatched(thread) not in _board(client)[1]
    # Read on the referral's page, not here.
    assert client.get(f"/care-threads/{thread.pk}/").status_code == 403


def test_r1_another_function_and_other_roles_do_not_see_it(hospital, citizen):
    post_signed(hospital, example("carecommunication", FIRST))
    thread = CareThread.objects.get()
    # An acute function that does not serve the citizen's municipality.
    elsewhere = f.organisation(Organisation.Kind.ACUTE_FUNCTION, "Akutfunktionen andetsteds")
    stranger = f.staff(Role.COORDINATOR, elsewhere)
    response = f.client_for(stranger).get("/api/integrations/care-threads/unmatched")
    assert response.status_code == 200 and response.json()["results"] == []
    assert (
        f.client_for(stranger).get(f"/api/integrations/care-threads/{thread.pk}").status_code == 404
    )
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function())
    assert f.client_for(nurse).get("/api/integrations/care-threads/unmatched").status_code == 403
    assert f.client_for(nurse).get(f"/api/integrations/care-threads/{thread.pk}").status_code == 404
    assert (
        f.client_for(nurse).post(f"/api/integrations/care-threads/{thread.pk}/handled").status_code
        == 403
    )


def test_r4_a_citizen_who_refused_the_function_is_not_named_nor_her_message_opened(
    hospital, citizen
):
    post_signed(hospital, example("carecommunication", FIRST))
    thread = CareThread.objects.get()
    coordinator, client = _coordinator()
    directive = ConsentDirective.objects.create(
        citizen=citizen,
        provision=ConsentDirective.Provision.DENY,
        given_how=ConsentDirective.GivenHow.choices[0][0],
        recorded_by=coordinator.user,
        recorded_by_organisation=coordinator.organisation,
    )
    directive.recipient_organisations.set([f.acute_function()])
    text, html = _board(client)
    assert _unmatched(thread) in html
    assert citizen.family_name not in text and f'href="/care-threads/{thread.pk}/"' not in html
    assert client.get(f"/care-threads/{thread.pk}/").status_code == 403
    [row] = (
        f.client_for(coordinator).get("/api/integrations/care-threads/unmatched").json()["results"]
    )
    assert row["citizen_refused"] is True and row["citizen"] is None and row["topic"] is None
    # She may still mark it handled once she has phoned the partner.
    marked = f.client_for(coordinator).post(f"/api/integrations/care-threads/{thread.pk}/handled")
    assert marked.status_code == 200


def test_the_api_lists_opens_answers_and_marks_handled(hospital, citizen):
    post_signed(hospital, example("carecommunication", FIRST))
    thread = CareThread.objects.get()
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    api = f.client_for(coordinator)

    [row] = api.get("/api/integrations/care-threads/unmatched").json()["results"]
    assert row["id"] == thread.pk and row["partner"] == hospital.code
    assert row["citizen"] == {
        "id": citizen.pk,
        "name": f"{citizen.given_name} {citizen.family_name}",
    }
    one = api.get(f"/api/integrations/care-threads/{thread.pk}")
    assert one.status_code == 200
    assert [s["direction"] for s in one.json()["segments"]] == ["in"]

    empty = api.post(
        f"/api/integrations/care-threads/{thread.pk}/reply", {"text": " "}, format="json"
    )
    assert (empty.status_code, empty.json()["error"]["code"]) == (400, "care_thread.reply_empty")
    reply = api.post(
        f"/api/integrations/care-threads/{thread.pk}/reply",
        {"text": "Vi har ikke borgeren; ring til os."},
        format="json",
    )
    assert reply.status_code == 201 and reply.json()["direction"] == "out"
    assert OutboundMessage.objects.filter(
        event=Event.CARE_COMMUNICATION_REPLY, partner=hospital
    ).exists()
    # Answered: off the list, and nothing left to mark.
    assert api.get("/api/integrations/care-threads/unmatched").json()["results"] == []
    again = api.post(f"/api/integrations/care-threads/{thread.pk}/handled")
    assert (again.status_code, again.json()["error"]["code"]) == (
        409,
        "care_thread.already_handled",
    )


def test_marked_handled_twice_through_the_api_the_first_stands(hospital, citizen):
    post_signed(hospital, example("carecommunication", FIRST))
    thread = CareThread.objects.get()
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    api = f.client_for(coordinator)
    first = api.post(f"/api/integrations/care-threads/{thread.pk}/handled")
    assert first.status_code == 200 and first.json()["handled_by"] == coordinator.user.username
    assert api.get("/api/integrations/care-threads/unmatched").json()["results"] == []
    second = api.post(f"/api/integrations/care-threads/{thread.pk}/handled")
    assert second.status_code == 409
