"""MedCom HospitalNotifications from a hospital, posted to ``/fhir/$process-message``
as the hospital would (signed): MedCom's own example messages drive R12 (hold
on admission, resume on discharge, close on death), every message gets a
MedCom Acknowledgement that keeps MedCom's rules, a duplicate gets the first
answer again, a broken message a fatal-error naming the rule; a partner's
MedCom Acknowledgement settles our outbox and is never acknowledged."""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation

from acute.models import DeadlineWarning, Referral
from consent.audit.models import AuditEntry
from consent.models import CareRelationship
from core.fhir.patient import patient_resource
from core.models import Citizen
from integrations.medcom.envelope import AckCode, Issue
from integrations.medcom.envelope import patient as medcom_patient
from integrations.medcom.validation import validate_message
from integrations.models import InboundMessage, OutboundMessage, Partner
from integrations.transport import signed_headers
from tests import factories as f
from tests.consent.audit.conftest import as_owner
from tests.integrations.medcom.conftest import (
    EXAMPLE_CPR,
    acknowledgement_of,
    awaiting_ack,
)

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "hospitalnotification"
# MedCom's examples: the hospital (sender) and the receiving organisation.

STIN = "a5e5b880-c087-4055-b9ec-99108695f81d"  # admitted (inpatient)
AN_STIN = "c83671a4-9584-11ec-b909-0242ac120002"  # admission cancelled
STOR = "d3128d9b-cede-4c7f-8904-809eab322d7d"  # start of leave
SLHJ = "f4aa42a4-86db-4e68-9b38-9dda0dfd5774"  # discharged home (inpatient)
MORS = "g099bbf3-3fca-4722-a248-bfe1aa956410"  # died (inpatient)
STAA = "h1c8e4a8-6b45-4669-94ad-2a99ad96bf03"  # acute ambulant admission


