"""MedCom's official test messages for a receiver, as a hospital would send
them: every HospitalNotification variant (admission inpatient and acute
ambulant, start of leave, discharge, death, a cancelled admission with its
Encounter entered-in-error) is accepted and acknowledged ``ok`` with an
acknowledgement that keeps MedCom's rules; MedCom's Acknowledgement examples
are accepted as a partner's answer and settle the message they answer."""

from __future__ import annotations

import uuid

import pytest

from acute.models import Referral
from core.models import Citizen, Organisation
from integrations.medcom.validation import validate_message
from integrations.models import InboundMessage, OutboundMessage, Partner
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, example, header_id, post_signed

pytestmark = pytest.mark.django_db

HOSPITAL_SOR, HOSPITAL_EAN = "265161000016000", "5790000209354"
OUR_SOR, OUR_EAN = "953741000016009", "5790001348120"
EXAMPLE_CPR = "2509479989"  # MedCom's test person

# MedCom's test message → the activity it reports and what R12 makes of it.
TEST_MESSAGES = {
    "HospitalNotification-Ex-STIN-A": ("admit-inpatient", Referral.Status.ACCEPTED, True),
    "HospitalNotification-Ex-STAA-D": ("admit-emergency", Referral.Status.ACCEPTED, True),
    "HospitalNotification-Ex-STOR-G": ("start-leave-inpatient", Referral.Status.ACCEPTED, False),
    "HospitalNotification-Ex-SLHJ-I": ("discharge-inpatient-home", Referral.Status.ACCEPTED, False),
    "HospitalNotification-Ex-AN-STIN-N": (
        "cancel-admit-inpatient",
        Referral.Status.ACCEPTED,
        False,
    ),
    "HospitalNotification-Ex-MORS-K": ("admit-emergency", Referral.Status.CLOSED, False),
}


@pytest.fixture
def hospital() -> Partner:
    acute = f.acute_function()
    acute.sor_code, acute.ean = OUR_SOR, OUR_EAN
    acute.save(update_fields=["sor_code", "ean"])
    org = f.organisation(
        Organisation.Kind.HOSPITAL, "Herlev og Gentofte", sor_code=HOSPITAL_SOR, ean=HOSPITAL_EAN
    )
    return f.integration_partner(Partner.Kind.HOSPITAL, org)


@pytest.fixture
def citizen() -> Citizen:
    person = f.citizen()
    Citizen.objects.filter(pk=person.pk).update(cpr=EXAMPLE_CPR)
    person.refresh_from_db()
    return person


@pytest.mark.parametrize("name", sorted(TEST_MESSAGES))
def test_r12_medcoms_official_test_message_is_accepted_and_acknowledged_ok(hospital, citizen, name):
    activity, status_after, held = TEST_MESSAGES[name]
    referral = f.acute_referral(person=citizen)
    message = example("testexamples", name)
    assert validate_message(message) == []

    http_status, body = post_signed(hospital, message)

    assert ack_parts(body) == ("ok", header_id(message), [])
    assert http_status == 200
    assert validate_message(body) == []  # our acknowledgement keeps MedCom's rules
    row = InboundMessage.objects.get(partner=hospital, header_id=header_id(message))
    assert (row.outcome, row.result["activity"]) == ("ok", activity)
    referral.refresh_from_db()
    assert referral.status == status_after
    assert (referral.on_hold_since is not None) is held


@pytest.mark.parametrize(
    ("name", "settled"),
    [
        ("a8c041b8-c65a-4fde-a90f-962076918834", OutboundMessage.Status.ACKNOWLEDGED),
        ("bc9535ef-ed94-4060-a928-7baddec7ee71", OutboundMessage.Status.FAILED),
        ("c9c2b2f6-0807-11ed-861d-0242ac120002", OutboundMessage.Status.PENDING),
    ],
)
def test_medcoms_acknowledgement_examples_settle_the_message_they_answer(citizen, name, settled):
    ack = example("acknowledgement", name)
    partner = f.integration_partner(
        Partner.Kind.HOSPITAL,
        f.organisation(
            Organisation.Kind.HOSPITAL, "Afsender", sor_code="123456789012345", ean="5790001382445"
        ),
    )
    answered = ack["entry"][0]["resource"]["response"]["identifier"]
    ours = OutboundMessage.objects.create(
        partner=partner,
        event="care-communication",
        citizen=citizen,
        bundle={"resourceType": "Bundle", "id": str(uuid.uuid4())},
        message_id=uuid.UUID(answered),
        status=OutboundMessage.Status.AWAITING_ACK,
    )

    http_status, body = post_signed(partner, ack)

    # Accepted and never acknowledged (KR2): the answer is an OperationOutcome.
    assert (http_status, body["resourceType"]) == (200, "OperationOutcome")
    ours.refresh_from_db()
    assert ours.status == settled
    assert not InboundMessage.objects.filter(partner=partner).exists()
