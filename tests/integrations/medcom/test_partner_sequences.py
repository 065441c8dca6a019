"""A partner as MedCom partners behave in practice: HospitalNotifications out
of order (a discharge before its admission, an admission while admitted, a
discharge after the death, a discharge entered in error), acknowledgements
repeated or contradicting the first, a reply in a conversation the platform
held with another partner, and messages refused before they are processed
about a citizen the platform knows (R9, R12)."""

from __future__ import annotations

import copy
import json
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from acute.models import Referral
from consent.audit.models import AuditEntry
from consent.models import CareRelationship
from core.models import Citizen, Organisation, Role
from integrations.medcom import envelope
from integrations.medcom.envelope import AckCode, Issue
from integrations.models import CareThread, InboundMessage, OutboundMessage, Partner
from integrations.simulators.acks import simulator_ack
from tests import factories as f
from tests.integrations.medcom.conftest import acknowledgement_of, awaiting_ack
from tests.integrations.medcom.peers import ack_parts, example, header_id, post_signed
from tests.integrations.medcom.test_care_communication import FIRST, THIRD, _login
from tests.integrations.medcom.test_hospital_notification import (
    MORS,
    SLHJ,
    STIN,
    _example,
    _of_stay,
    _sent_anew,
)

pytestmark = pytest.mark.django_db


def _open_stays(citizen: Citizen, partner: Partner):
    return CareRelationship.objects.filter(
        citizen=citizen, organisation=partner.organisation, ended_at__isnull=True
    )


def _denied_entries(citizen: Citizen):
    return AuditEntry.objects.filter(citizen_id=citizen.pk, outcome="denied", action="create")


# --- R12: HospitalNotifications out of order ------------------------------------------