def _example(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def _post(partner: Partner, message: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    body = json.dumps(message).encode()
    headers = signed_headers(sender=partner.code, secret=partner.secret, body=body)
    response = Client().post(
        "/fhir/$process-message",
        data=body,
        content_type="application/fhir+json",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
    )
    return response.status_code, json.loads(response.content)


def _ack(body: dict[str, Any]) -> tuple[str, str, list[dict[str, Any]]]:
    header = body["entry"][0]["resource"]
    assert header["eventCoding"]["code"] == "acknowledgement-message"
    issues = [
        issue
        for entry in body["entry"]
        if entry["resource"]["resourceType"] == "OperationOutcome"
        for issue in entry["resource"]["issue"]
    ]
    return header["response"]["code"], header["response"]["identifier"], issues


def _header_id(message: dict[str, Any]) -> str:
    return message["entry"][0]["resource"]["id"]


def test_r12_an_admission_holds_untriaged_referrals_and_warns_the_coordinator(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    message = _example(STIN)
    status, body = _post(hospital, message)
    code, answering, issues = _ack(body)
    assert (status, code, answering, issues) == (200, "ok", _header_id(message), [])
    assert validate_message(body) == []  # our acknowledgement keeps MedCom's rules
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"
    warning = DeadlineWarning.objects.get(referral=referral, kind=DeadlineWarning.Kind.ADMITTED)
    assert warning.detail["admission"].endswith("bd481c38-a921-11ed-afa1-0242ac120002")
    assert CareRelationship.objects.filter(
        citizen=citizen, organisation=hospital.organisation, ended_at__isnull=True
    ).exists()
    row = InboundMessage.objects.get(partner=hospital)
    assert row.result["activity"] == "admit-inpatient"


def test_r12_an_admission_while_a_nurse_is_on_the_referral_warns_without_holding(hospital, citizen):
    referral = f.acute_referral(person=citizen)
    # A nurse already reached her: the referral is not put on hold.
    Referral.objects.filter(pk=referral.pk).update(reached_at=timezone.now())
    status, body = _post(hospital, _example(STIN))
    assert (status, _ack(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert referral.on_hold_since is None
    warning = DeadlineWarning.objects.get(referral=referral, kind=DeadlineWarning.Kind.ADMITTED)
    assert warning.detail["on_hold"] is False
    assert InboundMessage.objects.get(partner=hospital).result["referrals_warned"] == [referral.pk]


def test_r12_a_discharge_closes_the_admission_of_its_episode_of_care_and_resumes(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    _post(hospital, _example(STIN))
    # Another Encounter id, the same episode of care: the discharge closes it.
    status, body = _post(hospital, _example(SLHJ))
    assert (status, _ack(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert referral.on_hold_since is None
    assert not CareRelationship.objects.filter(
        citizen=citizen, organisation=hospital.organisation, ended_at__isnull=True
    ).exists()
    warning = DeadlineWarning.objects.get(referral=referral, kind=DeadlineWarning.Kind.ADMITTED)
    assert "discharged_at" in warning.detail


EPISODE = "bd481c38-a921-11ed-afa1-0242ac120002"  # the examples' episode of care


def _of_stay(message: dict[str, Any], episode: str) -> dict[str, Any]:
    """The message sent anew about another stay (its episode-of-care identifier)."""
    return json.loads(json.dumps(_sent_anew(message)).replace(EPISODE, episode))


def test_r12_two_stays_whose_long_identifiers_begin_alike_are_two_stays(hospital, citizen):
    """An identifier longer than the platform keeps whole is not cut short:
    the discharge from one stay neither ends the other nor resumes her
    referrals while she is still admitted."""
    referral = f.acute_referral(person=citizen, accepted=False)
    alike = "afdeling-" + "0" * 60
    for episode in (alike + "-1", alike + "-2"):
        status, body = _post(hospital, _of_stay(_example(STIN), episode))
        assert (status, _ack(body)[0]) == (200, "ok")
    hospital_stays = CareRelationship.objects.filter(
        citizen=citizen, organisation=hospital.organisation, ended_at__isnull=True
    )
    assert hospital_stays.count() == 2

    status, body = _post(hospital, _of_stay(_example(SLHJ), alike + "-1"))
    assert (status, _ack(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert referral.on_hold_since is not None
    assert hospital_stays.count() == 1

    _post(hospital, _of_stay(_example(SLHJ), alike + "-2"))
    referral.refresh_from_db()
    assert referral.on_hold_since is None


def test_r12_a_cancelled_admission_resumes_the_referrals(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    _post(hospital, _example(STIN))
    status, body = _post(hospital, _example(AN_STIN))
    assert (status, _ack(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert referral.on_hold_since is None


def test_r12_leave_keeps_the_hold(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    _post(hospital, _example(STIN))
    status, body = _post(hospital, _example(STOR))
    assert (status, _ack(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"


def test_r12_an_acute_ambulant_admission_holds_too(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    status, body = _post(hospital, _example(STAA))
    assert (status, _ack(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"


def test_r12_death_closes_the_open_referrals_and_registers_the_death(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    _post(hospital, _example(STIN))
    status, body = _post(hospital, _example(MORS))
    assert (status, _ack(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    citizen.refresh_from_db()
    assert referral.status == Referral.Status.CLOSED and referral.on_hold_since is None
    assert citizen.deceased_at is not None
    # The board says she died, not that she is in hospital (R12's hold).
    warning = DeadlineWarning.objects.get(referral=referral, kind=DeadlineWarning.Kind.DECEASED)
    assert "deceased_at" in warning.detail
    with translation.override("da"):
        assert warning.get_kind_display() == "Borgeren er registreret død: henvisningen er lukket"


def _sent_anew(message: dict[str, Any], **patient: Any) -> dict[str, Any]:
    """The message as a new one (new Bundle.id and MessageHeader.id, its
    Provenance naming the new header), its Patient changed by ``patient``
    (an element given None is left out)."""
    text = json.dumps(message).replace(_header_id(message), str(uuid.uuid4()))
    again = json.loads(text)
    again["id"] = str(uuid.uuid4())
    for entry in again["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            for name, value in patient.items():
                if value is None:
                    entry["resource"].pop(name, None)
                else:
                    entry["resource"][name] = value
    return again


def _dead(citizen: Citizen) -> Citizen:
    Citizen.objects.filter(pk=citizen.pk).update(deceased_at=timezone.now() - dt.timedelta(days=1))
    citizen.refresh_from_db()
    return citizen


def test_r12_an_admission_of_a_citizen_registered_dead_is_refused_and_changes_nothing(
    hospital, citizen
):
    """A citizen the platform knows as dead is not admitted: the hospital gets
    MedCom's fatal-error naming the rule, the attempt is on her record (R9),
    no care relationship opens for the hospital, nothing is put on hold, and
    a resend gets the same answer."""
    referral = f.acute_referral(person=citizen, accepted=False)
    died = _dead(citizen).deceased_at
    message = _example(STIN)
    status, body = _post(hospital, message)
    code, answering, issues = _ack(body)
    assert (status, code, answering) == (400, "fatal-error", _header_id(message))
    assert validate_message(body) == []
    assert issues[0]["details"]["coding"][0]["code"] == "MSG_PARAM_INVALID"
    assert "hospital.citizen_deceased" in issues[0]["details"]["text"]
    assert EXAMPLE_CPR not in json.dumps(body)
    referral.refresh_from_db()
    citizen.refresh_from_db()
    assert referral.on_hold_since is None and citizen.deceased_at == died
    assert not CareRelationship.objects.filter(
        citizen=citizen, organisation=hospital.organisation
    ).exists()
    assert not DeadlineWarning.objects.exists()
    denied = AuditEntry.objects.get(citizen_id=citizen.pk, outcome="denied")
    assert (denied.resource_type, denied.reason_code) == ("Bundle", "hospital.citizen_deceased")
    status_again, body_again = _post(hospital, message)
    assert (status_again, body_again["entry"][1:]) == (400, body["entry"][1:])


def test_r12_a_death_the_hospital_reported_blocks_its_next_admission(hospital, citizen):
    """The hospital's own death message (MORS) registers the death; an
    admission sent after it is refused; the death message sent again (a
    revision) is still received."""
    f.acute_referral(person=citizen, accepted=False)
    _post(hospital, _example(STIN))
    assert _ack(_post(hospital, _example(MORS))[1])[0] == "ok"
    status, body = _post(hospital, _sent_anew(_example(STIN)))
    assert (status, _ack(body)[0]) == (400, "fatal-error")
    assert "hospital.citizen_deceased" in _ack(body)[2][0]["details"]["text"]
    status, body = _post(hospital, _sent_anew(_example(MORS)))
    assert (status, _ack(body)[0]) == (200, "ok")


def test_r12_a_death_reported_in_error_is_corrected_and_the_admission_received(hospital, citizen):
    """MedCom sends the Patient's deceasedBoolean only for a death or for a
    change back from deceased: false corrects a death reported in error. The
    correction is received (never refused as an admission of the dead), the
    death is withdrawn and audited, and the admission in the same message is
    then received for the living citizen."""
    referral = f.acute_referral(person=citizen, accepted=False)
    died = _dead(citizen).deceased_at
    message = _sent_anew(_example(STIN), deceasedBoolean=False)
    status, body = _post(hospital, message)
    assert (status, _ack(body)[0]) == (200, "ok"), body
    assert validate_message(body) == []
    citizen.refresh_from_db()
    referral.refresh_from_db()
    assert citizen.deceased_at is None
    assert referral.on_hold_reason == "hospital_admission"
    row = InboundMessage.objects.get(partner=hospital, header_id=_header_id(message))
    assert row.result["death_withdrawn"] == died.isoformat()
    withdrawn = AuditEntry.objects.get(citizen_id=citizen.pk, reason_code="death_withdrawn")
    assert (withdrawn.resource_type, withdrawn.action) == ("Patient", "update")


@pytest.mark.parametrize(
    ("deceased", "field"),
    [
        ({"deceasedDateTime": "2999-01-01T10:00:00+01:00"}, "Patient.deceasedDateTime"),
        ({"deceasedDateTime": "1900-01-01T10:00:00+01:00"}, "Patient.deceasedDateTime"),
    ],
)
def test_r12_a_time_of_death_that_cannot_be_true_is_refused(hospital, citizen, deceased, field):
    """A death to come, or before the citizen was born (1947, from her CPR
    number), would stop every referral and visit for a living citizen: the
    message gets a fatal-error naming the element, and nothing changes."""
    referral = f.acute_referral(person=citizen, accepted=False)
    message = _sent_anew(_example(MORS), deceasedBoolean=None, **deceased)
    status, body = _post(hospital, message)
    code, _answering, issues = _ack(body)
    assert (status, code) == (400, "fatal-error"), body
    assert field in issues[0]["details"]["text"]
    assert "death." in issues[0]["details"]["text"]
    citizen.refresh_from_db()
    referral.refresh_from_db()
    assert citizen.deceased_at is None and referral.status != Referral.Status.CLOSED


@pytest.mark.parametrize(
    ("deceased", "died_at", "written"),
    [
        # A date alone is read as the FHIR Patient door reads it: the start
        # of that day in Copenhagen (00:00 at +01:00), not midnight UTC;
        # kept as that day and written back as it.
        ("2022-12-08", dt.datetime(2022, 12, 7, 23, tzinfo=dt.UTC), "2022-12-08"),
        # A month is a death without a time: the end of the stay, as for
        # deceasedBoolean true.
        ("2022-12", dt.datetime(2022, 12, 9, 7, 45, 30, tzinfo=dt.UTC), "2022-12-09T07:45:30Z"),
    ],
)
def test_r12_a_death_stated_as_a_date_without_a_time_is_registered(
    hospital, citizen, deceased, died_at, written
):
    """MORS with ``deceasedDateTime`` of a date and no time (and no
    deceasedBoolean) is a death, not an admission: she is registered dead
    and her referral closed, not put on hold."""
    referral = f.acute_referral(person=citizen, accepted=False)
    message = _sent_anew(_example(MORS), deceasedBoolean=None, deceasedDateTime=deceased)
    status, body = _post(hospital, message)
    assert (status, _ack(body)[0]) == (200, "ok"), body
    citizen.refresh_from_db()
    referral.refresh_from_db()
    assert citizen.deceased_at == died_at
    assert referral.status == Referral.Status.CLOSED and referral.on_hold_since is None
    # Written back as it was given: the day, or the instant the stay ended.
    assert patient_resource(citizen)["deceasedDateTime"] == written
    assert medcom_patient(citizen)["deceasedDateTime"] == written
    warning = DeadlineWarning.objects.get(referral=referral, kind=DeadlineWarning.Kind.DECEASED)
    assert warning.detail.get("deceased_on", written) == written


def test_r12_medcoms_official_test_message_stin_a_is_accepted(hospital, citizen):
    # Its GLNs are identified by https://www.gs1.org/gln (DK-core before 3.0).
    path = FIXTURES.parent / "testexamples" / "HospitalNotification-Ex-STIN-A.json"
    message = json.loads(path.read_text(encoding="utf-8"))
    referral = f.acute_referral(person=citizen, accepted=False)
    status, body = _post(hospital, message)
    assert (status, _ack(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"


def test_a_citizen_the_platform_does_not_follow_is_acknowledged_and_nothing_changes(hospital):
    status, body = _post(hospital, _example(STIN))
    assert (status, _ack(body)[0]) == (200, "ok")
    assert InboundMessage.objects.get(partner=hospital).result == {
        "activity": "admit-inpatient",
        "followed": False,
    }


def test_a_duplicate_gets_the_first_acknowledgement_in_a_new_envelope_and_is_processed_once(
    hospital, citizen
):
    f.acute_referral(person=citizen, accepted=False)
    message = _example(STIN)
    first_status, first = _post(hospital, message)
    again = copy.deepcopy(message)
    again["id"] = str(uuid.uuid4())  # MedCom: a resend has a new Bundle.id, the same header
    second_status, second = _post(hospital, again)
    assert first_status == second_status == 200
    assert second["id"] != first["id"]
    assert second["entry"] == first["entry"]  # the same acknowledgement content
    assert validate_message(second) == []
    assert InboundMessage.objects.filter(partner=hospital).count() == 1


def test_a_message_that_breaks_a_rule_gets_a_fatal_error_naming_it_and_changes_nothing(
    hospital, citizen
):
    referral = f.acute_referral(person=citizen, accepted=False)
    message = _example(STIN)
    for entry in message["entry"]:
        if entry["resource"]["resourceType"] == "Provenance":
            entry["resource"].pop("occurredDateTime")
    status, body = _post(hospital, message)
    code, answering, issues = _ack(body)
    assert (status, code, answering) == (400, "fatal-error", _header_id(message))
    assert validate_message(body) == []
    assert issues[0]["details"]["coding"][0]["code"] == "MSG_RESOURCE_REQUIRED"
    assert "medcom-messaging-provenance" in issues[0]["details"]["text"]
    assert "occurredDateTime" in issues[0]["details"]["text"]
    assert EXAMPLE_CPR not in json.dumps(body)
    referral.refresh_from_db()
    assert referral.on_hold_since is None
    # Remembered: the same message again gets the same answer.
    status_again, body_again = _post(hospital, message)
    assert (status_again, body_again["entry"]) == (400, body["entry"])


def test_a_replacement_cpr_is_refused_by_hospital_notification_4(hospital, citizen):
    message = _example(STIN)
    for entry in message["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"]["identifier"] = [
                {"system": "urn:oid:1.2.208.176.1.6.1.1", "value": "0703921VJ4"}
            ]
    status, body = _post(hospital, message)
    code, _, issues = _ack(body)
    assert (status, code) == (400, "fatal-error")
    assert any("medcom-hospitalNotification-4" in i["details"]["text"] for i in issues)


def test_a_message_to_another_receiver_is_refused(hospital, citizen):
    acute = f.acute_function()
    acute.sor_code, acute.ean = "1111111000016001", "5790000000005"
    acute.save(update_fields=["sor_code", "ean"])
    status, body = _post(hospital, _example(STIN))
    code, _, issues = _ack(body)
    assert (status, code) == (400, "fatal-error")
    assert issues[0]["details"]["coding"][0]["code"] == "MSG_Receiver_Identifier_UNKNOWN"
    assert validate_message(body) == []


def test_a_partner_that_may_not_send_hospital_notifications_is_refused(hospital, citizen):
    gp = f.integration_partner(Partner.Kind.GP, hospital.organisation, code="gp-as-hospital")
    status, body = _post(gp, _example(STIN))
    code, _, issues = _ack(body)
    assert (status, code) == (400, "fatal-error")
    assert issues[0]["details"]["coding"][0]["code"] == "MSG_RECEIVER_UNABLE_TO_RECEIVE_MSG_TYPE"


# --- a partner's MedCom Acknowledgement of our message ---------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (AckCode.OK, OutboundMessage.Status.ACKNOWLEDGED),
        (AckCode.TRANSIENT, OutboundMessage.Status.PENDING),
        (AckCode.FATAL, OutboundMessage.Status.FAILED),
    ],
)
def test_a_partners_acknowledgement_settles_our_message_and_is_not_acknowledged(
    hospital, citizen, code, status
):
    message = awaiting_ack(hospital, citizen)
    first_bundle_id, header_id = message.bundle_id, message.message_id
    issues = (
        [] if code == AckCode.OK else [Issue("MSG_Mailbox_Out_Of_Operation", "Indbakke lukket")]
    )
    http_status, body = _post(hospital, acknowledgement_of(message, code, issues))
    assert http_status == 200
    assert body["resourceType"] == "OperationOutcome"  # never an acknowledgement of an ack
    message.refresh_from_db()
    assert message.status == status
    if code == AckCode.FATAL:
        assert "MSG_Mailbox_Out_Of_Operation" in message.last_error
    if code == AckCode.TRANSIENT:
        # MedCom MR5/MR7: sent again in a new envelope, the same MessageHeader.
        assert message.bundle_id != first_bundle_id and message.message_id == header_id
        assert message.bundle["id"] == str(message.bundle_id) and message.bundle["timestamp"]


def test_an_acknowledgement_of_a_message_we_never_sent_is_answered_not_found(hospital, citizen):
    stray = OutboundMessage(partner=hospital, event="x", bundle={}, message_id=uuid.uuid4())
    http_status, body = _post(hospital, acknowledgement_of(stray, AckCode.OK))
    assert http_status == 404 and body["resourceType"] == "OperationOutcome"


def test_a_message_without_acknowledgement_goes_again_in_a_new_envelope_at_most_twice(
    hospital, citizen
):
    """MedCom reliable messaging: 30 minutes' wait, at most 2 resends, a new
    Bundle.id and timestamp each time, the same MessageHeader.id."""
    import datetime as dt

    from django.utils import timezone

    from integrations.outbox import outbox_sweep

    hospital.refresh_from_db()
    assert (hospital.ack_timeout_seconds, hospital.max_resends) == (1800, 2)
    message = awaiting_ack(hospital, citizen)
    header_id, seen = message.message_id, {message.bundle_id}
    later = timezone.now() + dt.timedelta(seconds=hospital.ack_timeout_seconds + 1)
    for _ in range(2):
        OutboundMessage.objects.filter(pk=message.pk).update(
            status=OutboundMessage.Status.AWAITING_ACK, next_attempt_at=timezone.now()
        )
        outbox_sweep(now=later)
        message.refresh_from_db()
        assert message.status == OutboundMessage.Status.PENDING
        assert message.message_id == header_id and message.bundle_id not in seen
        seen.add(message.bundle_id)
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=OutboundMessage.Status.AWAITING_ACK, next_attempt_at=timezone.now()
    )
    outbox_sweep(now=later)
    message.refresh_from_db()
    assert (message.status, message.last_error_code) == (
        OutboundMessage.Status.FAILED,
        "ack.missing",
    )


def test_a_partner_answering_transient_error_every_time_gets_the_message_at_most_twice_more(
    hospital, citizen
):
    """MedCom reliable messaging (MR7): never more than 2 resends, whatever
    asks for them. A transient-error resend counts against the same bound as
    one for a missing acknowledgement; past it the message is parked for a
    person, with the partner's own words, instead of going again forever."""
    message = awaiting_ack(hospital, citizen)
    header_id = message.message_id
    busy = [Issue("MSG_LOCAL_FAIL", "Indbakken er optaget", code="transient")]
    for resend in (1, 2):
        status, _body = _post(hospital, acknowledgement_of(message, AckCode.TRANSIENT, busy))
        assert status == 200
        message.refresh_from_db()
        assert (message.status, message.resends) == (OutboundMessage.Status.PENDING, resend)
        assert message.message_id == header_id
        # Delivered again and taken in by the partner, who answers later.
        OutboundMessage.objects.filter(pk=message.pk).update(
            status=OutboundMessage.Status.AWAITING_ACK
        )
    envelope_before = message.bundle_id
    status, _body = _post(hospital, acknowledgement_of(message, AckCode.TRANSIENT, busy))
    assert status == 200
    message.refresh_from_db()
    assert (message.status, message.last_error_code, message.resends) == (
        OutboundMessage.Status.FAILED,
        "partner.transient_error",
        2,
    )
    assert "MSG_LOCAL_FAIL" in message.last_error and message.bundle_id == envelope_before
    assert message.failed_at is not None


def test_the_capability_statement_says_which_messages_are_medcom_and_which_local():
    statement = json.loads(Client().get("/fhir/metadata").content)
    text = statement["messaging"][0]["documentation"]
    assert "hospital-notification-message (MedCom)" in text
    assert "acute-referral (local" in text and "admission-handoff (local" in text
    assert "MessageDefinition urn:tvaerakut:MessageDefinition:admission-handoff|1.0" in text
    assert "care-communication-message (MedCom)" in text
    assert "homecareobservation-message (MedCom)" in text


def test_damaged_messages_get_a_medcom_answer_never_a_server_error(hospital, citizen):
    import random

    rng = random.Random(3)
    junk: list[Any] = [None, 1, "x", [], {}, [{}], {"coding": 5}, {"url": 3}, True]
    for n in range(25):
        message = _example(STIN)
        message["id"] = str(uuid.uuid4())
        message["entry"][0]["resource"]["id"] = str(uuid.uuid4())
        resource = rng.choice(message["entry"][1:])["resource"]
        key = rng.choice([k for k in resource if k not in ("resourceType", "id")])
        resource[key] = rng.choice(junk)
        status, body = _post(hospital, message)
        assert status in (200, 400), (n, key, status)
        if body.get("resourceType") == "Bundle":
            assert validate_message(body) == []


# What receiving a hospital's message costs the database, pinned (a regression
# guard on the number of statements, not on time): an admission that holds a
# referral, and the discharge that resumes it, each over HTTP as the hospital
# sends them (the partner's signature check included). The discharge reads
# her open stays first: the hold stays while she is in another one. Each reads
# the stay's events received before, so that a late one undoes no later one,
# after locking the citizen's row (her messages one at a time). She is found
# locked in one read; her stays, an admission's open visits and the stay's
# later events are one statement; a hold (or a resume) and its warnings one;
# the row that remembers the message and the message's audit entry one.
ADMISSION_STATEMENTS = 10
DISCHARGE_STATEMENTS = 10


@pytest.mark.postgres  # the counts are PostgreSQL's; SQLite's audit append takes more
def test_r12_an_admission_and_its_discharge_take_a_bounded_number_of_statements(
    hospital, citizen, django_assert_max_num_queries
):
    referral = f.acute_referral(person=citizen, accepted=False)
    audited = AuditEntry.objects.filter(citizen_id=citizen.pk).count()
    with django_assert_max_num_queries(ADMISSION_STATEMENTS):
        status, body = _post(hospital, _example(STIN))
    assert (status, _ack(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"
    with django_assert_max_num_queries(DISCHARGE_STATEMENTS):
        status, body = _post(hospital, _example(SLHJ))
    assert (status, _ack(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert referral.on_hold_since is None
    # R9 still: each message, and each change to the referral, has its entry.
    assert AuditEntry.objects.filter(citizen_id=citizen.pk).count() == audited + 4


@pytest.mark.postgres  # a trigger stands in for the log refusing the entry
def test_r9_a_message_whose_audit_entry_cannot_be_written_is_not_kept_nor_processed(
    hospital, citizen
):
    """The message's row and its audit entry are written together or not at
    all (one statement on PostgreSQL): when the log refuses the entry, the
    hospital is told to send again (transient-error), the message is not
    remembered as answered, and nothing it asked for is done: the referral
    is not held. Sent again once the log takes entries, it is processed."""
    referral = f.acute_referral(person=citizen, accepted=False)
    as_owner(
        "CREATE FUNCTION test_refuse_message_entry() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN IF NEW.reason_code = 'hospital-notification-message' THEN "
        "RAISE EXCEPTION 'log refuses the entry'; END IF; RETURN NEW; END $$; "
        "CREATE TRIGGER test_refuse_message_entry BEFORE INSERT ON audit_auditentry "
        "FOR EACH ROW EXECUTE FUNCTION test_refuse_message_entry()",
        bypass_triggers=False,
    )
    message = _example(STIN)
    status, body = _post(hospital, message)
    assert (status, _ack(body)[0]) == (503, "transient-error")
    assert not InboundMessage.objects.filter(bundle_id=message["id"]).exists()
    referral.refresh_from_db()
    assert referral.on_hold_since is None
    assert not AuditEntry.objects.filter(
        citizen_id=citizen.pk, reason_code="hospital-notification-message"
    ).exists()

    as_owner("DROP TRIGGER test_refuse_message_entry ON audit_auditentry", bypass_triggers=False)
    status, body = _post(hospital, message)
    assert (status, _ack(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"
    kept = InboundMessage.objects.get(bundle_id=message["id"])
    assert kept.outcome == InboundMessage.Outcome.OK
    assert (
        AuditEntry.objects.filter(
            citizen_id=citizen.pk,
            reason_code="hospital-notification-message",
            resource_id=message["id"],
        ).count()
        == 1
    )


@pytest.mark.postgres  # the counts are PostgreSQL's; SQLite's audit append takes more
def test_r12_each_further_referral_of_a_stay_adds_only_its_audit_entry(
    hospital, citizen, django_assert_max_num_queries
):
    """The holds, the board's warnings and the resumes are written in one
    statement for all her referrals, however many: a further referral adds
    its own audit entry (R9), nothing else. Here three held and one warned
    (a visit at her door today) against the single held one pinned above:
    two and one further entries, and the warned one's warning."""
    held = [f.acute_referral(person=citizen, accepted=False) for _ in range(3)]
    warned = _visit_today_case(citizen, follow_up=False)
    audited = AuditEntry.objects.filter(citizen_id=citizen.pk).count()
    with django_assert_max_num_queries(ADMISSION_STATEMENTS + 2 + 1 + 1):
        status, body = _post(hospital, _example(STIN))
    assert (status, _ack(body)[0]) == (200, "ok")
    assert {r.on_hold_reason for r in Referral.objects.filter(pk__in=[r.pk for r in held])} == {
        "hospital_admission"
    }
    warning = DeadlineWarning.objects.get(referral=warned, kind=DeadlineWarning.Kind.ADMITTED)
    assert warning.detail["on_hold"] is False
    with django_assert_max_num_queries(DISCHARGE_STATEMENTS + 2):
        status, body = _post(hospital, _example(SLHJ))
    assert (status, _ack(body)[0]) == (200, "ok")
    for referral in held:
        referral.refresh_from_db()
        assert referral.on_hold_since is None
        resumed = DeadlineWarning.objects.get(referral=referral, kind=DeadlineWarning.Kind.ADMITTED)
        assert resumed.detail["resumed"] == "discharged"
        assert "admission" in resumed.detail
    # Each message, and each change to each referral, has its entry.
    assert AuditEntry.objects.filter(citizen_id=citizen.pk).count() == audited + 2 + 4 + 3


def _visit_today_case(citizen: Citizen, *, follow_up: bool) -> Referral:
    """A referral whose episode ended, with a visit assigned yesterday that
    is at her door today (Copenhagen's day): a first visit the nurse reached
    after midnight, or a follow-up planned for today (no referral of its own)."""
    from acute.models import Visit

    referral = f.acute_referral(person=citizen)
    nurse, shift = f.acute_nurse_on_shift()
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday = midnight - dt.timedelta(hours=1)
    today = midnight + dt.timedelta(seconds=1)
    Visit.objects.create(
        episode=referral.episode,
        referral=None if follow_up else referral,
        citizen=citizen,
        kind=Visit.Kind.FOLLOW_UP if follow_up else Visit.Kind.FIRST,
        nurse=nurse.user,
        shift=shift,
        status=Visit.Status.COMPLETED,
        planned_for=today if follow_up else None,
        assigned_at=yesterday,
        respond_by=yesterday + dt.timedelta(minutes=10),
        on_site_at=today,
        completed_at=today + dt.timedelta(seconds=1),
        outcome="treated_at_home",
    )
    Referral.objects.filter(pk=referral.pk).update(status=Referral.Status.CLOSED)
    return referral


@pytest.mark.parametrize("follow_up", [False, True])
def test_r12_an_admission_after_a_visit_at_her_door_today_warns_the_coordinator(
    hospital, citizen, follow_up
):
    """ "A visit today" is the day of the visit at her door in Copenhagen,
    not the day it was assigned; a follow-up visit warns through its
    episode's referral."""
    referral = _visit_today_case(citizen, follow_up=follow_up)
    status, body = _post(hospital, _example(STIN))
    assert (status, _ack(body)[0]) == (200, "ok")
    warning = DeadlineWarning.objects.get(referral=referral, kind=DeadlineWarning.Kind.ADMITTED)
    assert warning.detail["on_hold"] is False
    assert InboundMessage.objects.get(partner=hospital).result["referrals_warned"] == [referral.pk]


def test_r12_an_admission_after_a_visit_yesterday_does_not_warn(hospital, citizen):
    from acute.models import Visit

    referral = _visit_today_case(citizen, follow_up=True)
    earlier = timezone.now() - dt.timedelta(days=2)
    Visit.objects.filter(citizen=citizen).update(
        planned_for=earlier, on_site_at=earlier, completed_at=earlier
    )
    status, body = _post(hospital, _example(STIN))
    assert (status, _ack(body)[0]) == (200, "ok")
    assert not DeadlineWarning.objects.filter(referral=referral).exists()


def _cancelled(message: dict[str, Any]) -> dict[str, Any]:
    """The message sent anew as its own cancellation: the Encounter
    ``entered-in-error`` (MedCom's way to cancel a message sent in error)."""
    again = _sent_anew(message)
    for entry in again["entry"]:
        if entry["resource"]["resourceType"] == "Encounter":
            entry["resource"]["status"] = "entered-in-error"
        if entry["resource"]["resourceType"] == "Provenance":
            entry["resource"]["occurredDateTime"] = "2022-12-09T10:00:00+02:00"
    return again


def test_r12_the_hospital_cancelling_its_death_message_withdraws_the_death(hospital, citizen):
    """The death message (MORS) sent again as entered-in-error: the death
    the hospital reported is withdrawn (audited, the board's
    ``death_withdrawn`` warning raised), acknowledged ``ok``, never refused
    as an admission of the dead; her next admission is received."""
    referral = f.acute_referral(person=citizen, accepted=False)
    _post(hospital, _example(STIN))
    assert _ack(_post(hospital, _example(MORS))[1])[0] == "ok"
    citizen.refresh_from_db()
    died = citizen.deceased_at
    assert died is not None

    cancellation = _cancelled(_example(MORS))
    status, body = _post(hospital, cancellation)

    assert (status, _ack(body)[0]) == (200, "ok"), body
    assert validate_message(body) == []
    citizen.refresh_from_db()
    assert citizen.deceased_at is None
    row = InboundMessage.objects.get(partner=hospital, header_id=_header_id(cancellation))
    assert row.result["death_withdrawn"] == died.isoformat()
    withdrawn = AuditEntry.objects.get(citizen_id=citizen.pk, reason_code="death_withdrawn")
    assert (withdrawn.resource_type, withdrawn.action) == ("Patient", "update")
    assert DeadlineWarning.objects.filter(referral=referral, kind="death_withdrawn").exists()
    status, body = _post(hospital, _sent_anew(_example(STIN)))
    assert (status, _ack(body)[0]) == (200, "ok")


def test_r12_a_cancellation_does_not_withdraw_a_death_another_door_registered(hospital, citizen):
    """Only the hospital's own death message is withdrawn by its
    cancellation: a death registered otherwise stands, and the cancelled
    discharge (admitted again) is refused as an admission of the dead."""
    _post(hospital, _example(STIN))
    died = _dead(citizen).deceased_at
    status, body = _post(hospital, _cancelled(_example(SLHJ)))
    assert (status, _ack(body)[0]) == (400, "fatal-error")
    citizen.refresh_from_db()
    assert citizen.deceased_at == died


def test_r12_a_cancellation_naming_the_death_message_withdraws_the_death(hospital, citizen):
    """MedCom's cancellation names the message it removes (Provenance
    ``entity`` role ``removal``): naming the death message withdraws the
    death even when the Patient no longer says deceased."""
    _post(hospital, _example(STIN))
    death = _example(MORS)
    assert _ack(_post(hospital, death)[1])[0] == "ok"
    cancellation = _sent_anew(_example(SLHJ), deceasedBoolean=None)
    for entry in cancellation["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Encounter":
            resource["status"] = "entered-in-error"
        if resource["resourceType"] == "Provenance" and resource["target"][0]["reference"].endswith(
            _header_id(cancellation)
        ):
            resource["entity"] = [
                {"role": "removal", "what": {"reference": f"MessageHeader/{_header_id(death)}"}}
            ]
    status, body = _post(hospital, cancellation)
    assert (status, _ack(body)[0]) == (200, "ok"), body
    citizen.refresh_from_db()
    assert citizen.deceased_at is None
