"""A partner's CareCommunication with an attachment: MedCom binds the
attachment's type to its list (PDF, BMP, GIF, JPEG, PNG, TIFF). One of
another type, or a file attached without a type, is refused with MedCom's
fatal-error and nothing of the message is written; an allowed one is named
in the thread by its title. A message sent again in a new envelope (same
MessageHeader.id, new Bundle.id) gets the first answer and stays one
message in the thread."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from integrations.medcom.validation import validate_message
from integrations.models import CareMessage, CareThread, InboundMessage
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, example, header_id, post_signed

pytestmark = pytest.mark.django_db

FIRST = "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"  # MedCom's example: a new message


def _with_attachment(attachment: dict[str, Any]) -> dict[str, Any]:
    """MedCom's first example with a second segment holding ``attachment``."""
    message = example("carecommunication", FIRST)
    communication = next(
        e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == "Communication"
    )
    segment = copy.deepcopy(communication["payload"][0])
    del segment["contentString"]
    segment["contentAttachment"] = attachment
    for extension in segment["extension"]:
        if extension["url"].endswith("identifier-extension"):
            extension["valueIdentifier"]["value"] = f"urn:uuid:{uuid.uuid4()}"
    communication["payload"].append(segment)
    return message


@pytest.mark.parametrize(
    "attachment",
    [
        {"contentType": "application/x-msdownload", "data": "TVqQ", "title": "Epikrise"},
        {"contentType": "text/html", "data": "PGI+aGVqPC9iPg==", "title": "Epikrise"},
        {"data": "JVBERi0=", "title": "Epikrise"},
    ],
    ids=["executable", "html", "no-type"],
)
def test_an_attachment_of_a_type_medcom_does_not_allow_is_refused_and_nothing_written(
    hospital, citizen, attachment
):
    f.acute_referral(person=citizen)
    message = _with_attachment(attachment)
    status, body = post_signed(hospital, message)
    assert validate_message(body) == []  # our refusal keeps MedCom's rules
    code, answering, details = ack_parts(body)
    assert (status, code, answering) == (400, "fatal-error", header_id(message))
    assert details == ["MSG_VALUESET_VALUE_UNKNOWN"]
    assert not CareThread.objects.exists() and not CareMessage.objects.exists()
    refused = InboundMessage.objects.get(header_id=header_id(message))
    assert refused.reason_code == "carecommunication.attachment_type_unknown"
    # The same message again gets the same refusal, still nothing written.
    again_status, again = post_signed(hospital, message)
    assert (again_status, ack_parts(again)[:2]) == (400, ("fatal-error", header_id(message)))
    assert not CareMessage.objects.exists()


def test_a_pdf_attachment_is_named_in_the_thread_by_its_title(hospital, citizen):
    f.acute_referral(person=citizen)
    message = _with_attachment(
        {"contentType": "application/pdf", "data": "JVBERi0=", "title": "Epikrise"}
    )
    status, body = post_signed(hospital, message)
    assert (status, ack_parts(body)[0]) == (200, "ok")
    assert list(CareMessage.objects.order_by("pk").values_list("text", flat=True))[1:] == [
        "[Epikrise]"
    ]


def test_a_message_resent_in_a_new_envelope_gets_the_first_answer_and_is_kept_once(
    hospital, citizen
):
    f.acute_referral(person=citizen)
    message = example("carecommunication", FIRST)
    first_status, first = post_signed(hospital, message)
    resent = copy.deepcopy(message)
    resent["id"] = str(uuid.uuid4())  # a new Bundle.id, the same MessageHeader.id
    again_status, again = post_signed(hospital, resent)
    assert first_status == again_status == 200
    assert ack_parts(again) == ack_parts(first) == ("ok", header_id(message), [])
    assert again["id"] != first["id"]  # the answer in a new envelope
    assert CareThread.objects.count() == 1 and CareMessage.objects.count() == 1
    assert InboundMessage.objects.filter(header_id=header_id(message)).count() == 1
