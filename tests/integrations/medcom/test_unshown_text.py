"""A partner's message whose text holds a character its reader cannot see (a
direction override, a zero-width space) is refused whole with a fatal
acknowledgement naming the refusal; nothing of it is kept."""

from __future__ import annotations

import pytest

from integrations.models import CareThread
from tests.integrations.medcom.peers import example, post_signed

pytestmark = pytest.mark.django_db

FIRST = "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"  # MedCom's example: a new message


@pytest.mark.parametrize(
    ("hidden", "code"),
    [("\u202e", "request.bidi_control"), ("\u200b", "request.invisible_character")],
)
def test_a_care_message_with_unshown_text_is_refused_and_nothing_kept(
    hospital, citizen, hidden, code
):
    message = example("carecommunication", FIRST)
    index, communication = next(
        (i, e["resource"])
        for i, e in enumerate(message["entry"])
        if e["resource"]["resourceType"] == "Communication"
    )
    payload = communication["payload"][0]
    payload["contentString"] = "Blodprøver er taget. " + hidden + "Intet at bemærke."
    status, body = post_signed(hospital, message)
    assert status == 400, body
    # Refused at the door every body passes, before it is read as MedCom.
    header = body["entry"][0]["resource"]
    assert header["response"]["code"] == "fatal-error"
    outcome = next(
        e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == "OperationOutcome"
    )
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == code
    assert outcome["issue"][0]["expression"] == [
        f"entry[{index}].resource.payload[0].contentString"
    ]
    assert not CareThread.objects.exists()
