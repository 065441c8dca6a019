"""What a hospital or another partner really sends, beyond MedCom's examples:
HospitalNotifications in unexpected orders (a discharge or cancellation of a
stay the platform never heard admitted while the citizen is admitted in
another, a stay of another citizen), refusals that reach for a citizen's data
audited as denied attempts (R9), a partner's fatal acknowledgement shown to
the coordinator in Danish, and a body larger than Django's own limit refused
with the platform's code."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from acute.models import Referral
from consent.audit.models import AuditEntry
from consent.models import CareRelationship
from core.models import Citizen, Role
from integrations.medcom import envelope
from integrations.medcom.envelope import AckCode, Issue
from integrations.medcom.validation import validate_message
from integrations.messages import Event, message_bundle
from integrations.models import CareThread, InboundMessage, OutboundMessage, Partner
from integrations.outbox import outbox_deliver, outbox_enqueue
from integrations.simulators.server import PartnerSimulator
from integrations.transport import HttpReply, _acknowledgement, signed_headers
from tests import factories as f
from tests.integrations.medcom.conftest import acknowledgement_of, awaiting_ack
from tests.integrations.medcom.peers import ack_parts, example, post_signed

pytestmark = pytest.mark.django_db

STIN = "a5e5b880-c087-4055-b9ec-99108695f81d"  # admitted (inpatient)
AN_STIN = "c83671a4-9584-11ec-b909-0242ac120002"  # admission cancelled
SLHJ = "f4aa42a4-86db-4e68-9b38-9dda0dfd5774"  # discharged home
CARE_COMMUNICATION = "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"  # a new message


def _resent_as_new(message: dict[str, Any]) -> dict[str, Any]:
    """The message as a new one: new Bundle.id and MessageHeader.id."""
    header_id = message["entry"][0]["resource"]["id"]
    fresh = json.loads(json.dumps(message).replace(header_id, str(uuid.uuid4())))
    fresh["id"] = str(uuid.uuid4())
    return fresh


def _notification(name: str, stay: str, citizen: Citizen) -> dict[str, Any]:
    """MedCom's example ``name`` as a new message about ``citizen``'s stay ``stay``."""
    message = _resent_as_new(example("hospitalnotification", name))
    for entry in message["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Encounter":
            resource["episodeOfCare"][0]["identifier"]["value"] = stay
        if resource["resourceType"] == "Patient":
            resource["identifier"][0]["value"] = citizen.cpr
    return message


def _held(referral: Referral) -> bool:
    referral.refresh_from_db()
    return referral.on_hold_reason == "hospital_admission"


def _open_stays(citizen: Citizen) -> set[str]:
    return {
        source_id.rsplit(":", 1)[-1]
        for source_id in CareRelationship.objects.filter(
            citizen=citizen, basis=CareRelationship.Basis.HOSPITAL_CONTACT, ended_at__isnull=True
        ).values_list("source_id", flat=True)
    }


def test_r12_a_discharge_of_a_stay_never_admitted_keeps_the_hold_of_the_stay_she_is_in(
    hospital, citizen
):
    referral = f.acute_referral(person=citizen, accepted=False)
    assert ack_parts(post_signed(hospital, _notification(STIN, "stay-A", citizen))[1])[0] == "ok"
    assert _held(referral)
    # A discharge naming a stay the platform never heard of (sent before its
    # admission, or by a department it does not follow): she is still in stay A.
    status, body = post_signed(hospital, _notification(SLHJ, "stay-B", citizen))
    assert (status, ack_parts(body)[0]) == (200, "ok")
    assert _held(referral)
    assert _open_stays(citizen) == {"stay-A"}
    result = InboundMessage.objects.filter(partner=hospital).latest("pk").result
    assert result["referrals_resumed"] == [] and len(result["still_admitted"]) == 1
    # The discharge of the stay she is in resumes the referral.
    assert ack_parts(post_signed(hospital, _notification(SLHJ, "stay-A", citizen))[1])[0] == "ok"
    assert not _held(referral)
    assert _open_stays(citizen) == set()


def test_r12_a_cancelled_admission_never_reported_keeps_the_hold(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    post_signed(hospital, _notification(STIN, "stay-A", citizen))
    status, body = post_signed(hospital, _notification(AN_STIN, "stay-C", citizen))
    assert (status, ack_parts(body)[0]) == (200, "ok")
    assert _held(referral)
    assert _open_stays(citizen) == {"stay-A"}


def test_r12_admitted_at_two_departments_she_comes_home_when_both_have_discharged_her(
    hospital, citizen
):
    referral = f.acute_referral(person=citizen, accepted=False)
    post_signed(hospital, _notification(STIN, "stay-A", citizen))
    post_signed(hospital, _notification(STIN, "stay-B", citizen))
    post_signed(hospital, _notification(SLHJ, "stay-A", citizen))
    assert _held(referral)
    post_signed(hospital, _notification(SLHJ, "stay-B", citizen))
    assert not _held(referral)


def test_r9_a_stay_of_another_citizen_is_refused_and_audited_for_both(hospital, citizen):
    other = f.citizen()
    hers = f.acute_referral(person=citizen, accepted=False)
    theirs = f.acute_referral(person=other, accepted=False)
    post_signed(hospital, _notification(STIN, "stay-X", citizen))
    # The same stay identifier about another citizen: neither admitted nor discharged.
    for name in (STIN, SLHJ):
        status, body = post_signed(hospital, _notification(name, "stay-X", other))
        code, _answering, details = ack_parts(body)
        assert (status, code, details) == (400, "fatal-error", ["MSG_PARAM_INVALID"])
        assert citizen.cpr not in json.dumps(body) and other.cpr not in json.dumps(body)
        assert _open_stays(citizen) == {"stay-X"} and _open_stays(other) == set()
        assert _held(hers) and not _held(theirs)
    denied = AuditEntry.objects.filter(
        outcome="denied", reason_code="hospital.stay_of_another_citizen"
    )
    assert sorted(denied.values_list("citizen_id", flat=True)) == sorted([citizen.pk, other.pk] * 2)


def test_r9_a_care_communication_in_another_citizens_thread_is_audited_for_both(hospital, citizen):
    other = f.citizen()
    assert ack_parts(post_signed(hospital, example("carecommunication", CARE_COMMUNICATION))[1])[
        0
    ] == ("ok")
    message = _resent_as_new(example("carecommunication", CARE_COMMUNICATION))
    for entry in message["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"]["identifier"][0]["value"] = other.cpr
    status, body = post_signed(hospital, message)
    assert (status, ack_parts(body)[0]) == (400, "fatal-error")
    assert CareThread.objects.get().citizen == citizen
    denied = AuditEntry.objects.filter(
        outcome="denied", reason_code="carecommunication.thread_of_another_citizen"
    )
    assert sorted(denied.values_list("citizen_id", flat=True)) == sorted([citizen.pk, other.pk])
    assert denied.first().detail["partner"] == hospital.code


def test_a_refused_message_about_no_known_citizen_is_answered_and_audits_no_one(hospital):
    before = AuditEntry.objects.count()
    status, body = post_signed(hospital, example("carecommunication", CARE_COMMUNICATION))
    assert (status, ack_parts(body)[2]) == (400, ["MSG_NO_MATCH"])
    assert AuditEntry.objects.count() == before


# --- a partner's fatal acknowledgement, on the coordinator's board ---------------


def test_a_partners_fatal_acknowledgement_is_shown_to_the_coordinator_in_danish(hospital, citizen):
    message = awaiting_ack(hospital, citizen, "care-communication")
    # A partner that echoes the CPR number it could not match.
    ack = acknowledgement_of(
        message, AckCode.FATAL, [Issue("MSG_NO_MATCH", f"Ukendt patient {citizen.cpr}")]
    )
    assert post_signed(hospital, ack)[0] == 200
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.FAILED
    # The same words as an acknowledgement given as the answer to a delivery.
    assert message.last_error == "MSG_NO_MATCH: Ukendt patient [cpr]"
    client = Client()
    assert f.log_in(client, f.staff(Role.COORDINATOR, f.acute_function())).status_code == 302
    board = client.get("/coordinator/live/").content.decode()
    assert "Korrespondancemeddelelse" in board and "care-communication" not in board
    assert (
        "Modtageren har afvist meddelelsen (negativ kvittering): MSG_NO_MATCH: Ukendt patient"
        in board
    )
    assert citizen.cpr not in board


def test_the_answer_to_a_delivery_and_an_acknowledgement_of_its_own_read_alike():
    ack = envelope.acknowledgement(
        answering="b9b4818e-02de-4cc4-b418-d20cbc7b5404",
        code=AckCode.FATAL,
        sender=f.acute_function(),
        receiver=f.acute_function(),
        receiver_endpoint="urn:a",
        sender_endpoint="urn:b",
        issues=[Issue("MSG_NO_MATCH", "Ukendt patient"), Issue("MSG_LOCAL_FAIL", "Prøv igen")],
    )
    reply = HttpReply(status=400, headers={}, body=json.dumps(ack).encode())
    read = _acknowledgement(reply, "b9b4818e-02de-4cc4-b418-d20cbc7b5404")
    assert (read.code, read.detail) == (
        "fatal-error",
        "MSG_NO_MATCH: Ukendt patient; MSG_LOCAL_FAIL: Prøv igen",
    )
    # Its ids, by which a copy of it sent later as a message is known.
    assert (read.bundle_id, read.header_id) == (ack["id"], ack["entry"][0]["resource"]["id"])


# --- the door itself ---------------------------------------------------------------


def test_a_body_over_djangos_own_limit_is_refused_with_the_platforms_code(hospital, settings):
    # Django's limit (2.5 MB by default) once answered a 3 MB message with a
    # bare 'request.invalid' before the platform's limit could speak.
    settings.REQUEST_MAX_JSON_BYTES = 2 * 1024 * 1024
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = settings.REQUEST_MAX_JSON_BYTES
    body = json.dumps({"resourceType": "Bundle", "pad": "x" * 3_000_000}).encode()
    headers = signed_headers(sender=hospital.code, secret=hospital.secret, body=body)
    response = Client().post(
        "/fhir/$process-message",
        data=body,
        content_type="application/fhir+json",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
    )
    assert response.status_code == 413
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "request.too_large"
    assert not InboundMessage.objects.exists()


def test_the_platforms_json_limit_is_djangos_limit_too():
    assert django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE == django_settings.REQUEST_MAX_JSON_BYTES


# --- a person re-sends a message the receiver refused -----------------------------


@pytest.fixture
def gp_inbox() -> Iterator[tuple[Partner, PartnerSimulator]]:
    """A GP practice whose inbox (a simulator on a free port) answers as a
    MedCom receiver: it remembers each MessageHeader.id's acknowledgement."""
    practice = f.gp_practice()
    partner = f.integration_partner(Partner.Kind.GP, practice)
    sim = PartnerSimulator(code=partner.code, secret=partner.secret, port=0)
    sim.port = sim._server.server_address[1]
    partner.endpoint_url = sim.url
    partner.save(update_fields=["endpoint_url"])
    sim.start()
    try:
        yield partner, sim
    finally:
        sim.stop()


