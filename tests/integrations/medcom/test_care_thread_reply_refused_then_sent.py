"""A reply refused (nothing written) frees its form: the coordinator
corrects it and sends the same form again, and the reply goes — once, even
if that corrected form is then sent twice (``core.form_once``)."""

from __future__ import annotations

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

    assert refused.status_code == corrected.status_code == again.status_code == 302
    assert thread.messages.filter(direction="out").count() == 1
    assert OutboundMessage.objects.filter(event="care-communication-reply").count() == 1
    assert "Svaret er allerede modtaget." in client.get(again["Location"]).content.decode()
