"""Whom an acknowledgement comes from (MedCom's acknowledgement header: its
source is the sender of the acknowledgement, its destination the source of the
message answered): always the platform's own address, whatever address the
message was sent to — a refusal of a message meant for another SOR unit above
all, which must not appear to come from that unit — and the partner's source
address as its destination. The same for every answer: ok, transient-error,
fatal-error, and the first answer sent again to a duplicate."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.medcom.envelope import OWN_ENDPOINT, AckCode, Issue
from integrations.medcom.inbound import answer
from integrations.models import InboundMessage
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, header_id, post_signed
from tests.integrations.medcom.test_partner_addressing import ANOTHER_SOR, _sent_to

pytestmark = pytest.mark.django_db

ANOTHER_UNIT = f"https://sor2.sum.dsdn.dk/#id={ANOTHER_SOR}"
HOSPITAL_SOURCE = "https://sor2.sum.dsdn.dk/#id=265161000016000"


def _header(bundle: dict[str, Any]) -> dict[str, Any]:
    return bundle["entry"][0]["resource"]


def _addresses(ack: dict[str, Any]) -> tuple[str, str]:
    """(source, destination) endpoints of an acknowledgement."""
    header = _header(ack)
    return header["source"]["endpoint"], header["destination"][0]["endpoint"]


def _sent_from_hospital(endpoint: str, citizen) -> dict[str, Any]:
    message = _sent_to(endpoint, citizen)
    _header(message)["source"]["endpoint"] = HOSPITAL_SOURCE
    return message


def test_a_refusal_of_a_message_for_another_unit_comes_from_our_address(hospital, citizen):
    status, ack = post_signed(hospital, _sent_from_hospital(ANOTHER_UNIT, citizen))

    assert (status, ack_parts(ack)[0]) == (400, "fatal-error")
    assert _addresses(ack) == (OWN_ENDPOINT, HOSPITAL_SOURCE)
    # The narrative MedCom asks the producer to show says so too.
    assert ANOTHER_SOR not in _header(ack)["text"]["div"]


@pytest.mark.parametrize(
    "endpoint", ["https://sor2.sum.dsdn.dk/#id=953741000016009", "http://medcomfhir.dk/unknown"]
)
def test_an_ok_acknowledgement_comes_from_our_address(hospital, citizen, endpoint):
    f.acute_referral(person=citizen, accepted=False)
    status, ack = post_signed(hospital, _sent_from_hospital(endpoint, citizen))

    assert (status, ack_parts(ack)[0]) == (200, "ok")
    assert _addresses(ack) == (OWN_ENDPOINT, HOSPITAL_SOURCE)


def test_the_answer_to_a_duplicate_comes_from_our_address(hospital, citizen):
    message = _sent_from_hospital(ANOTHER_UNIT, citizen)
    first_status, first = post_signed(hospital, message)

    again_status, again = post_signed(hospital, message)

    assert again_status == first_status == 400
    assert again["id"] != first["id"]
    assert _header(again) == _header(first)  # the same answer, in a new envelope
    assert _addresses(again) == (OWN_ENDPOINT, HOSPITAL_SOURCE)


def test_an_answer_kept_with_the_address_the_message_named_goes_again_from_ours(hospital, citizen):
    message = _sent_from_hospital(ANOTHER_UNIT, citizen)
    post_signed(hospital, message)
    # An answer kept from when an acknowledgement's source was taken from
    # the message's destination.
    kept = InboundMessage.objects.get(partner=hospital, header_id=header_id(message))
    header = _header(kept.acknowledgement)
    header["source"]["endpoint"] = ANOTHER_UNIT
    header["text"]["div"] = header["text"]["div"].replace(OWN_ENDPOINT, ANOTHER_UNIT)
    kept.save(update_fields=["acknowledgement"])

    status, again = post_signed(hospital, message)

    assert (status, ack_parts(again)[0]) == (400, "fatal-error")
    assert _addresses(again) == (OWN_ENDPOINT, HOSPITAL_SOURCE)
    assert ANOTHER_SOR not in _header(again)["text"]["div"]
    assert f"source: {OWN_ENDPOINT}" in _header(again)["text"]["div"]


@pytest.mark.parametrize("code", [AckCode.OK, AckCode.TRANSIENT, AckCode.FATAL])
def test_every_kind_of_answer_comes_from_our_address(hospital, citizen, code):
    issues = (
        [] if code == AckCode.OK else [Issue("MSG_LOCAL_FAIL", "Bundle: test", code="transient")]
    )
    ack = answer(
        data=_sent_from_hospital(ANOTHER_UNIT, citizen),
        partner=hospital,
        us=f.acute_function(),
        code=code,
        issues=issues,
    )

    assert _header(ack)["response"]["code"] == code
    assert _addresses(ack) == (OWN_ENDPOINT, HOSPITAL_SOURCE)
