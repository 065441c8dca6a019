"""Our acknowledgements name MedCom's Acknowledgement MessageDefinition in
``MessageHeader.definition`` (a must-support element of MedCom's message
header), as MedCom's own acknowledgements do, so a partner's system can tell
which version of the Acknowledgement it reads: the ok answer and a refusal
alike, and the CapabilityStatement declares the same canonical."""

from __future__ import annotations

import pytest

from integrations.medcom.validation import validate_message
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, post_signed
from tests.integrations.medcom.test_partner_addressing import ANOTHER_SOR, _sent_to

pytestmark = pytest.mark.django_db

MEDCOM_ACKNOWLEDGEMENT = (
    "http://medcomfhir.dk/ig/messagedefinitions/MessageDefinition/"
    "MedComAcknowledgementMessageDefinition|2.0"
)
OUR_UNIT = "https://sor2.sum.dsdn.dk/#id=953741000016009"
ANOTHER_UNIT = f"https://sor2.sum.dsdn.dk/#id={ANOTHER_SOR}"


@pytest.mark.parametrize(
    ("endpoint", "answer"), [(OUR_UNIT, (200, "ok")), (ANOTHER_UNIT, (400, "fatal-error"))]
)
def test_an_acknowledgement_names_medcoms_acknowledgement_definition(
    hospital, citizen, endpoint, answer
):
    f.acute_referral(person=citizen, accepted=False)
    status, ack = post_signed(hospital, _sent_to(endpoint, citizen))

    assert (status, ack_parts(ack)[0]) == answer
    assert ack["entry"][0]["resource"]["definition"] == MEDCOM_ACKNOWLEDGEMENT
    assert validate_message(ack) == []


def test_the_capability_statement_declares_the_definition_acknowledgements_carry(client):
    messaging = client.get("/fhir/metadata").json()["messaging"][0]

    declared = {(m["mode"], m["definition"]) for m in messaging["supportedMessage"]}
    assert {("sender", MEDCOM_ACKNOWLEDGEMENT), ("receiver", MEDCOM_ACKNOWLEDGEMENT)} <= declared