def _sent(partner: Partner, citizen: Citizen) -> OutboundMessage:
    bundle = message_bundle(
        event=Event.CARE_COMMUNICATION,
        sender=f.acute_function(),
        receiver=partner.organisation,
        receiver_endpoint=partner.endpoint_url,
        focus=[{"resourceType": "Communication", "id": "c1", "status": "completed"}],
    )
    message = outbox_enqueue(
        partner=partner,
        event=Event.CARE_COMMUNICATION,
        bundle=bundle,
        citizen=citizen,
        source_type="test",
        source_id="1",
    )
    outbox_deliver(message_pks=[message.pk])
    message.refresh_from_db()
    return message


def test_a_message_the_receiver_refused_is_re_sent_by_a_person_as_a_new_message(gp_inbox):
    partner, sim = gp_inbox
    sim.state.ack_mode = "fatal"
    message = _sent(partner, f.citizen())
    assert (message.status, message.last_error_code) == ("failed", "partner.fatal_error")
    refused_header, refused_bundle = message.message_id, message.bundle_id
    # The receiver's side is put right; the coordinator sends it again.
    sim.state.ack_mode = "sync"
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    resent = f.client_for(coordinator).post(f"/api/integrations/outbox/{message.pk}/resend")
    assert resent.status_code == 202
    message.refresh_from_db()
    # MedCom 043: the receiver answers a MessageHeader.id it refused with the
    # same refusal, so the re-send is a new message: new header, new envelope.
    assert message.message_id != refused_header and message.bundle_id != refused_bundle
    header = message.bundle["entry"][0]["resource"]
    assert header["id"] == str(message.message_id)
    assert str(refused_header) not in json.dumps(message.bundle)
    outbox_deliver(message_pks=[message.pk])
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.ACKNOWLEDGED
    assert sim.processed_count(str(message.message_id)) == 1


