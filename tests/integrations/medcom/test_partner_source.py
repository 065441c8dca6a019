"""Where a partner's message says it comes from. MedCom's
``MessageHeader.source.endpoint`` is the sender's own address, where the
acknowledgement goes. A message whose sender Organization is the partner's
but whose source endpoint names another SOR unit was received: its answer,
and what the answer says of the citizen, would go to a unit that did not
write it. Refused for every MedCom message type with MedCom's fatal-error
(MSG_PARAM_INVALID) naming the element, nothing written, and a denied
attempt on the citizen it is about (R9)."""

from __future__ import annotations

from typing import Any

import pytest

from consent.audit.models import AuditEntry
from consent.models import CareRelationship
from integrations.models import CareThread
from tests import factories as f
from tests.integrations.medcom.conftest import HOSPITAL_SOR
from tests.integrations.medcom.peers import ack_parts, example, header_id, post_signed
from tests.integrations.medcom.test_partner_addressing import ANOTHER_SOR
from tests.integrations.medcom.test_partner_variants import CARE_COMMUNICATION, STIN, _notification

pytestmark = pytest.mark.django_db

SOR_UNIT = "https://sor2.sum.dsdn.dk/#id={}"


def _from(message: dict[str, Any], endpoint: str) -> dict[str, Any]:
    message["entry"][0]["resource"]["source"]["endpoint"] = endpoint
    return message


def _refused(body: dict[str, Any], message: dict[str, Any]) -> None:
    assert ack_parts(body) == ("fatal-error", header_id(message), ["MSG_PARAM_INVALID"])
    outcome = next(
        e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == "OperationOutcome"
    )
    assert outcome["issue"][0]["details"]["text"].startswith("MessageHeader.source.endpoint")


def test_r12_a_notification_from_another_units_address_is_refused(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    message = _from(_notification(STIN, "stay-source", citizen), SOR_UNIT.format(ANOTHER_SOR))
    status, body = post_signed(hospital, message)
    assert status == 400
    _refused(body, message)
    # The answer is addressed to the partner, not to the unit the source named.
    answered_at = body["entry"][0]["resource"]["destination"][0]["endpoint"]
    assert answered_at == hospital.endpoint_url
    referral.refresh_from_db()
    assert referral.on_hold_since is None
    assert not CareRelationship.objects.filter(
        citizen=citizen, basis=CareRelationship.Basis.HOSPITAL_CONTACT
    ).exists()
    (entry,) = AuditEntry.objects.filter(citizen_id=citizen.pk, outcome="denied")
    assert entry.reason_code == "message.not_addressed_by_partner"


def test_a_care_communication_from_another_units_address_is_refused(hospital, citizen):
    f.acute_referral(person=citizen, accepted=False)
    message = _from(example("carecommunication", CARE_COMMUNICATION), SOR_UNIT.format(ANOTHER_SOR))
    status, body = post_signed(hospital, message)
    assert status == 400
    _refused(body, message)
    assert not CareThread.objects.exists()
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, outcome="denied", reason_code="message.not_addressed_by_partner"
    ).exists()


@pytest.mark.parametrize(
    "endpoint", [SOR_UNIT.format(HOSPITAL_SOR), "http://medcomfhir.dk/unknown", "urn:partner:h"]
)
def test_r12_a_notification_from_its_senders_address_or_one_naming_no_unit_is_received(
    hospital, citizen, endpoint
):
    referral = f.acute_referral(person=citizen, accepted=False)
    message = _from(_notification(STIN, f"stay-{endpoint[-5:]}", citizen), endpoint)
    status, body = post_signed(hospital, message)
    assert (status, ack_parts(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"
