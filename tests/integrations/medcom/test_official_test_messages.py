"""MedCom's official test messages for a receiver, as a hospital would send
them (signed, to ``/fhir/$process-message``).

Every one of MedCom's 42 official HospitalNotification test messages
(``fixtures/testexamples/``) is received, and R12 does with each what its
activity says: an admission (inpatient or acute ambulant, a revised
admission) holds the citizen's referral, a discharge or a cancelled
admission (its Encounter ``entered-in-error``) resumes it, a death closes it,
a start or end of leave leaves the hold as it is. Each is acknowledged ``ok``
with an acknowledgement that keeps MedCom's rules. The one that breaks
MedCom's own rules (TEK_FCC) gets a fatal-error naming them and changes
nothing. MedCom's Acknowledgement examples are accepted as a partner's
answer and settle the message they answer."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from acute import services
from acute.models import Referral
from consent.models import CareRelationship
from core.actors import Actor
from core.models import Citizen, Organisation
from integrations.medcom.validation import validate_message
from integrations.models import InboundMessage, OutboundMessage, Partner
from tests import factories as f
from tests.integrations.medcom.conftest import EXAMPLE_CPR, HOSPITAL_SOR
from tests.integrations.medcom.peers import ack_parts, example, header_id, post_signed

pytestmark = pytest.mark.django_db

EARLIER_ADMISSION = Actor.system("tests.earlier_admission")

# What R12 makes of a message, for a citizen with an open referral.
HELD = "held"  # an admission: the referral is put on hold
RESUMED = "resumed"  # the citizen was admitted; the referral resumes
STILL_HELD = "still held"  # the citizen was admitted; leave changes nothing
CLOSED = "closed"  # the citizen died: registered deceased, the referral closed

# MedCom's official test message → the activity it reports and what R12 makes of it.
TEST_MESSAGES: dict[str, tuple[str, str]] = {
    "HospitalNotification-Ex-STIN-A": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-STIN-B1": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-STIN-B2": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-STIN-C1": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-STIN-C2": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-STIN-E": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-STIN-F": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-STIN-G": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-STIN-H": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-STIN-I": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-STIN-K": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-STIN-L": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-STIN-M": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-STIN-N": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-STIN-O": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-STIN-P": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-STAA-D": ("admit-emergency", HELD),
    "HospitalNotification-Ex-STAA-E": ("admit-emergency", HELD),
    "HospitalNotification-Ex-RE-STIN-O": ("revise-admit-inpatient", HELD),
    "HospitalNotification-Ex-RE-STIN-P": ("revise-admit-inpatient", HELD),
    "HospitalNotification-Ex-TEK-DUB": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-TEK-ID-2": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-TEK-ID-LOCAL": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-TEK-ID-LPR3": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-TEK-LOV": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-TEK-STAA-A": ("admit-emergency", HELD),
    "HospitalNotification-Ex-TEK-STIN-A": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-TEK-STIN-B": ("admit-inpatient", HELD),
    "HospitalNotification-Ex-STOR-F": ("start-leave-inpatient", STILL_HELD),
    "HospitalNotification-Ex-STOR-G": ("start-leave-inpatient", STILL_HELD),
    "HospitalNotification-Ex-STOR-I": ("start-leave-inpatient", STILL_HELD),
    "HospitalNotification-Ex-STOR-L": ("start-leave-inpatient", STILL_HELD),
    "HospitalNotification-Ex-SLOR-G": ("end-leave-inpatient", STILL_HELD),
    "HospitalNotification-Ex-SLHJ-H": ("discharge-inpatient-home", RESUMED),
    "HospitalNotification-Ex-SLHJ-I": ("discharge-inpatient-home", RESUMED),
    "HospitalNotification-Ex-TEK-SLHJ-A": ("discharge-inpatient-home", RESUMED),
    "HospitalNotification-Ex-AN-STIN-N": ("cancel-admit-inpatient", RESUMED),
    "HospitalNotification-Ex-AN-STIN-P": ("cancel-admit-inpatient", RESUMED),
    # A finished Encounter of a Patient reported deceased is a death, whatever
    # the activity the Provenance names.
    "HospitalNotification-Ex-MORS-J": ("admit-inpatient", CLOSED),
    "HospitalNotification-Ex-MORS-K": ("admit-emergency", CLOSED),
    "HospitalNotification-Ex-MORS-L": ("start-leave-inpatient", CLOSED),
}

# MedCom's test message that breaks MedCom's own rules: its MessageHeader has
# no eventCoding (1..1 in MedComMessagingMessageHeader) and its Encounter's
# class has no system, so it is outside the required class value set.
BROKEN = {
    "HospitalNotification-Ex-TEK-FCC": {
        ("MSG_RESOURCE_REQUIRED", "eventCoding"),
        ("MSG_VALUESET_VALUE_UNKNOWN", "class"),
    }
}


def _resource(message: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == kind)


def _sender(message: dict[str, Any]) -> dict[str, Any]:
    reference = _resource(message, "MessageHeader")["sender"]["reference"]
    return next(
        e["resource"]
        for e in message["entry"]
        if reference.endswith(f"Organization/{e['resource']['id']}")
    )


def _partner_sending(hospital: Partner, message: dict[str, Any]) -> Partner:
    """The hospital (department) that sends the message: MedCom's test
    messages come from four, each a partner with its own SOR and EAN."""
    ids = {i["system"]: i["value"] for i in _sender(message)["identifier"]}
    sor, ean = ids["urn:oid:1.2.208.176.1.1"], ids["https://www.gs1.org/gln"]
    if sor == HOSPITAL_SOR:
        return hospital
    org = f.organisation(
        Organisation.Kind.HOSPITAL, _sender(message)["name"], sor_code=sor, ean=ean
    )
    return f.integration_partner(
        Partner.Kind.HOSPITAL, org, endpoint_url="http://127.0.0.1:9/hospital"
    )


def _citizen_of(citizen: Citizen, message: dict[str, Any]) -> Citizen:
    """Our citizen is the message's Patient (TEK_LOV is about another test person)."""
    cpr = _resource(message, "Patient")["identifier"][0]["value"]
    if cpr != EXAMPLE_CPR:
        Citizen.objects.filter(pk=citizen.pk).update(cpr=cpr)
        citizen.refresh_from_db()
    return citizen


