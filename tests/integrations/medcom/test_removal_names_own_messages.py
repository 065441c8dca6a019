"""R3, R9, R12: a hospital's cancellation names the message it removes by its
MessageHeader.id (its Provenance's ``removal`` entity), and a hospital may
name only its own earlier messages about the citizen. One naming another
hospital's message, or its own about another citizen, is refused as naming a
message the platform never received (MedCom's ``MSG_NO_EXIST``, whose it is
untold), changes nothing, and is recorded as a denied attempt on every
citizen it reached for. A removal of a message the platform never received
is no refusal: the hospital may have sent it before she was followed."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.utils import translation

from consent.audit.models import AuditEntry
from core.models import Citizen, Organisation
from integrations.models import InboundMessage, Partner
from tests import factories as f
from tests.integrations.medcom.conftest import HOSPITAL_SOR
from tests.integrations.medcom.peers import ack_parts, header_id, post_signed
from tests.integrations.medcom.test_hospital_notification import (
    MORS,
    SLHJ,
    STIN,
    _example,
    _sent_anew,
)
from tests.integrations.medcom.test_hospital_notification_sequences import _sent_by
from tests.integrations.medcom.test_partner_variants import AN_STIN, _notification

pytestmark = pytest.mark.django_db

# A hospital notification's own reason, not a conversation's (CareCommunication).
REASON = "hospital.previous_unknown"


def _removing(message: dict[str, Any], removed: str) -> dict[str, Any]:
    """``message`` with its own Provenance naming ``removed`` as removed."""
    for entry in message["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Provenance" and resource["target"][0]["reference"].endswith(
            header_id(message)
        ):
            resource["entity"] = [
                {"role": "removal", "what": {"reference": f"MessageHeader/{removed}"}}
            ]
    return message


def _other_hospital() -> Partner:
    org = f.organisation(
        Organisation.Kind.HOSPITAL, "Bispebjerg", sor_code="6171000016004", ean=f.gln(77)
    )
    return f.integration_partner(Partner.Kind.HOSPITAL, org)


def _refused(partner: Partner, message: dict[str, Any]) -> dict[str, Any]:
    status, body = post_signed(partner, message)
    code, answering, details = ack_parts(body)
    assert (status, code, answering, details) == (
        400,
        "fatal-error",
        header_id(message),
        ["MSG_NO_EXIST"],
    ), body
    assert not InboundMessage.objects.filter(
        partner=partner, header_id=header_id(message), outcome="ok"
    ).exists()
    return body


def test_r3_a_hospital_cannot_cancel_another_hospitals_death_message(hospital, citizen):
    assert ack_parts(post_signed(hospital, _example(STIN))[1])[0] == "ok"
    death = _example(MORS)
    assert ack_parts(post_signed(hospital, death)[1])[0] == "ok"
    citizen.refresh_from_db()
    died = citizen.deceased_at
    assert died is not None
    other = _other_hospital()
    # The other hospital names the first one's stay and its death message.
    cancellation = _sent_by(other.organisation, _sent_anew(_example(SLHJ), deceasedBoolean=None))
    for entry in cancellation["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Encounter":
            resource["status"] = "entered-in-error"
            resource["episodeOfCare"][0]["identifier"]["system"] = (
                f"https://sor2.sum.dsdn.dk/#id={HOSPITAL_SOR}"
            )

    _refused(other, _removing(cancellation, header_id(death)))

    citizen.refresh_from_db()
    assert citizen.deceased_at == died
    assert not AuditEntry.objects.filter(reason_code="death_withdrawn").exists()
    [denied] = AuditEntry.objects.filter(outcome="denied", reason_code=REASON)
    assert denied.citizen_id == citizen.pk
    # The coordinator's board says what the hospital did, in her words.
    refused = InboundMessage.objects.get(partner=other, outcome=InboundMessage.Outcome.FATAL)
    assert refused.reason_code == REASON
    with translation.override("da"):
        shown = refused.reason_display()
    assert shown == (
        "Sygehuset har aflyst en sygehusadvis, som akutfunktionen ikke har modtaget"
        " fra dette sygehus om denne borger"
    )


def test_r9_a_removal_of_the_hospitals_message_about_another_citizen_is_refused(hospital, citizen):
    other = f.citizen()
    theirs = _notification(STIN, "stay-O", other)
    assert ack_parts(post_signed(hospital, theirs)[1])[0] == "ok"
    post_signed(hospital, _notification(STIN, "stay-C", citizen))

    body = _refused(
        hospital, _removing(_notification(AN_STIN, "stay-C", citizen), header_id(theirs))
    )

    assert citizen.cpr not in json.dumps(body) and other.cpr not in json.dumps(body)
    denied = AuditEntry.objects.filter(outcome="denied", reason_code=REASON)
    assert sorted(denied.values_list("citizen_id", flat=True)) == sorted([citizen.pk, other.pk])


def test_r9_a_removal_of_another_hospitals_message_about_someone_not_followed_is_refused(
    hospital, citizen
):
    other = _other_hospital()
    theirs = _sent_by(other.organisation, _sent_anew(_example(STIN)))
    assert ack_parts(post_signed(other, theirs)[1])[0] == "ok"
    stranger = Citizen(cpr="0101011234")  # not a citizen the platform follows
    message = _removing(_notification(AN_STIN, "stay-S", stranger), header_id(theirs))

    _refused(hospital, message)

    denied = AuditEntry.objects.filter(outcome="denied", reason_code=REASON)
    assert list(denied.values_list("citizen_id", flat=True)) == [citizen.pk]


def test_r12_a_removal_of_a_message_never_received_is_no_refusal(hospital, citizen):
    post_signed(hospital, _notification(STIN, "stay-N", citizen))

    status, body = post_signed(
        hospital, _removing(_notification(AN_STIN, "stay-N", citizen), str(uuid.uuid4()))
    )

    assert (status, ack_parts(body)[0]) == (200, "ok"), body
    assert not AuditEntry.objects.filter(outcome="denied").exists()
