"""A partner's acknowledgement that settles nothing leaves a trace an
operator finds: of a message the platform never sent, of one sent to
another partner, contradicting the partner's first answer, or with a
response.code outside FHIR's value set. Each is answered as before (404,
409, 400), settles no message of the platform's, and is on the audit log as
a denied entry about no citizen (an acknowledgement names none): who sent
it, why it settled nothing, and the message id it answered. The same
acknowledgement received twice settles the message once and is no refusal."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from consent.audit.models import AuditEntry
from core.models import Organisation
from integrations.inbound import message_receive
from integrations.medcom import envelope
from integrations.medcom.envelope import AckCode
from integrations.messages import acknowledgement_bundle
from integrations.models import OutboundMessage, Partner
from tests import factories as f
from tests.integrations.medcom.peers import post_signed

pytestmark = pytest.mark.django_db


def _sent(partner: Partner, citizen) -> OutboundMessage:
    return OutboundMessage.objects.create(
        partner=partner,
        event="care-communication",
        citizen=citizen,
        bundle={"resourceType": "Bundle"},
        status=OutboundMessage.Status.AWAITING_ACK,
    )


def _ack(partner: Partner, answering: str, code: str = AckCode.OK) -> dict[str, Any]:
    # A negative acknowledgement names what was wrong (MedCom: its
    # OperationOutcome holds an issue; FHIR: issue is 1..*).
    issues = [] if code == AckCode.OK else [envelope.Issue("MSG_NO_MATCH", "Borgeren kendes ikke")]
    return envelope.acknowledgement(
        answering=answering,
        code=code,
        sender=partner.organisation,
        receiver=f.acute_function(),
        receiver_endpoint="https://sor2.sum.dsdn.dk/#id=953741000016009",
        sender_endpoint="https://sor2.sum.dsdn.dk/#id=265161000016000",
        issues=issues,
    )


def _refusals() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(resource_type="Bundle", outcome="denied").order_by("pk"))


def test_r9_an_acknowledgement_of_a_message_never_sent_is_recorded(hospital) -> None:
    never = str(uuid.uuid4())

    status, body = post_signed(hospital, _ack(hospital, never))

    assert status == 404
    assert "ack.unknown_message" in json.dumps(body)
    [entry] = _refusals()
    assert (entry.citizen_id, entry.reason_code) == (None, "ack.unknown_message")
    assert entry.detail["partner"] == hospital.code
    assert entry.detail["answering"] == never
    assert entry.detail["event"] == "acknowledgement-message"


def test_r9_an_acknowledgement_of_a_message_sent_to_another_partner_settles_nothing(
    hospital, citizen
) -> None:
    other = f.integration_partner(
        Partner.Kind.HOSPITAL, f.organisation(Organisation.Kind.HOSPITAL, "Bispebjerg Hospital")
    )
    theirs = _sent(other, citizen)

    status, _ = post_signed(hospital, _ack(hospital, str(theirs.message_id)))

    assert status == 404
    theirs.refresh_from_db()
    assert theirs.status == OutboundMessage.Status.AWAITING_ACK
    [entry] = _refusals()
    assert (entry.citizen_id, entry.reason_code) == (None, "ack.unknown_message")
    assert entry.detail["answering"] == str(theirs.message_id)


def test_an_acknowledgement_received_twice_settles_once_and_a_contradiction_is_recorded(
    hospital, citizen
) -> None:
    message = _sent(hospital, citizen)
    ack = _ack(hospital, str(message.message_id))

    assert post_signed(hospital, ack)[0] == 200
    again = {**ack, "id": str(uuid.uuid4())}  # MedCom: a resend, a new Bundle.id
    assert post_signed(hospital, again)[0] == 200
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.ACKNOWLEDGED
    assert _refusals() == []

    status, _ = post_signed(hospital, _ack(hospital, str(message.message_id), AckCode.FATAL))

    assert status == 409
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.ACKNOWLEDGED
    [entry] = _refusals()
    assert (entry.citizen_id, entry.reason_code) == (None, "ack.contradicts_earlier")


def test_an_acknowledgement_with_a_code_outside_its_value_set_settles_nothing(
    hospital, citizen
) -> None:
    message = _sent(hospital, citizen)
    ack = _ack(hospital, str(message.message_id))
    ack["entry"][0]["resource"]["response"]["code"] = "okay"

    status, _ = post_signed(hospital, ack)

    assert status == 400
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.AWAITING_ACK
    [entry] = _refusals()
    assert (entry.citizen_id, entry.reason_code) == (None, "medcom.rule_broken")


@pytest.mark.parametrize("code", ["okay", AckCode.OK])
def test_an_acknowledgement_in_the_platforms_envelope_settling_nothing_is_recorded(
    helpline, code: str
) -> None:
    """1813's acknowledgements come in the platform's own envelope: one of
    a message never sent, or with an unknown code, is recorded alike."""
    never = str(uuid.uuid4())
    ack = acknowledgement_bundle(answering=never, code=code)

    answer = message_receive(partner=helpline, raw=json.dumps(ack).encode())

    assert answer.status == (404 if code == AckCode.OK else 400)
    [entry] = _refusals()
    reason = "ack.unknown_message" if code == AckCode.OK else "ack.code_unknown"
    assert (entry.citizen_id, entry.reason_code) == (None, reason)
    assert entry.detail["partner"] == helpline.code