def test_every_official_test_message_is_covered():
    from tests.integrations.medcom.peers import FIXTURES

    names = {p.stem for p in (FIXTURES / "testexamples").glob("*.json")}
    assert names == set(TEST_MESSAGES) | set(BROKEN)
    assert len(names) == 42


@pytest.mark.parametrize("name", sorted(TEST_MESSAGES))
def test_r12_medcoms_official_test_message_is_accepted_and_acknowledged_ok(hospital, citizen, name):
    activity, effect = TEST_MESSAGES[name]
    message = example("testexamples", name)
    assert validate_message(message) == []
    partner = _partner_sending(hospital, message)
    person = _citizen_of(citizen, message)
    referral = f.acute_referral(person=person)
    if effect != HELD:
        # Admitted earlier: what a discharge, leave or death follows.
        services.referrals_hold_for_admission(
            citizen_id=person.pk, admission="earlier", actor=EARLIER_ADMISSION
        )

    http_status, body = post_signed(partner, message)

    assert ack_parts(body) == ("ok", header_id(message), [])
    assert http_status == 200
    assert validate_message(body) == []  # our acknowledgement keeps MedCom's rules
    row = InboundMessage.objects.get(partner=partner, header_id=header_id(message))
    assert (row.outcome, row.result["activity"]) == ("ok", activity)
    referral.refresh_from_db()
    person.refresh_from_db()
    if effect == CLOSED:
        assert referral.status == Referral.Status.CLOSED
        assert person.deceased_at is not None
    else:
        assert referral.status == Referral.Status.ACCEPTED
        assert person.deceased_at is None
        assert (referral.on_hold_since is not None) is (effect in (HELD, STILL_HELD))


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_medcoms_test_message_that_breaks_medcoms_rules_gets_a_fatal_error(hospital, citizen, name):
    message = example("testexamples", name)
    referral = f.acute_referral(person=citizen)

    http_status, body = post_signed(hospital, message)

    code, answered, _ = ack_parts(body)
    assert (http_status, code, answered) == (400, "fatal-error", header_id(message))
    texts = [
        (coding["code"], issue["details"].get("text", ""))
        for entry in body["entry"]
        if entry["resource"]["resourceType"] == "OperationOutcome"
        for issue in entry["resource"]["issue"]
        for coding in issue["details"]["coding"]
    ]
    for detail, element in BROKEN[name]:
        assert any(c == detail and f" {element}:" in t for c, t in texts), (detail, texts)
    assert validate_message(body) == []
    referral.refresh_from_db()
    assert referral.on_hold_since is None
    assert _hospital_contacts(citizen) == 0


