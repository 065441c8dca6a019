"""Bad input at the partners' door (``/fhir/$process-message``): a message
that contradicts itself about who sent it or to whom, that names two
citizens, that has no event, or whose ids are not FHIR ids, gets MedCom's
fatal-error acknowledgement, changes nothing, and is a denied attempt on the
citizen it names (R9). The same on PostgreSQL and SQLite."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from django.apps import apps

from consent.audit.models import AuditEntry
from core.models import Citizen
from integrations.models import InboundMessage, Partner
from tests.integrations.medcom.conftest import HOSPITAL_SOR, OUR_SOR
from tests.integrations.medcom.peers import ack_parts, example, post_signed

pytestmark = pytest.mark.django_db

STIN = "a5e5b880-c087-4055-b9ec-99108695f81d"  # admitted (inpatient)
SENDER_ID = "o7056980-a8b2-42aa-8a0e-c1fc85d1f40d"
RECEIVER_ID = "o4cdf292-abf3-4f5f-80ea-60a48013ff6d"
ANOTHER_SOR = "123456789012345"
# What a message that is only remembered and audited leaves as it was.
_LEDGERS = {"auditentry", "pendingentry", "chainhead", "logleaf", "logtile", "inboundmessage"}


def _admission() -> dict[str, Any]:
    """MedCom's admission example with ids of its own."""
    message = example("hospitalnotification", STIN)
    message["id"] = str(uuid.uuid4())
    header_id = str(uuid.uuid4())
    message["entry"][0]["resource"]["id"] = header_id
    message["entry"][0]["fullUrl"] = (
        message["entry"][0]["fullUrl"].rsplit("/", 1)[0] + "/" + header_id
    )
    return message


def _organization(message: dict[str, Any], rid: str) -> dict[str, Any]:
    return next(e["resource"] for e in message["entry"] if e["resource"].get("id") == rid)


def _rows() -> dict[str, int]:
    """Every table of the platform but the log of messages and the audit log."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in ("acute", "consent", "core", "integrations", "medicine_cabinet")
        and model._meta.model_name not in _LEDGERS
        and not model._meta.db_table.startswith("audit")
    }


def _denied(citizen: Citizen) -> int:
    return AuditEntry.objects.filter(citizen_id=citizen.pk, outcome="denied").count()


def _refused(hospital: Partner, citizen: Citizen, message: dict[str, Any]) -> list[str]:
    """Send ``message``; it must be refused fatally, change nothing but the
    record of the refusal, and leave one denied entry on ``citizen``. Returns
    the MedCom issue codes."""
    before, denied = _rows(), _denied(citizen)

    status, body = post_signed(hospital, message)

    assert status == 400, body
    code, _, issues = ack_parts(body)
    assert code == "fatal-error"
    assert _rows() == before
    assert _denied(citizen) == denied + 1
    return issues


def test_a_sender_whose_sor_is_another_units_is_refused(hospital, citizen) -> None:
    """The EAN number is the hospital's, the SOR number someone else's: the
    message does not say it comes from the partner that signed it."""
    message = _admission()
    sender = _organization(message, SENDER_ID)
    assert sender["identifier"][0]["value"] == HOSPITAL_SOR
    sender["identifier"][0]["value"] = ANOTHER_SOR

    assert _refused(hospital, citizen, message) == ["MSG_PARAM_INVALID"]


def test_a_receiver_whose_sor_is_another_units_is_refused(hospital, citizen) -> None:
    message = _admission()
    receiver = _organization(message, RECEIVER_ID)
    assert receiver["identifier"][0]["value"] == OUR_SOR
    receiver["identifier"][0]["value"] = ANOTHER_SOR

    assert _refused(hospital, citizen, message) == ["MSG_Receiver_Identifier_UNKNOWN"]


def test_the_unaltered_admission_is_taken(hospital, citizen) -> None:
    """The pair of the refusals above: the same message as MedCom wrote it."""
    status, body = post_signed(hospital, _admission())
    assert status == 200, body
    assert ack_parts(body)[0] == "ok"


def test_r9_a_message_naming_two_citizens_is_a_denied_attempt_on_the_one_we_know(
    hospital, citizen
) -> None:
    message = _admission()
    second = copy.deepcopy(message["entry"][1])
    second["resource"]["id"] = str(uuid.uuid4())
    second["fullUrl"] = second["fullUrl"].rsplit("/", 1)[0] + "/" + second["resource"]["id"]
    second["resource"]["identifier"][0]["value"] = "0101010101"  # fictitious, unknown
    message["entry"].append(second)

    assert "MSG_PARAM_INVALID" in _refused(hospital, citizen, message)


@pytest.mark.parametrize(
    "event", [None, "not a coding"], ids=["eventCoding missing", "eventCoding a string"]
)
def test_r9_a_message_without_an_event_is_a_denied_attempt_on_its_citizen(
    hospital, citizen, event
) -> None:
    message = _admission()
    if event is None:
        del message["entry"][0]["resource"]["eventCoding"]
    else:
        message["entry"][0]["resource"]["eventCoding"] = event

    assert "MSG_RESOURCE_REQUIRED" in _refused(hospital, citizen, message)


@pytest.mark.parametrize("where", ["Bundle", "MessageHeader"])
def test_r9_an_id_longer_than_fhir_allows_is_refused_and_audited_and_answered_again(
    hospital, citizen, where
) -> None:
    message = _admission()
    long_id = "a" * 100
    if where == "Bundle":
        message["id"] = long_id
    else:
        message["entry"][0]["resource"]["id"] = long_id
        base = message["entry"][0]["fullUrl"].rsplit("/", 1)[0]
        message["entry"][0]["fullUrl"] = f"{base}/{long_id}"

    issues = _refused(hospital, citizen, message)

    assert issues == ["MSG_BAD_FORMAT"]
    refused = InboundMessage.objects.get(partner=hospital)
    assert refused.reason_code == "message.id_invalid"
    assert refused.reason_display() == "Meddelelsens id er ikke et gyldigt FHIR-id"
    # Sent again, it is refused again: never a 500, never processed.
    status, body = post_signed(hospital, message)
    assert status == 400, body
    assert ack_parts(body)[0] == "fatal-error"
    assert InboundMessage.objects.filter(partner=hospital).count() == 1