def test_a_message_left_unacknowledged_is_re_sent_with_the_same_header(gp_inbox):
    partner, _sim = gp_inbox
    message = _sent(partner, f.citizen())
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=OutboundMessage.Status.FAILED, last_error_code="ack.missing"
    )
    header, bundle_id = message.message_id, message.bundle_id
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    assert (
        f.client_for(coordinator).post(f"/api/integrations/outbox/{message.pk}/resend").status_code
        == 202
    )
    message.refresh_from_db()
    assert message.message_id == header and message.bundle_id != bundle_id


def test_a_message_that_breaks_medcoms_rules_is_never_re_sent(gp_inbox):
    partner, sim = gp_inbox
    message = OutboundMessage.objects.create(
        partner=partner,
        event=Event.CARE_COMMUNICATION,
        bundle={"resourceType": "Bundle"},
        status=OutboundMessage.Status.FAILED,
        last_error_code="medcom.rule_broken",
        last_error="medcom-messaging-organization: identifier[SOR-ID] 1..1",
    )
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    response = f.client_for(coordinator).post(f"/api/integrations/outbox/{message.pk}/resend")
    assert response.status_code == 412
    assert response.json()["error"]["code"] == "outbox.rule_broken"
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.FAILED and message.attempts == 0
    assert sim.state.requests == 0


