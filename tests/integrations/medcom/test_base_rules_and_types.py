"""Rules a partner's message must keep besides those MedCom's FSH spells out,
each refused at the door with MedCom's fatal-error naming it, nothing
written: FHIR R4's own required bindings (``Patient.gender``,
``Encounter.status``), the types an ``only`` rule allows a choice element
(an extension's ``value[x] only boolean``), the resource types an ``only
Reference(...)`` allows a reference, and times a message reports that have
not come yet (``Communication.sent``, a segment's time). An acknowledgement
of no message of ours to its sender settles nothing."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from typing import Any

import pytest
from django.utils import timezone

from consent.audit.models import AuditEntry
from integrations.medcom.envelope import AckCode
from integrations.medcom.validation import validate_message
from integrations.models import CareMessage, CareThread, InboundMessage, OutboundMessage
from tests import factories as f
from tests.integrations.medcom.conftest import acknowledgement_of, awaiting_ack
from tests.integrations.medcom.peers import ack_parts, example, header_id, post_signed
from tests.integrations.medcom.test_hospital_notification import (
    STIN,
    _example,
)
from tests.integrations.medcom.test_stay_order import _open_stays

CARE = "carecommunication"
FIRST = "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"  # a new CareCommunication
REPORT_OF_ADMISSION = "medcom-messaging-reportOfAdmissionExtension"


def _resource(message: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == kind)


def _rules(message: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(v.profile, v.path, v.rule) for v in validate_message(message)}


def _gender(message: dict[str, Any]) -> dict[str, Any]:
    _resource(message, "Patient")["gender"] = "xx"
    return message


def _flag_as_text(message: dict[str, Any]) -> dict[str, Any]:
    header = _resource(message, "MessageHeader")
    (flag,) = [x for x in header["extension"] if x["url"].endswith(REPORT_OF_ADMISSION)]
    flag["valueString"] = str(flag.pop("valueBoolean")).lower()
    return message


def _focus_on_patient(message: dict[str, Any]) -> dict[str, Any]:
    patient = next(e for e in message["entry"] if e["resource"]["resourceType"] == "Patient")
    _resource(message, "MessageHeader")["focus"] = [{"reference": patient["fullUrl"]}]
    return message


# --- the rules, on MedCom's own examples ------------------------------------------


def test_a_gender_outside_fhirs_required_value_set_breaks_its_binding():
    assert ("Patient", "gender", "binding") in _rules(_gender(_example(STIN)))


def test_an_encounter_status_fhir_r4_does_not_define_breaks_fhirs_binding():
    message = _example(STIN)
    _resource(message, "Encounter")["status"] = "admitted"
    assert ("Encounter", "status", "binding") in _rules(message)


def test_every_code_fhir_r4_defines_for_an_encounter_status_is_one():
    """The models list Encounter.status only in part ("…, cancelled, +")."""
    message = _example(STIN)
    _resource(message, "Encounter")["status"] = "unknown"
    assert ("Encounter", "status", "binding") not in _rules(message)


def test_an_extension_value_of_another_type_than_its_definition_allows_is_named():
    broken = validate_message(_flag_as_text(_example(STIN)))
    (violation,) = [v for v in broken if v.rule == "type"]
    assert violation.profile == REPORT_OF_ADMISSION
    assert violation.path == "extension[reportOfAdmissionFlag].value[x]"
    assert (violation.expected, violation.found) == ("valueBoolean", "valueString")


def test_a_care_communication_focus_on_a_patient_breaks_its_only_reference_rule():
    broken = validate_message(_focus_on_patient(example(CARE, FIRST)))
    (violation,) = [v for v in broken if v.rule == "reference:type"]
    assert violation.profile == "medcom-careCommunication-messageHeader"
    assert (violation.path, violation.found) == ("focus", "Patient")


def test_a_reference_by_type_and_id_to_another_type_is_named_by_the_type_it_names():
    message = _example(STIN)
    _resource(message, "Encounter")["subject"] = {"reference": "Organization/some-unit"}
    assert ("medcom-core-encounter", "subject", "reference:type") in _rules(message)


# --- at the door --------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "detail"),
    [
        (_gender, "MSG_VALUESET_VALUE_UNKNOWN"),
        (_flag_as_text, "MSG_Datatype_Wrong"),
    ],
    ids=["gender", "extension-type"],
)
def test_a_hospital_notification_breaking_fhirs_rules_is_refused_and_holds_nothing(
    hospital, citizen, change, detail
):
    referral = f.acute_referral(person=citizen, accepted=False)
    message = change(_example(STIN))
    status, body = post_signed(hospital, message)
    assert (status, ack_parts(body)[0]) == (400, "fatal-error")
    assert detail in ack_parts(body)[2]
    assert InboundMessage.objects.get(header_id=header_id(message)).outcome == "fatal-error"
    referral.refresh_from_db()
    assert referral.on_hold_since is None and not _open_stays(citizen, hospital).exists()


@pytest.mark.django_db
def test_a_care_communication_whose_focus_is_a_patient_is_refused_and_opens_no_thread(
    hospital, citizen
):
    f.acute_referral(person=citizen)
    status, body = post_signed(hospital, _focus_on_patient(example(CARE, FIRST)))
    assert (status, ack_parts(body)[0]) == (400, "fatal-error")
    assert "MSG_RESOURCE_TYPE_MISMATCH" in ack_parts(body)[2]
    assert not CareThread.objects.exists()


def _sent_ahead(message: dict[str, Any]) -> dict[str, Any]:
    ahead = timezone.now() + dt.timedelta(days=2)
    _resource(message, "Communication")["sent"] = ahead.isoformat()
    return message


def _segment_ahead(message: dict[str, Any]) -> dict[str, Any]:
    ahead = timezone.now() + dt.timedelta(hours=1)
    for payload in _resource(message, "Communication")["payload"]:
        for extension in payload.get("extension", []):
            if "valueDateTime" in extension:
                extension["valueDateTime"] = ahead.isoformat()
    return message


def _sent_on_a_day_to_come(message: dict[str, Any]) -> dict[str, Any]:
    day = timezone.localdate() + dt.timedelta(days=3)
    _resource(message, "Communication")["sent"] = day.isoformat()
    return message


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "element"),
    [
        (_sent_ahead, "Communication.sent"),
        (_sent_on_a_day_to_come, "Communication.sent"),
        (_segment_ahead, "Communication.payload.extension(date).valueDateTime"),
    ],
    ids=["sent", "sent-day", "segment"],
)
def test_a_care_communication_reporting_a_time_to_come_is_refused_whole(
    hospital, citizen, change, element
):
    f.acute_referral(person=citizen)
    message = change(copy.deepcopy(example(CARE, FIRST)))
    assert validate_message(message) == []  # MedCom's rules alone take it
    status, body = post_signed(hospital, message)
    assert (status, ack_parts(body)[0]) == (400, "fatal-error")
    assert ack_parts(body)[2] == ["MSG_PARAM_INVALID"]
    refused = InboundMessage.objects.get(partner=hospital, header_id=header_id(message))
    assert refused.reason_code == "carecommunication.time_in_future"
    # R9: a refused message naming her is a denied attempt on her record.
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, outcome="denied", reason_code="carecommunication.time_in_future"
    ).exists()
    assert element in str(body)
    assert not CareThread.objects.exists() and not CareMessage.objects.exists()


@pytest.mark.django_db
def test_a_care_communication_sent_within_the_clocks_skew_is_kept(hospital, citizen):
    f.acute_referral(person=citizen)
    message = example(CARE, FIRST)
    soon = timezone.now() + dt.timedelta(minutes=2)
    _resource(message, "Communication")["sent"] = soon.isoformat()
    status, body = post_signed(hospital, message)
    assert (status, ack_parts(body)[0]) == (200, "ok")
    assert CareThread.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("answering", ["never-sent", "sent-to-another"])
def test_an_ok_acknowledgement_of_no_message_of_ours_to_it_settles_nothing(
    hospital, helpline, citizen, answering
):
    """MedCom: an acknowledgement answers one message its sender received.
    One naming a message the platform never sent, or sent another partner,
    is refused (404, never acknowledged itself) and the message awaiting its
    answer stays awaiting it."""
    ours = awaiting_ack(hospital, citizen)
    if answering == "never-sent":
        ack = acknowledgement_of(ours, AckCode.OK)
        _resource(ack, "MessageHeader")["response"]["identifier"] = str(uuid.uuid4())
        sender = hospital
    else:
        ack = acknowledgement_of(ours, AckCode.OK, sender=helpline)
        sender = helpline
    status, body = post_signed(sender, ack)
    assert (status, body["resourceType"]) == (404, "OperationOutcome")
    assert "ack.unknown_message" in str(body)
    ours.refresh_from_db()
    assert (ours.status, ours.acknowledged_at) == (OutboundMessage.Status.AWAITING_ACK, None)