def _send(partner: Partner, name: str) -> dict[str, Any]:
    http_status, body = post_signed(partner, example("testexamples", name))
    assert (http_status, ack_parts(body)[0]) == (200, "ok"), body
    return body


def _hospital_contacts(citizen: Citizen) -> int:
    return CareRelationship.objects.filter(
        citizen=citizen,
        basis=CareRelationship.Basis.HOSPITAL_CONTACT,
        ended_at__isnull=True,
    ).count()


def test_r12_official_stay_admission_leave_and_discharge_in_turn(hospital, citizen):
    """One stay (episode of care 04675bbd…): admitted (STIN_G), on leave
    (STOR_G), back from leave (SLOR_G): held throughout; another stay
    (d3d03544…) admitted (STIN_H) and discharged (SLHJ_H): the hospital's
    care relationship of each stay closes with its discharge."""
    referral = f.acute_referral(person=citizen)

    for name in ("STIN-G", "STOR-G", "SLOR-G"):
        _send(hospital, f"HospitalNotification-Ex-{name}")
        referral.refresh_from_db()
        assert referral.on_hold_since is not None, name
    assert _hospital_contacts(citizen) == 1

    _send(hospital, "HospitalNotification-Ex-STIN-H")
    assert _hospital_contacts(citizen) == 2
    _send(hospital, "HospitalNotification-Ex-SLHJ-H")
    assert _hospital_contacts(citizen) == 1  # the leave's stay is still open


def test_r12_official_admission_revised_by_another_department_then_cancelled(hospital, citizen):
    """STIN_P admits (Herlev's cardiology), RE_STIN_P revises the admission
    from another department (S103) on the same episode of care, AN_STIN_P
    cancels it: the referral resumes and no hospital care relationship of
    that stay stays open, whichever department last wrote about it."""
    referral = f.acute_referral(person=citizen)
    revision = example("testexamples", "HospitalNotification-Ex-RE-STIN-P")

    _send(hospital, "HospitalNotification-Ex-STIN-P")
    _send(_partner_sending(hospital, revision), "HospitalNotification-Ex-RE-STIN-P")
    referral.refresh_from_db()
    assert referral.on_hold_since is not None

    _send(hospital, "HospitalNotification-Ex-AN-STIN-P")

    referral.refresh_from_db()
    assert referral.on_hold_since is None
    assert _hospital_contacts(citizen) == 0


def test_r12_official_death_after_leave_closes_the_stay(hospital, citizen):
    """STIN_L admits, STOR_L starts a leave, MORS_L reports the death on the
    same stay: the referral is closed and the stay's relationship ends."""
    referral = f.acute_referral(person=citizen)
    for name in ("STIN-L", "STOR-L", "MORS-L"):
        _send(hospital, f"HospitalNotification-Ex-{name}")

    referral.refresh_from_db()
    citizen.refresh_from_db()
    assert referral.status == Referral.Status.CLOSED
    assert citizen.deceased_at is not None
    assert _hospital_contacts(citizen) == 0


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