def test_a_medcom_message_whose_header_is_not_first_gets_medcoms_fatal_error(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    message = _notification(STIN, "stay-A", citizen)
    header_id = message["entry"][0]["resource"]["id"]
    message["entry"].append(message["entry"].pop(0))
    status, body = post_signed(hospital, message)
    # MedCom's Acknowledgement (KR1, KR5), quoting the message, naming the rule:
    # not the platform's own acknowledgement, which a MedCom partner cannot read.
    code, answering, details = ack_parts(body)
    assert (status, code, answering, details) == (400, "fatal-error", header_id, ["MSG_BAD_FORMAT"])
    assert validate_message(body) == []
    assert not _held(referral) and _open_stays(citizen) == set()


# --- moments the platform could write but never read back ------------------------


@pytest.mark.parametrize("written", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_a_care_communication_dated_outside_the_calendar_is_refused_not_kept(
    hospital, citizen, written
):
    """Kept in UTC, the year 10000 (or 0) could be written but never read
    back: every later read of the thread would fail."""
    message = _resent_as_new(example("carecommunication", CARE_COMMUNICATION))
    dated = 0
    for entry in message["entry"]:
        resource = entry["resource"]
        for payload in resource.get("payload") or []:
            for extension in payload.get("extension") or []:
                if extension["url"].endswith("medcom-core-datetime-extension"):
                    extension["valueDateTime"] = written
                    dated += 1
    assert dated, "the example's payload should carry its date"
    status, body = post_signed(hospital, message)
    assert (status, ack_parts(body)[0]) == (400, "fatal-error")
    outcome = next(
        e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == "OperationOutcome"
    )
    assert "valueDateTime" in json.dumps(outcome)
    assert not CareThread.objects.exists()