def test_r12_a_discharge_before_its_admission_is_acknowledged_and_holds_nothing(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    status, body = post_signed(hospital, _example(SLHJ))
    assert (status, ack_parts(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert referral.on_hold_since is None
    assert not _open_stays(citizen, hospital).exists()
    assert InboundMessage.objects.get(partner=hospital).result["referrals_resumed"] == []


def test_r12_a_second_admission_to_the_same_stay_keeps_one_stay_and_the_hold(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    post_signed(hospital, _example(STIN))
    status, body = post_signed(hospital, _sent_anew(_example(STIN)))
    assert (status, ack_parts(body)[0]) == (200, "ok")
    assert _open_stays(citizen, hospital).count() == 1
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"
    # The one discharge of that stay ends it.
    post_signed(hospital, _example(SLHJ))
    referral.refresh_from_db()
    assert referral.on_hold_since is None and not _open_stays(citizen, hospital).exists()


def test_r12_an_admission_at_another_department_keeps_the_hold_past_the_first_discharge(
    hospital, citizen
):
    referral = f.acute_referral(person=citizen, accepted=False)
    post_signed(hospital, _example(STIN))
    post_signed(hospital, _of_stay(_example(STIN), "afdeling-2"))
    status, body = post_signed(hospital, _example(SLHJ))
    assert (status, ack_parts(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert referral.on_hold_since is not None
    assert (
        InboundMessage.objects.filter(partner=hospital).order_by("-pk")[0].result["still_admitted"]
    )


def test_r12_a_discharge_after_her_death_resumes_nothing(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    post_signed(hospital, _example(STIN))
    assert ack_parts(post_signed(hospital, _example(MORS))[1])[0] == "ok"
    status, body = post_signed(hospital, _example(SLHJ))
    assert (status, ack_parts(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert referral.status == Referral.Status.CLOSED
    citizen.refresh_from_db()
    assert citizen.deceased_at is not None


def _entered_in_error(message: dict) -> dict:
    again = _sent_anew(message)
    for entry in again["entry"]:
        if entry["resource"]["resourceType"] == "Encounter":
            entry["resource"]["status"] = "entered-in-error"
    return again


def test_r12_a_discharge_entered_in_error_puts_her_back_on_hold(hospital, citizen):
    """The discharge did not happen: she is still admitted, as after a
    cancelled discharge, and as an admission entered in error is a cancelled
    admission."""
    referral = f.acute_referral(person=citizen, accepted=False)
    post_signed(hospital, _example(STIN))
    post_signed(hospital, _example(SLHJ))
    referral.refresh_from_db()
    assert referral.on_hold_since is None

    status, body = post_signed(hospital, _entered_in_error(_example(SLHJ)))
    assert (status, ack_parts(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"
    assert _open_stays(citizen, hospital).count() == 1
    result = InboundMessage.objects.filter(partner=hospital).order_by("-pk")[0].result
    assert result["referrals_on_hold"] == [referral.pk]


def test_r12_a_discharge_entered_in_error_after_her_death_is_refused_and_audited(hospital, citizen):
    post_signed(hospital, _example(STIN))
    post_signed(hospital, _example(MORS))
    status, body = post_signed(hospital, _entered_in_error(_example(SLHJ)))
    assert (status, ack_parts(body)[0]) == (400, "fatal-error")
    assert not _open_stays(citizen, hospital).exists()
    assert _denied_entries(citizen).filter(reason_code="hospital.citizen_deceased").exists()


# --- acknowledgements from partners ------------------------------------------------


def test_an_ok_after_the_partners_fatal_error_is_refused_and_the_message_stays_failed(
    hospital, citizen
):
    """MedCom 043: a positive acknowledgement may not follow a negative one;
    the first stands, and the refused message stays on the coordinator's board."""
    message = awaiting_ack(hospital, citizen)
    refusal = [Issue("MSG_NO_MATCH", "Borgeren kendes ikke")]
    assert post_signed(hospital, acknowledgement_of(message, AckCode.FATAL, refusal))[0] == 200
    status, body = post_signed(hospital, acknowledgement_of(message, AckCode.OK))
    assert status == 409
    assert body["issue"][0]["details"]["coding"][0]["code"] == "ack.contradicts_earlier"
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.FAILED
    assert "MSG_NO_MATCH" in message.last_error


def test_a_fatal_error_after_the_partners_ok_is_refused_and_the_message_stays_acknowledged(
    hospital, citizen
):
    message = awaiting_ack(hospital, citizen)
    post_signed(hospital, acknowledgement_of(message, AckCode.OK))
    refusal = [Issue("MSG_NO_MATCH", "Borgeren kendes ikke")]
    status, _body = post_signed(hospital, acknowledgement_of(message, AckCode.FATAL, refusal))
    assert status == 409
    message.refresh_from_db()
    assert (message.status, message.last_error_code) == (OutboundMessage.Status.ACKNOWLEDGED, "")


def test_the_same_acknowledgement_twice_settles_the_message_once(hospital, citizen):
    message = awaiting_ack(hospital, citizen)
    refusal = [Issue("MSG_NO_MATCH", "Borgeren kendes ikke")]
    post_signed(hospital, acknowledgement_of(message, AckCode.FATAL, refusal))
    message.refresh_from_db()
    first_failed_at = message.failed_at
    status, _body = post_signed(hospital, acknowledgement_of(message, AckCode.FATAL, refusal))
    assert status == 200
    message.refresh_from_db()
    assert (message.status, message.failed_at) == (OutboundMessage.Status.FAILED, first_failed_at)


def test_a_recorded_acknowledgement_is_answered_as_information_not_as_an_error(hospital, citizen):
    """The partner's acknowledgement was taken: the answer says so with an
    issue of severity information, which no partner reads as a failure."""
    message = awaiting_ack(hospital, citizen)
    status, body = post_signed(hospital, acknowledgement_of(message, AckCode.OK))
    assert status == 200
    [issue] = body["issue"]
    assert (issue["severity"], issue["details"]["coding"][0]["code"]) == (
        "information",
        "ack.received",
    )


@pytest.mark.parametrize("code", ["bogus", "OK", "transient"])
def test_an_acknowledgement_with_a_code_outside_the_three_is_refused_and_sends_nothing_again(
    hospital, citizen, code
):
    """A partner's acknowledgement in the platform's own format whose
    response.code is not ok, transient-error or fatal-error settles nothing:
    it is not read as a transient-error (which would send the message again
    in a new envelope), and it is refused with a code that names the field."""
    message = awaiting_ack(hospital, citizen)
    envelope_before = message.bundle_id
    ack = simulator_ack(str(message.message_id), AckCode.OK, sender=hospital.code)
    ack["entry"][0]["resource"]["response"]["code"] = code
    status, body = post_signed(hospital, ack)
    assert status == 400 and body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["details"]["coding"][0]["code"] == "ack.code_unknown"
    message.refresh_from_db()
    assert (message.status, message.bundle_id) == (
        OutboundMessage.Status.AWAITING_ACK,
        envelope_before,
    )
    assert message.acknowledged_at is None


@pytest.mark.parametrize("code", ["", None, 5])
def test_a_broken_acknowledgement_is_refused_without_an_acknowledgement(hospital, citizen, code):
    """An acknowledgement is never acknowledged (MedCom KR2), a broken one
    neither: the HTTP answer is an OperationOutcome saying what is wrong,
    nothing is remembered as a refused message, and the message it meant to
    answer waits as before."""
    message = awaiting_ack(hospital, citizen)
    ack = simulator_ack(str(message.message_id), AckCode.OK, sender=hospital.code)
    ack["entry"][0]["resource"]["response"]["code"] = code
    status, body = post_signed(hospital, ack)
    assert status == 400 and body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["expression"] == ["entry.0.resource.response.code"]
    assert not InboundMessage.objects.filter(partner=hospital).exists()
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.AWAITING_ACK


def test_an_acknowledgement_from_a_partner_that_was_not_the_receiver_settles_nothing(
    hospital, citizen
):
    message = awaiting_ack(hospital, citizen)
    org = f.organisation(
        Organisation.Kind.HOSPITAL, "Bispebjerg", sor_code="123456789012345", ean="5790000000012"
    )
    other = f.integration_partner(Partner.Kind.HOSPITAL, org)
    status, _body = post_signed(other, acknowledgement_of(message, AckCode.OK, sender=other))
    assert status == 404
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.AWAITING_ACK


@pytest.mark.parametrize("named", ["sender", "receiver"])
def test_an_acknowledgement_naming_another_sender_or_receiver_settles_nothing(
    hospital, citizen, named
):
    """MedCom: an acknowledgement comes from the receiver of the message it
    answers and goes to its sender. Signed by our receiver but naming another
    organisation as its sender, or addressed to another, it settles nothing."""
    message = awaiting_ack(hospital, citizen)
    org = f.organisation(
        Organisation.Kind.HOSPITAL, "Bispebjerg", sor_code="123456789012345", ean="5790000000012"
    )
    ack = envelope.acknowledgement(
        answering=str(message.message_id),
        code=AckCode.OK,
        sender=org if named == "sender" else hospital.organisation,
        receiver=org if named == "receiver" else f.acute_function(),
        receiver_endpoint="https://sor2.sum.dsdn.dk/#id=953741000016009",
        sender_endpoint="https://sor2.sum.dsdn.dk/#id=265161000016000",
        issues=[],
    )
    status, body = post_signed(hospital, ack)
    assert body["resourceType"] == "OperationOutcome"
    assert "message.not_addressed_by_partner" in json.dumps(body)
    expected = "MSG_PARAM_INVALID" if named == "sender" else "MSG_Receiver_Identifier_UNKNOWN"
    assert (status, expected in json.dumps(body)) == ((403 if named == "sender" else 400), True)
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.AWAITING_ACK
    # Addressed as MedCom asks, the same acknowledgement settles it.
    status, _body = post_signed(hospital, acknowledgement_of(message, AckCode.OK))
    assert status == 200
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.ACKNOWLEDGED


def test_the_board_tells_the_coordinator_in_danish_why_the_partner_refused_the_message(
    hospital, citizen
):
    message = awaiting_ack(hospital, citizen)
    refusal = [Issue("MSG_NO_MATCH", "Borgeren kendes ikke")]
    post_signed(hospital, acknowledgement_of(message, AckCode.FATAL, refusal))
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    response = f.client_for(coordinator).get(
        "/api/integrations/outbox?status=failed", HTTP_ACCEPT_LANGUAGE="da"
    )
    (row,) = response.json()["results"]
    assert row["reason_code"] == "partner.fatal_error"
    assert row["reason_text"].startswith(
        "Modtageren har afvist meddelelsen (negativ kvittering): MSG_NO_MATCH"
    )
    assert row["event_text"] == "Overlevering ved indlæggelse"
    page = _login(coordinator).get("/coordinator/").content.decode()
    assert "Modtageren har afvist meddelelsen (negativ kvittering): MSG_NO_MATCH" in page


# --- CareCommunication: a reply in another partner's conversation --------------------


def test_a_reply_to_our_message_to_another_partner_is_refused_and_nothing_is_written(
    hospital, citizen
):
    """The platform answered the hospital in its thread; a GP practice that
    replies to that answer replies to a message the platform never sent it."""
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)
    post_signed(hospital, example("carecommunication", FIRST))
    thread = CareThread.objects.get()
    _login(coordinator).post(
        f"/care-threads/{thread.pk}/reply/", {"text": "Svar.", "on": f"referral-{referral.pk}"}
    )
    ours = thread.messages.get(direction="out")
    practice = f.organisation(
        Organisation.Kind.GP_PRACTICE, "Lægehuset", sor_code="765432109876543", ean="5790000000029"
    )
    gp = f.integration_partner(Partner.Kind.GP, practice)
    answer = copy.deepcopy(example("carecommunication", THIRD))
    for entry in answer["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Provenance" and resource["target"][0]["reference"].endswith(
            header_id(answer)
        ):
            resource["entity"][0]["what"]["reference"] = f"MessageHeader/{ours.header_id}"
        if resource["resourceType"] == "Organization":
            for identifier in resource.get("identifier", []):
                if identifier["value"] == hospital.organisation.sor_code:
                    identifier["value"] = practice.sor_code
                if identifier["value"] == hospital.organisation.ean:
                    identifier["value"] = practice.ean
    answer["entry"][0]["resource"]["source"]["endpoint"] = (
        f"https://sor2.sum.dsdn.dk/#id={practice.sor_code}"
    )
    answer["id"] = str(uuid.uuid4())
    before = thread.messages.count()

    status, body = post_signed(gp, answer)
    code, answering, details = ack_parts(body)
    assert (status, code, answering, details) == (
        400,
        "fatal-error",
        header_id(answer),
        ["MSG_NO_EXIST"],
    )
    assert thread.messages.count() == before
    assert (
        _denied_entries(citizen).filter(reason_code="carecommunication.previous_unknown").exists()
    )
    # The hospital's own reply to the same answer continues its thread.
    answer["id"] = str(uuid.uuid4())
    for entry in answer["entry"]:
        if entry["resource"]["resourceType"] == "Organization":
            for identifier in entry["resource"].get("identifier", []):
                if identifier["value"] == practice.sor_code:
                    identifier["value"] = hospital.organisation.sor_code
                if identifier["value"] == practice.ean:
                    identifier["value"] = hospital.organisation.ean
    answer["entry"][0]["resource"]["source"]["endpoint"] = (
        f"https://sor2.sum.dsdn.dk/#id={hospital.organisation.sor_code}"
    )
    answer = _sent_anew(answer)
    status, body = post_signed(hospital, answer)
    assert (status, ack_parts(body)[0]) == (200, "ok")
    assert thread.messages.count() > before


# --- R9: refused before processing, about a citizen the platform knows ---------------


def test_r9_a_message_to_another_receiver_about_a_known_citizen_is_a_denied_attempt(
    hospital, citizen
):
    acute = f.acute_function()
    acute.sor_code, acute.ean = "1111111000016001", "5790000000005"
    acute.save(update_fields=["sor_code", "ean"])
    status, body = post_signed(hospital, _example(STIN))
    assert (status, ack_parts(body)[2]) == (400, ["MSG_Receiver_Identifier_UNKNOWN"])
    (entry,) = _denied_entries(citizen)
    assert entry.reason_code == "message.not_addressed_by_partner"
    # The same message again: the first answer, recorded as a resend of it
    # (R9), not as a second refusal.
    assert post_signed(hospital, _example(STIN))[0] == 400
    assert _denied_entries(citizen).count() == 2
    assert _denied_entries(citizen).filter(reason_code="message.resent").count() == 1


def test_r9_an_event_the_partner_may_not_send_about_a_known_citizen_is_a_denied_attempt(
    hospital, citizen
):
    gp = f.integration_partner(Partner.Kind.GP, hospital.organisation, code="gp-as-hospital")
    status, body = post_signed(gp, _example(STIN))
    assert (status, ack_parts(body)[2]) == (400, ["MSG_RECEIVER_UNABLE_TO_RECEIVE_MSG_TYPE"])
    assert _denied_entries(citizen).filter(reason_code="message.event_unsupported").count() == 1
    assert not _open_stays(citizen, hospital).exists()


def test_r9_a_message_about_someone_the_platform_does_not_know_is_refused_unaudited(hospital):
    status, body = post_signed(hospital, example("carecommunication", FIRST))
    assert (status, ack_parts(body)[2]) == (400, ["MSG_NO_MATCH"])
    assert not AuditEntry.objects.filter(outcome="denied").exists()


def test_a_body_that_is_not_json_gets_a_fatal_error_and_a_stale_signature_401(hospital):
    from integrations.transport import signed_headers

    body = b"{not json"
    headers = signed_headers(sender=hospital.code, secret=hospital.secret, body=body)
    del headers["Content-Type"]
    response = Client().post(
        "/fhir/$process-message", data=body, content_type="application/fhir+json", headers=headers
    )
    assert response.status_code == 400
    assert response.json()["entry"][0]["resource"]["response"]["code"] == "fatal-error"
    stale = dict(headers)
    stale["X-Tvaerakut-Timestamp"] = str(int(timezone.now().timestamp()) - 3600)
    response = Client().post(
        "/fhir/$process-message", data=body, content_type="application/fhir+json", headers=stale
    )
    assert response.status_code == 401
    assert response.json()["issue"][0]["details"]["coding"][0]["code"] == "auth.timestamp_stale"
    assert not InboundMessage.objects.filter(partner=hospital, outcome="ok").exists()


def test_r9_a_message_breaking_medcoms_rules_about_a_known_citizen_is_a_denied_attempt(
    hospital, citizen
):
    referral = f.acute_referral(person=citizen, accepted=False)
    broken = _sent_anew(_example(STIN))
    for entry in broken["entry"]:
        if entry["resource"]["resourceType"] == "Encounter":
            entry["resource"]["class"].pop("system")
    status, body = post_signed(hospital, broken)
    assert (status, ack_parts(body)[:1]) == (400, ("fatal-error",))
    assert "MSG_VALUESET_VALUE_UNKNOWN" in ack_parts(body)[2]
    assert _denied_entries(citizen).filter(reason_code="medcom.rule_broken").count() == 1
    referral.refresh_from_db()
    assert referral.on_hold_since is None and not _open_stays(citizen, hospital).exists()
    assert post_signed(hospital, broken)[0] == 400  # the same answer, refused once
    assert _denied_entries(citizen).filter(reason_code="medcom.rule_broken").count() == 1
    assert _denied_entries(citizen).filter(reason_code="message.resent").count() == 1


@pytest.mark.parametrize("code", [AckCode.OK, AckCode.FATAL])
@pytest.mark.parametrize("kept", ["withheld", "parked"])
def test_an_acknowledgement_of_a_message_that_never_left_is_not_found_and_settles_nothing(
    hospital, citizen, code, kept
):
    """A message withheld under the citizen's refusal (R4) or parked for
    breaking MedCom's rules never reached the partner: an acknowledgement of
    it is answered as one of a message never sent, and the message stays on
    the coordinator's board as it was."""
    message = awaiting_ack(hospital, citizen)
    if kept == "withheld":
        message.status = OutboundMessage.Status.WITHHELD
        message.last_error_code = "consent.refused"
    else:
        message.status = OutboundMessage.Status.FAILED
        message.last_error_code = "medcom.rule_broken"
        message.failed_at = timezone.now()
    message.save()
    issues = [] if code == AckCode.OK else [Issue("MSG_NO_MATCH", "Ukendt borger")]
    status, body = post_signed(hospital, acknowledgement_of(message, code, issues))
    assert status == 404 and body["resourceType"] == "OperationOutcome"
    assert "ack.unknown_message" in json.dumps(body)
    before = (message.status, message.last_error_code)
    message.refresh_from_db()
    assert (message.status, message.last_error_code) == before
    assert message.acknowledged_at is None
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    board = f.client_for(coordinator).get("/api/integrations/outbox").json()["results"]
    assert [row["id"] for row in board] == [message.pk]
