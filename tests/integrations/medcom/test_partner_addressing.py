"""Whom a partner's message is addressed to: MessageHeader.destination names
the receiver Organization and the address it was sent to. A message sent to
another SOR unit's address was meant for someone else, even when its receiver
Organization is the platform's: refused with MedCom's
MSG_Receiver_Identifier_UNKNOWN naming the endpoint, nothing written, and a
denied attempt on the citizen it is about (R9)."""

from __future__ import annotations

import pytest

from consent.audit.models import AuditEntry
from consent.models import CareRelationship
from tests import factories as f
from tests.integrations.medcom.conftest import OUR_SOR
from tests.integrations.medcom.peers import ack_parts, header_id, post_signed
from tests.integrations.medcom.test_partner_variants import STIN, _notification

pytestmark = pytest.mark.django_db

ANOTHER_SOR = "123456789012345"


def _sent_to(endpoint: str, citizen) -> dict:
    message = _notification(STIN, f"stay-{endpoint[-6:]}", citizen)
    message["entry"][0]["resource"]["destination"][0]["endpoint"] = endpoint
    return message


def _in_hospital(citizen) -> bool:
    return CareRelationship.objects.filter(
        citizen=citizen, basis=CareRelationship.Basis.HOSPITAL_CONTACT
    ).exists()


def test_r12_a_message_sent_to_another_sor_units_address_is_refused(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    message = _sent_to(f"https://sor2.sum.dsdn.dk/#id={ANOTHER_SOR}", citizen)
    status, body = post_signed(hospital, message)
    code, answered, details = ack_parts(body)
    assert (status, code, answered, details) == (
        400,
        "fatal-error",
        header_id(message),
        ["MSG_Receiver_Identifier_UNKNOWN"],
    )
    outcome = next(
        e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == "OperationOutcome"
    )
    assert outcome["issue"][0]["details"]["text"].startswith("MessageHeader.destination.endpoint")
    referral.refresh_from_db()
    assert referral.on_hold_since is None and not _in_hospital(citizen)
    (entry,) = AuditEntry.objects.filter(citizen_id=citizen.pk, outcome="denied")
    assert entry.reason_code == "message.not_addressed_by_partner"


@pytest.mark.parametrize(
    "endpoint", [f"https://sor2.sum.dsdn.dk/#id={OUR_SOR}", "http://medcomfhir.dk/unknown"]
)
def test_r12_a_message_sent_to_our_address_or_one_naming_no_unit_is_received(
    hospital, citizen, endpoint
):
    referral = f.acute_referral(person=citizen, accepted=False)
    status, body = post_signed(hospital, _sent_to(endpoint, citizen))
    assert (status, ack_parts(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"
