"""A CareCommunication the platform cannot tie to what it already holds is
shown, not refused, as MedCom's governance for CareCommunication asks: a
reply under a communication identifier the platform does not know opens a
new thread holding only what it carries (medcom-carecommunication-10); a
reply naming a message that never arrived, or a message that arrives late,
is shown in its thread in the order the segments were written (-8, -9).
Such a message is acknowledged ``ok`` and shown where partners' messages
are shown (the referral's page, the coordinator's board, R11, R12), with its
processing on the citizen's log (R9).

What stays refused (R3): a partner's reply or forward into a conversation
the platform holds with another partner, audited as a denied attempt on the
citizen and on the thread's citizen (R9)
(docs/decisions/0034-a-reply-in-an-unknown-thread-opens-one.md)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from consent.audit.models import AuditEntry
from core.models import Organisation, Role
from integrations.medcom.validation import validate_message
from integrations.models import CareMessage, CareThread, InboundMessage, Partner
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, example, header_id, post_signed
from tests.integrations.medcom.test_care_communication_follow_up import _follow_up

pytestmark = pytest.mark.django_db

FIRST = "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"  # MedCom's 1st message: a new message
THIRD = "3dcb5618-3055-406a-9034-1b8fc8de0fea"  # MedCom's 3rd: a reply to the 2nd
THREAD = "urn:uuid:b2eb3d0e-5de5-4de9-b2a3-0ff321ad1c3a"  # their communication identifier


def _communication(message: dict[str, Any]) -> dict[str, Any]:
    return next(
        e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == "Communication"
    )


def _own_provenance(message: dict[str, Any]) -> dict[str, Any]:
    return next(
        e["resource"]
        for e in message["entry"]
        if e["resource"]["resourceType"] == "Provenance"
        and e["resource"]["target"][0]["reference"].endswith(header_id(message))
    )


def _said(message: dict[str, Any], text: str, at: str) -> dict[str, Any]:
    """``message`` (a follow-up) with its own new segment saying ``text``,
    written ``at``."""
    segment = _communication(message)["payload"][-1]
    segment["contentString"] = text
    for extension in segment["extension"]:
        if extension["url"].endswith("datetime-extension"):
            extension["valueDateTime"] = at
    provenance = _own_provenance(message)
    provenance["occurredDateTime"] = provenance["recorded"] = at
    return message


def _gp() -> tuple[Organisation, Partner]:
    practice = f.organisation(
        Organisation.Kind.GP_PRACTICE, "Lægehuset", sor_code="765432109876543", ean=f.gln(91)
    )
    return practice, f.integration_partner(Partner.Kind.GP, practice)


def test_r12_a_reply_under_an_unknown_identifier_opens_a_thread_on_the_board(hospital, citizen):
    """The hospital answers a message of a conversation the platform never
    held (MedCom's 3rd message, alone): a new thread with the hospital,
    holding each segment the reply carries, and nothing else. The citizen
    has no open referral, so it waits on the coordinator's board."""
    message = example("carecommunication", THIRD)
    status, body = post_signed(hospital, message)

    assert validate_message(body) == []
    assert (status, *ack_parts(body)) == (200, "ok", header_id(message), [])
    thread = CareThread.objects.get()
    assert (thread.identifier, thread.partner, thread.citizen, thread.referral) == (
        THREAD,
        hospital,
        citizen,
        None,
    )
    segments = list(thread.messages.order_by("written_at", "pk"))
    assert [s.text[:22] for s in segments] == [
        "Til rette vedkommende.",
        "Hej Michael, Resultate",
        "[Blodprøveresultater]",
        "Mange tak for fremsend",
    ]
    assert {(s.direction, s.header_id) for s in segments} == {("in", header_id(message))}
    entry = AuditEntry.objects.get(
        citizen_id=citizen.pk, reason_code="care-communication-message", outcome="permitted"
    )
    assert entry.detail["result"]["thread_opened"] is True

    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    [row] = (
        f.client_for(coordinator).get("/api/integrations/care-threads/unmatched").json()["results"]
    )
    assert (row["id"], row["partner"]) == (thread.pk, hospital.code)

    # Sent again in a new envelope: the first acknowledgement, no second thread.
    message["id"] = str(uuid.uuid4())
    status, again = post_signed(hospital, message)
    assert (status, ack_parts(again)) == (200, ack_parts(body))
    assert CareThread.objects.count() == 1 and CareMessage.objects.count() == 4
    assert InboundMessage.objects.filter(header_id=header_id(message)).count() == 1


def test_r11_a_reply_under_an_unknown_identifier_is_shown_on_the_open_referral(hospital, citizen):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)
    assert post_signed(hospital, example("carecommunication", THIRD))[0] == 200
    assert CareThread.objects.get().referral == referral
    one = f.client_for(coordinator).get(f"/api/acute/referrals/{referral.pk}").json()
    assert one["answer_awaited"] is True


