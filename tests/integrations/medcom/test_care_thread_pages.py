"""A partner's CareCommunication as the coordinator (referral page) and the
nurse (visit page) read it: the author's contact named by its kind (an
e-mail address is never called a phone number), a link the partner attached
shown by its address, the text in its lines and as text, never markup, at
Copenhagen time. A reply refused (empty, too long) is on the citizen's log
as refused, with its reason, and nothing goes (R9)."""

from __future__ import annotations

import copy

import pytest
from django.test import Client

from acute.services import visit_assign
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.models import Role
from integrations.models import CareThread, OutboundMessage
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, example, post_signed

pytestmark = pytest.mark.django_db

# MedCom's example regarding a referral: a text, a PDF and a link to a web page.
ALL_CONTENT = "gfd00bc2-9c26-4174-934e-f6e4360845de"
FIRST = "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"  # MedCom's example: a new message


def _login(membership) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def _threads_on(page: str) -> str:
    start = page.index('<section class="card care-threads"')
    return page[start : page.index("</section>", start)]


def test_the_thread_reads_as_the_partner_wrote_it_on_the_referral_and_the_visit(hospital, citizen):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(person=citizen, by=coordinator)
    visit = visit_assign(referral=referral, shift=shift, actor=Actor.for_membership(coordinator))
    message = copy.deepcopy(example("carecommunication", ALL_CONTENT))
    communication = next(
        e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == "Communication"
    )
    first = communication["payload"][0]
    first["contentString"] = "Hej.\nBlodtryk 130/95.\n<script>alert(1)</script> Kære Søren"
    for extension in first["extension"]:
        if extension["url"].endswith("contact-extension"):
            extension["valueContactPoint"] = {"system": "email", "value": "emma@example.dk"}
    status, body = post_signed(hospital, message)
    assert (status, ack_parts(body)[0]) == (200, "ok")

    for who, url in (
        (coordinator, f"/coordinator/referrals/{referral.pk}/"),
        (nurse, f"/nurse/visits/{visit.pk}/"),
    ):
        shown = _threads_on(_login(who).get(url).content.decode())
        assert "e-mail emma@example.dk" in shown and "tlf. emma@example.dk" not in shown
        assert "tlf. 38683868" in shown  # the PDF's author gave a phone number
        assert "[Blodprøveresultater]" in shown
        # MedCom's link to a web page: its address, as text.
        assert "[medcom.dk] https://medcom.dk/" in shown and "<a " not in shown
        assert "Hej.<br>Blodtryk 130/95.<br>&lt;script&gt;alert(1)&lt;/script&gt; Kære" in shown
        assert "1. maj 12:00" in shown  # 10:00 UTC, summer time in Copenhagen
        assert "regarding-referral" not in shown and "Vedr. henvisning" in shown


@pytest.mark.parametrize(
    ("text", "code", "said"),
    [
        ("   ", "care_thread.reply_empty", "Skriv svaret."),
        ("x" * 4001, "care_thread.reply_too_long", "højst være på 4000 tegn"),
    ],
    ids=["empty", "too-long"],
)
def test_r9_a_refused_reply_is_logged_as_refused_and_nothing_goes(
    hospital, citizen, text, code, said
):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)
    post_signed(hospital, example("carecommunication", FIRST))
    thread = CareThread.objects.get()
    client = _login(coordinator)
    done = client.post(
        f"/care-threads/{thread.pk}/reply/", {"text": text, "on": f"referral-{referral.pk}"}
    )
    assert done.status_code == 400
    assert said in done.content.decode()
    assert not OutboundMessage.objects.filter(event="care-communication-reply").exists()
    assert not thread.messages.filter(direction="out").exists()
    refused = AuditEntry.objects.get(
        citizen_id=citizen.pk,
        resource_type="Communication",
        resource_id=f"care-thread-{thread.pk}",
        action="create",
        outcome="denied",
    )
    assert refused.reason_code == code
    assert refused.actor_user_id == coordinator.user_id
