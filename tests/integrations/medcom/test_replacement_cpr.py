"""A citizen identified by a replacement CPR (*erstatningspersonnummer*,
DK-core's X-eCPR ``urn:oid:1.2.208.176.1.6.1.1`` or a D-eCPR issuer's
system), as MedCom and DK-core accept her:

- inbound, a message's Patient is matched by CPR number or by replacement
  CPR (MedCom's own CareCommunication example with an X-eCPR); an unknown
  replacement CPR gets MedCom's ``MSG_NO_MATCH`` as an unknown CPR does, and
  one that is not a replacement CPR a fatal-error naming the rule, never the
  value; nothing is written for either;
- a HospitalNotification must carry a CPR number (MedCom's rule
  medcom-hospitalNotification-4): one with a replacement CPR is refused by
  that rule even for a citizen the platform knows by it;
- outbound, a citizen with a replacement CPR and no CPR number is sent with
  the replacement CPR (``use=temp``), and the receiving partner's MedCom
  checks accept it;
- a new citizen referred by 1813 with only a replacement CPR is registered
  with it.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from django.utils import translation

from core.cpr import X_ECPR_SYSTEM
from core.models import Citizen
from integrations.medcom.validation import validate_message
from integrations.messages import InvalidMessage
from integrations.models import CareMessage, CareThread, InboundMessage, OutboundMessage
from integrations.patients import citizen_find, citizen_find_or_register
from tests import factories as f
from tests.consent import bodies
from tests.integrations.conftest import Network
from tests.integrations.medcom.peers import ack_parts, delivered, example, header_id, post_signed
from tests.integrations.medcom.test_outbound import handed_back

pytestmark = pytest.mark.django_db

# MedCom's CareCommunication example "6-replacementCPR": Bruno Test Elmer by X-eCPR.
REPLACEMENT_CPR_MESSAGE = "0d5b3c18-fab6-4d93-9d88-c9c8abf1f18c"
ECPR = "0703921VJ4"
D_ECPR_SYSTEM = "urn:oid:1.2.208.176.1.6.1.3.177"


def _with_replacement_cpr(citizen: Citizen, value: str = ECPR, system: str = X_ECPR_SYSTEM):
    """The citizen known only by a replacement CPR (no CPR number)."""
    Citizen.objects.filter(pk=citizen.pk).update(
        cpr=None, replacement_cpr=value, replacement_cpr_system=system
    )
    citizen.refresh_from_db()
    return citizen


def _patient(message: dict[str, Any]) -> dict[str, Any]:
    return next(
        e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == "Patient"
    )


def _texts(body: dict[str, Any]) -> str:
    return json.dumps(
        [e for e in body["entry"] if e["resource"]["resourceType"] == "OperationOutcome"]
    )


def test_medcoms_replacement_cpr_message_is_matched_to_the_citizen_holding_it(hospital, citizen):
    person = _with_replacement_cpr(citizen)
    message = example("carecommunication", REPLACEMENT_CPR_MESSAGE)
    assert _patient(message)["identifier"][0]["system"] == X_ECPR_SYSTEM

    status, body = post_signed(hospital, message)

    assert (status, ack_parts(body)) == (200, ("ok", header_id(message), []))
    assert validate_message(body) == []
    thread = CareThread.objects.get()
    assert thread.citizen_id == person.pk
    assert CareMessage.objects.filter(thread=thread).exists()


def test_a_citizen_holding_both_is_found_by_either(citizen):
    Citizen.objects.filter(pk=citizen.pk).update(
        replacement_cpr=ECPR, replacement_cpr_system=X_ECPR_SYSTEM
    )
    by_cpr = {"identifier": [{"system": "urn:oid:1.2.208.176.1.2", "value": citizen.cpr}]}
    by_replacement = {"identifier": [{"system": X_ECPR_SYSTEM, "value": ECPR}]}
    other_issuer = {"identifier": [{"system": D_ECPR_SYSTEM, "value": "0703920VJ4"}]}

    assert citizen_find(by_cpr) == citizen
    assert citizen_find(by_replacement) == citizen
    # A replacement CPR is unique only within its issuer: another issuer's is someone else.
    assert citizen_find(other_issuer) is None


def test_an_unknown_replacement_cpr_gets_medcoms_no_match_and_nothing_is_written(hospital, citizen):
    _with_replacement_cpr(citizen, value="0101901AB2")
    message = example("carecommunication", REPLACEMENT_CPR_MESSAGE)

    status, body = post_signed(hospital, message)

    assert (status, ack_parts(body)) == (400, ("fatal-error", header_id(message), ["MSG_NO_MATCH"]))
    assert validate_message(body) == []
    assert not CareThread.objects.exists() and not CareMessage.objects.exists()
    assert ECPR not in _texts(body)


@pytest.mark.parametrize(
    ("system", "value"),
    [
        (X_ECPR_SYSTEM, "0703928VJ4"),  # X-eCPR's 7th character is 1 or 7
        (X_ECPR_SYSTEM, "3102921VJ4"),  # no 31 February
        ("urn:oid:1.2.208.176.1.6.1.3.177", "0703921VJ4"),  # a D-eCPR's is 0, 5 or 6
    ],
)
def test_a_malformed_replacement_cpr_is_refused_naming_the_rule_never_the_value(
    hospital, citizen, system, value
):
    _with_replacement_cpr(citizen)
    message = copy.deepcopy(example("carecommunication", REPLACEMENT_CPR_MESSAGE))
    _patient(message)["identifier"] = [{"use": "temp", "system": system, "value": value}]

    status, body = post_signed(hospital, message)

    code, answered, details = ack_parts(body)
    assert (status, code, answered) == (400, "fatal-error", header_id(message))
    assert details == ["MSG_PARAM_INVALID"]
    assert "replacement_cpr.invalid" in _texts(body)
    assert value not in json.dumps(body)
    assert not CareThread.objects.exists()
    assert InboundMessage.objects.get().outcome == "fatal-error"


def test_a_hospital_notification_by_replacement_cpr_is_refused_by_medcoms_rule(hospital, citizen):
    """MedCom: "The system of Patient.identifier shall be urn:oid:1.2.208.176.1.2"
    (medcom-hospitalNotification-4), even for a citizen known by the replacement CPR."""
    person = _with_replacement_cpr(citizen)
    referral = f.acute_referral(person=person)
    message = copy.deepcopy(example("testexamples", "HospitalNotification-Ex-STIN-A"))
    _patient(message)["identifier"] = [{"use": "temp", "system": X_ECPR_SYSTEM, "value": ECPR}]

    status, body = post_signed(hospital, message)

    code, _, _ = ack_parts(body)
    assert (status, code) == (400, "fatal-error")
    assert "medcom-hospitalNotification-4" in _texts(body)
    referral.refresh_from_db()
    assert referral.on_hold_since is None


def test_a_hand_back_for_a_citizen_without_cpr_carries_the_replacement_cpr(
    network: Network,
) -> None:
    person = _with_replacement_cpr(f.citizen(municipality_code="157"))
    message = handed_back(network, person)
    patient = _patient(message.bundle)
    assert patient["identifier"] == [{"use": "temp", "system": X_ECPR_SYSTEM, "value": ECPR}]
    assert validate_message(message.bundle) == []

    assert delivered(message) == OutboundMessage.Status.ACKNOWLEDGED
    sim = network.sims["home_nursing"]
    assert sim.state.refused_medcom == []


def test_a_new_citizen_with_only_a_replacement_cpr_is_registered_with_it():
    f.municipality("157")
    patient = bodies.patient("0000000000")
    patient["identifier"] = [{"use": "temp", "system": D_ECPR_SYSTEM, "value": "1206550VK9"}]

    citizen = citizen_find_or_register(patient)

    assert (citizen.cpr, citizen.replacement_cpr, citizen.replacement_cpr_system) == (
        None,
        "1206550VK9",
        D_ECPR_SYSTEM,
    )
    # Birth date and sex as the replacement CPR carries them (DK-core's example: a man of 1955).
    assert (citizen.birth_date.isoformat(), citizen.sex) == ("1955-06-12", "male")
    assert citizen_find_or_register(patient) == citizen


def test_a_patient_with_neither_cpr_nor_replacement_cpr_is_refused():
    with pytest.raises(InvalidMessage) as refused:
        citizen_find({"identifier": [{"system": "urn:example:mrn", "value": "42"}]})
    assert refused.value.code == "message.patient_cpr_missing"


def test_two_different_replacement_cprs_are_refused_not_the_first_taken(hospital, citizen):
    """Read as the FHIR Patient door reads it (``patient.cpr_required`` for
    two): a Patient with two different replacement CPRs is not one citizen.
    The message gets a fatal-error naming the rule, never a value, and
    nothing is written; the coordinator reads why in Danish."""
    _with_replacement_cpr(citizen)
    message = copy.deepcopy(example("carecommunication", REPLACEMENT_CPR_MESSAGE))
    other = "0101901AB2"
    _patient(message)["identifier"].append({"use": "temp", "system": X_ECPR_SYSTEM, "value": other})

    status, body = post_signed(hospital, message)

    code, answered, details = ack_parts(body)
    assert (status, code, answered) == (400, "fatal-error", header_id(message))
    assert details == ["MSG_PARAM_INVALID"]
    assert "message.replacement_cpr_ambiguous" in _texts(body)
    assert ECPR not in json.dumps(body) and other not in json.dumps(body)
    assert not CareThread.objects.exists() and not CareMessage.objects.exists()
    row = InboundMessage.objects.get()
    assert row.outcome == "fatal-error"
    with translation.override("da"):
        assert row.reason_display() == "Borgeren har fået mere end ét erstatnings-CPR"


def test_the_same_replacement_cpr_twice_is_one_citizen(hospital, citizen):
    _with_replacement_cpr(citizen)
    message = copy.deepcopy(example("carecommunication", REPLACEMENT_CPR_MESSAGE))
    _patient(message)["identifier"].append(dict(_patient(message)["identifier"][0]))

    status, body = post_signed(hospital, message)

    assert (status, ack_parts(body)[0]) == (200, "ok")
    assert CareThread.objects.get().citizen_id == citizen.pk