def test_a_late_message_is_shown_in_its_thread_in_the_order_it_was_written(hospital, citizen):
    """The hospital's two follow-ups arrive the wrong way round (-9): the
    later one, naming the earlier that has not arrived, is shown at once;
    the earlier, when it comes, takes its place by the time it was written."""
    f.acute_referral(person=citizen)
    first = example("carecommunication", FIRST)
    assert post_signed(hospital, first)[0] == 200
    earlier = _said(_follow_up(first), "Hun har også feber.", "2024-05-01T12:30:00+02:00")
    later = _said(_follow_up(earlier), "Feberen er faldet.", "2024-05-01T13:00:00+02:00")
    # The later one carries its own words and the first message only.
    payload = _communication(later)["payload"]
    del payload[1]
    assert validate_message(later) == []

    status, body = post_signed(hospital, later)
    assert (status, ack_parts(body)[0]) == (200, "ok")
    status, body = post_signed(hospital, earlier)
    assert (status, ack_parts(body)[0]) == (200, "ok")

    thread = CareThread.objects.get()
    texts = [m.text for m in thread.messages.order_by("written_at", "pk")]
    assert texts[1:] == ["Hun har også feber.", "Feberen er faldet."]


def test_the_threads_own_partner_forwarding_into_it_is_shown_there(hospital, citizen):
    first = example("carecommunication", FIRST)
    post_signed(hospital, first)
    forward = _said(_follow_up(first), "Til orientering.", "2024-05-01T12:30:00+02:00")
    provenance = _own_provenance(forward)
    provenance["activity"]["coding"][0]["code"] = "forward-message"
    provenance["entity"][0]["what"]["reference"] = f"MessageHeader/{uuid.uuid4()}"

    status, body = post_signed(hospital, forward)

    assert (status, ack_parts(body)[0]) == (200, "ok")
    thread = CareThread.objects.get()
    assert thread.messages.order_by("written_at", "pk").last().text == "Til orientering."


def test_r3_another_partners_forward_into_a_known_thread_is_refused_and_audited(hospital, citizen):
    """A GP practice forwards into the hospital's conversation (its
    identifier, naming its message): it would add its words to a
    conversation it is not part of, which the coordinator's reply sends
    on to the hospital. Refused as a message the practice has no
    conversation for, nothing written, a denied attempt (R9)."""
    first = example("carecommunication", FIRST)
    post_signed(hospital, first)
    thread = CareThread.objects.get()
    practice, gp = _gp()
    forward = _follow_up(first, sender=practice)
    _own_provenance(forward)["activity"]["coding"][0]["code"] = "forward-message"
    assert validate_message(forward) == []

    status, body = post_signed(gp, forward)

    assert (status, *ack_parts(body)) == (
        400,
        "fatal-error",
        header_id(forward),
        ["MSG_NO_EXIST"],
    )
    assert "Meddelelsen fortsætter en korrespondance" in json.dumps(body, ensure_ascii=False)
    assert thread.messages.count() == 1 and CareThread.objects.count() == 1
    assert not InboundMessage.objects.filter(partner=gp, outcome="ok").exists()
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, outcome="denied", reason_code="carecommunication.previous_unknown"
    ).exists()


def test_r9_a_reply_into_another_partners_thread_about_another_citizen_is_on_both_logs(
    hospital, citizen
):
    """The identifier names the hospital's conversation about someone else:
    the practice's attempt is a denied attempt on her log too."""
    first = example("carecommunication", FIRST)
    someone = f.citizen()
    CareThread.objects.create(
        identifier=THREAD, partner=hospital, citizen=someone, category="examination-results"
    )
    practice, gp = _gp()

    status, body = post_signed(gp, _follow_up(first, sender=practice))

    assert (status, ack_parts(body)[2]) == (400, ["MSG_NO_EXIST"])
    denied = AuditEntry.objects.filter(
        outcome="denied", reason_code="carecommunication.previous_unknown"
    )
    assert set(denied.values_list("citizen_id", flat=True)) == {citizen.pk, someone.pk}
    assert not CareMessage.objects.exists()
