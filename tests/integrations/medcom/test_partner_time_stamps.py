"""A partner's time stamps: MedCom (052.2) says every dateTime and instant
SHALL carry its offset from UTC. A time without one is not FHIR R4 and is
refused with MedCom's own detail for it, naming the element, and, when the
message is about a citizen the platform knows, recorded as a denied attempt
on her (R9), as any other message refused before it is processed."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from consent.audit.models import AuditEntry
from consent.models import CareRelationship
from core.models import Citizen
from integrations.models import CareThread
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, example, header_id, post_signed
from tests.integrations.medcom.test_partner_variants import (
    CARE_COMMUNICATION,
    STIN,
    _notification,
    _resent_as_new,
)

pytestmark = pytest.mark.django_db


def _issue_texts(body: dict[str, Any]) -> list[str]:
    return [
        # The rule named: in the text, and its own words in diagnostics (Danish answer).
        f"{issue['details']['text']} {issue.get('diagnostics', '')}"
        for entry in body["entry"]
        if entry["resource"]["resourceType"] == "OperationOutcome"
        for issue in entry["resource"]["issue"]
    ]


def _denied(citizen: Citizen) -> int:
    return AuditEntry.objects.filter(citizen_id=citizen.pk, outcome="denied").count()


def _admission_starting(moment: str, citizen: Citizen) -> dict[str, Any]:
    message = _notification(STIN, "stay-without-offset", citizen)
    for entry in message["entry"]:
        if entry["resource"]["resourceType"] == "Encounter":
            entry["resource"]["period"]["start"] = moment
    return message


def test_r12_an_admission_whose_time_has_no_offset_gets_medcoms_date_format(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    message = _admission_starting("2026-12-01T10:00:00", citizen)
    status, body = post_signed(hospital, message)
    code, answered, details = ack_parts(body)
    assert (status, code, answered, details) == (
        400,
        "fatal-error",
        header_id(message),
        ["MSG_DATE_FORMAT"],
    )
    assert "period.start" in _issue_texts(body)[0]
    # Nothing half-done: not held, no hospital stay opened.
    referral.refresh_from_db()
    assert referral.on_hold_since is None
    assert not CareRelationship.objects.filter(
        citizen=citizen, basis=CareRelationship.Basis.HOSPITAL_CONTACT
    ).exists()


def test_r9_a_message_refused_for_its_time_is_a_denied_attempt_on_the_citizen(hospital, citizen):
    message = _admission_starting("2026-12-01T10:00:00", citizen)
    assert post_signed(hospital, message)[0] == 400
    (entry,) = AuditEntry.objects.filter(citizen_id=citizen.pk, outcome="denied")
    assert entry.reason_code == "medcom.rule_broken"
    # The same message again: the first answer, recorded as a resend of it
    # (R9), not as a second refusal.
    status, body = post_signed(hospital, message)
    assert (status, ack_parts(body)[2]) == (400, ["MSG_DATE_FORMAT"])
    assert _denied(citizen) == 2
    assert AuditEntry.objects.filter(citizen_id=citizen.pk, reason_code="message.resent").exists()


# --- a day no calendar has ---------------------------------------------------------


@pytest.mark.parametrize("where", ["Encounter.period.start", "Bundle.timestamp"])
def test_r12_a_day_that_does_not_exist_gets_medcoms_date_format(hospital, citizen, where):
    """2026-02-30, with its offset: a dateTime (or the Bundle's instant) no
    calendar has is in the wrong form as much as one without its offset, and
    is MedCom's MSG_DATE_FORMAT naming the element, decided by the element's
    FHIR type, not by how the FHIR library words its error."""
    referral = f.acute_referral(person=citizen, accepted=False)
    if where == "Bundle.timestamp":
        message = _notification(STIN, "stay-february", citizen)
        message["timestamp"] = "2026-02-30T10:00:00+01:00"
    else:
        message = _admission_starting("2026-02-30T10:00:00+01:00", citizen)
    status, body = post_signed(hospital, message)
    code, answered, details = ack_parts(body)
    assert (status, code, answered, details) == (
        400,
        "fatal-error",
        header_id(message),
        ["MSG_DATE_FORMAT"],
    )
    assert where.rsplit(".", 1)[-1] in _issue_texts(body)[0]
    referral.refresh_from_db()
    assert referral.on_hold_since is None
    assert not CareRelationship.objects.filter(
        citizen=citizen, basis=CareRelationship.Basis.HOSPITAL_CONTACT
    ).exists()
    (entry,) = AuditEntry.objects.filter(citizen_id=citizen.pk, outcome="denied")
    assert entry.reason_code == "medcom.rule_broken"


def test_an_attachment_whose_base64_does_not_decode_is_a_bad_format_not_a_date(hospital, citizen):
    message = _resent_as_new(example("carecommunication", CARE_COMMUNICATION))
    for entry in message["entry"]:
        payloads = entry["resource"].get("payload") or []
        if payloads:
            # Beside the message text MedCom requires (payload[string] 1..).
            attachment = copy.deepcopy(payloads[0])
            attachment.pop("contentString", None)
            attachment["contentAttachment"] = {
                "contentType": "application/pdf",
                "data": "!!!notbase64",
                "title": "Epikrise",
            }
            payloads.append(attachment)
    status, body = post_signed(hospital, message)
    assert (status, ack_parts(body)[0], ack_parts(body)[2]) == (
        400,
        "fatal-error",
        ["MSG_BAD_FORMAT"],
    )
    assert "contentAttachment.data" in _issue_texts(body)[0]
    assert not CareThread.objects.exists()
    assert _denied(citizen) == 1
