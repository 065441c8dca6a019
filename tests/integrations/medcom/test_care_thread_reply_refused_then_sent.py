"""A reply refused (nothing written) frees its form: the coordinator
corrects it and sends the same form again, and the reply goes — once, even
if that corrected form is then sent twice (``core.form_once``). It comes
back as she wrote it, the refusal under it: a long reply refused for one
word is corrected, not typed again."""

from __future__ import annotations

import html

import pytest

from integrations.models import OutboundMessage
from tests.integrations.medcom.test_care_thread_replies import _login, _thread
from tests.sent_twice import ref_for

pytestmark = pytest.mark.django_db


def test_a_refused_reply_frees_its_form_for_the_corrected_one(hospital, citizen):
    coordinator, referral, thread = _thread(hospital, citizen)
    client = _login(coordinator)
    reply = f"/care-threads/{thread.pk}/reply/"
    ref = ref_for(client, f"/coordinator/referrals/{referral.pk}/", reply)
    form = {"on": f"referral-{referral.pk}", "form_ref": ref}

    refused = client.post(reply, {**form, "text": "   "})
    corrected = client.post(reply, {**form, "text": "Jeg ringer."})
    again = client.post(reply, {**form, "text": "Jeg ringer."})

    assert refused.status_code == 400
    assert corrected.status_code == again.status_code == 302
    assert thread.messages.filter(direction="out").count() == 1
    assert OutboundMessage.objects.filter(event="care-communication-reply").count() == 1
    assert "Svaret er allerede modtaget." in client.get(again["Location"]).content.decode()


def test_a_reply_refused_comes_back_as_written_and_the_corrected_one_goes(hospital, citizen):
    coordinator, referral, thread = _thread(hospital, citizen)
    client = _login(coordinator)
    reply = f"/care-threads/{thread.pk}/reply/"
    ref = ref_for(client, f"/coordinator/referrals/{referral.pk}/", reply)
    written = "Vi kommer i aften og tager blodprøver.\n" + "Ring hvis det bliver værre. " * 150

    refused = client.post(
        reply, {"on": f"referral-{referral.pk}", "form_ref": ref, "text": written}
    )

    assert refused.status_code == 400
    page = html.unescape(refused.content.decode())
    assert "højst være på 4000 tegn" in page
    area = page[page.index('name="text"') :]
    assert area[area.index(">") + 1 :].startswith(written)
    assert f'name="on" value="referral-{referral.pk}"' in page
    kept = page.split('name="form_ref" value="')[1].split('"')[0]
    assert kept == ref
    assert not thread.messages.filter(direction="out").exists()

    corrected = client.post(
        reply, {"on": f"referral-{referral.pk}", "form_ref": kept, "text": written[:3900]}
    )
    assert corrected.status_code == 302
    assert corrected["Location"] == f"/coordinator/referrals/{referral.pk}/"
    assert thread.messages.filter(direction="out").count() == 1


@pytest.mark.parametrize("on", ["referral-0", "visit-007", "thread-99999999999999999999", "x-1"])
def test_a_page_the_reply_names_that_no_row_can_be_is_the_start_page(hospital, citizen, on):
    """The hidden field naming the page the form is on, altered: never a 500,
    refused or sent."""
    coordinator, _referral, thread = _thread(hospital, citizen)
    client = _login(coordinator)
    reply = f"/care-threads/{thread.pk}/reply/"

    refused = client.post(reply, {"on": on, "text": ""})
    sent = client.post(reply, {"on": on, "text": "Jeg ringer."})

    assert refused.status_code == 400
    assert 'href="/"' in refused.content.decode()
    assert sent.status_code == 302
    assert sent["Location"] == "/"
