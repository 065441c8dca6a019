"""Replies in a CareCommunication thread, as the coordinator and the nurse
send them from their pages: a reply the citizen's refusal withholds (R4) is
kept and the person told so, never reported as sent; the form sent twice (a
double click) is one reply; a home nurse may not write in the acute
function's thread, and the attempt is audited on the citizen (R9); what a
partner wrote is shown as text, never as markup, and its author by name and
title, never MedCom's role code."""

from __future__ import annotations

import pytest
from django.test import Client

from consent.audit.models import AuditEntry, Purpose
from consent.services import consent_create
from core.actors import Actor
from core.models import Role
from integrations.models import CareThread, OutboundMessage
from tests import factories as f
from tests.consent import bodies
from tests.integrations.medcom.peers import example, post_signed

pytestmark = pytest.mark.django_db

FIRST = "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"  # MedCom's example: a new message


def _login(membership) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def _thread(hospital, citizen):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)
    post_signed(hospital, example("carecommunication", FIRST))
    return coordinator, referral, CareThread.objects.get()


def _reply_page(coordinator, referral, thread) -> str:
    """The referral page the coordinator is led back to after replying."""
    client = _login(coordinator)
    done = client.post(
        f"/care-threads/{thread.pk}/reply/",
        {"text": "Blodprøverne tages i aften.", "on": f"referral-{referral.pk}"},
    )
    assert done.status_code == 302
    return client.get(done["Location"]).content.decode()


def test_r4_a_reply_the_citizens_refusal_withholds_is_kept_and_the_person_told(hospital, citizen):
    coordinator, referral, thread = _thread(hospital, citizen)
    admin = Actor.for_membership(f.staff(Role.ADMINISTRATOR, f.acute_function()))
    consent_create(
        actor=admin,
        data=bodies.refusal(citizen.pk, organisations=[hospital.organisation.pk]),
        purpose=Purpose.OPERATIONS,
    )
    page = _reply_page(coordinator, referral, thread)
    assert "Svaret er gemt og er på vej" not in page
    assert "borgeren har frabedt sig videregivelse til Herlev og Gentofte" in page
    sent = OutboundMessage.objects.get(event="care-communication-reply")
    assert sent.status == OutboundMessage.Status.WITHHELD
    assert thread.messages.filter(direction="out").count() == 1  # kept, not dropped


def test_a_reply_is_told_as_on_its_way_until_the_partner_has_it(hospital, citizen):
    coordinator, referral, thread = _thread(hospital, citizen)
    page = _reply_page(coordinator, referral, thread)
    sent = OutboundMessage.objects.get(event="care-communication-reply")
    assert sent.status == OutboundMessage.Status.PENDING
    partner = hospital.organisation.name
    assert f"Svaret er gemt og er på vej til {partner}." in page
    assert "Svaret er sendt" not in page


def test_the_reply_form_sent_twice_is_one_reply(hospital, citizen):
    coordinator, referral, thread = _thread(hospital, citizen)
    client = _login(coordinator)
    page = client.get(f"/coordinator/referrals/{referral.pk}/").content.decode()
    ref = page.split('name="form_ref" value="', 1)[1].split('"', 1)[0]
    form = {"text": "Jeg ringer.", "on": f"referral-{referral.pk}", "form_ref": ref}
    first = client.post(f"/care-threads/{thread.pk}/reply/", form)
    again = client.post(f"/care-threads/{thread.pk}/reply/", form)
    assert first.status_code == again.status_code == 302
    assert thread.messages.filter(direction="out").count() == 1
    assert OutboundMessage.objects.filter(event="care-communication-reply").count() == 1
    assert "Svaret er allerede modtaget." in client.get(again["Location"]).content.decode()


def test_a_home_nurse_may_not_reply_and_the_attempt_is_audited(hospital, citizen):
    _coordinator, _referral, thread = _thread(hospital, citizen)
    home_nurse = f.staff(Role.HOME_NURSE, f.home_nursing("157"))
    refused = _login(home_nurse).post(f"/care-threads/{thread.pk}/reply/", {"text": "Hej"})
    assert refused.status_code in (403, 404)
    assert not thread.messages.filter(direction="out").exists()
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, resource_type="Communication", outcome="denied"
    ).exists()


def test_a_reply_with_a_nul_character_is_refused_and_nothing_goes(hospital, citizen):
    coordinator, referral, thread = _thread(hospital, citizen)
    done = _login(coordinator).post(
        f"/care-threads/{thread.pk}/reply/", {"text": "a\x00b", "on": f"referral-{referral.pk}"}
    )
    assert done.status_code == 400
    assert not thread.messages.filter(direction="out").exists()


def test_a_reply_longer_than_kept_is_refused_and_markup_is_shown_as_text(hospital, citizen):
    coordinator, referral, thread = _thread(hospital, citizen)
    client = _login(coordinator)
    long = client.post(
        f"/care-threads/{thread.pk}/reply/", {"text": "x" * 4001, "on": f"referral-{referral.pk}"}
    )
    assert long.status_code == 400
    assert "højst være på 4000 tegn" in long.content.decode()
    client.post(
        f"/care-threads/{thread.pk}/reply/",
        {"text": "<script>alert(1)</script>", "on": f"referral-{referral.pk}"},
    )
    page = client.get(f"/coordinator/referrals/{referral.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_partners_author_is_shown_by_title_never_by_medcoms_role_code(hospital, citizen):
    coordinator, referral, thread = _thread(hospital, citizen)
    # MedCom's example names its author by code only: sygeplejerske.
    assert thread.messages.get().author == "Michael Burns, Sygeplejerske"
    page = _login(coordinator).get(f"/coordinator/referrals/{referral.pk}/").content.decode()
    assert "Michael Burns, Sygeplejerske" in page
    assert "Burns, sygeplejerske" not in page


def test_a_reply_held_back_as_it_breaks_medcoms_rules_is_never_reported_sent(hospital, citizen):
    """The hospital's organisation has lost the SOR code and EAN number MedCom
    names a receiver by: the reply is kept and parked for a person, and the
    one who wrote it is told it was not sent."""
    coordinator, referral, thread = _thread(hospital, citizen)
    type(hospital.organisation).objects.filter(pk=hospital.organisation_id).update(
        sor_code=None, ean=None
    )
    page = _reply_page(coordinator, referral, thread)
    assert "Svaret er gemt og er på vej" not in page
    assert "Svaret er gemt, men ikke sendt: det kunne ikke laves til en gyldig meddelelse." in page
    sent = OutboundMessage.objects.get(event="care-communication-reply")
    assert sent.status == OutboundMessage.Status.FAILED
    assert thread.messages.filter(direction="out").count() == 1
