"""A partner's message refused for a value it holds is told so in Danish with
that value named (decision 0020): which element, how many, how long. Before,
a refusal whose sentence was built from the message's values had no Danish
wording and fell back to the reason's label, the specifics left to the
English diagnostics. Asked for English, the sentence is as it was; the codes
never change, and no CPR number is in any text. On both envelopes: MedCom's
(a hospital) and the platform's own (1813, a municipality's care records)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from core.fhir.patient import patient_resource
from core.models import Citizen
from integrations.medcom.validation import validate_message
from integrations.models import CareThread, InboundMessage, Partner
from integrations.simulators import helpline_referral, shared_record_update
from integrations.transport import signed_headers
from tests import factories as f
from tests.integrations.medcom.peers import example
from tests.integrations.medcom.test_partner_variants import CARE_COMMUNICATION, _resent_as_new

pytestmark = pytest.mark.django_db

FHIR_ID = "1 to 64 letters, digits, '-' or '.'."
FHIR_ID_DA = "1 til 64 bogstaver, cifre, '-' eller '.'."


def _post(partner: Partner, message: dict[str, Any], language: str | None) -> dict[str, Any]:
    body = json.dumps(message).encode()
    headers = signed_headers(sender=partner.code, secret=partner.secret, body=body)
    asked = {"Accept-Language": language} if language else {}
    response = Client().post(
        "/fhir/$process-message",
        data=body,
        content_type="application/fhir+json",
        headers={**{k: v for k, v in headers.items() if k != "Content-Type"}, **asked},
    )
    assert response.status_code == 400, response.content
    return json.loads(response.content)


def _issue(ack: dict[str, Any]) -> dict[str, Any]:
    [outcome] = [
        e["resource"] for e in ack["entry"] if e["resource"]["resourceType"] == "OperationOutcome"
    ]
    return outcome["issue"][0]


def _both(partner: Partner, build: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first issue of the refusal, in Danish (asked for nothing) and in
    English, each of a message of its own (a resend is answered as first built)."""
    return _issue(_post(partner, build(), None)), _issue(_post(partner, build(), "en"))


def _codes(issue: dict[str, Any]) -> Any:
    return issue["severity"], issue["code"], issue["details"].get("coding")


# --- MedCom's envelope --------------------------------------------------------------


def _care_communication() -> dict[str, Any]:
    return _resent_as_new(example("carecommunication", CARE_COMMUNICATION))


def test_an_id_that_is_no_fhir_id_names_its_element_in_danish(hospital: Partner) -> None:
    def build() -> dict[str, Any]:
        message = _care_communication()
        message["id"] = "a" * 100
        return message

    danish, english = _both(hospital, build)
    assert danish["details"]["text"] == f"Bundle.id: Bundle.id skal være et FHIR-id: {FHIR_ID_DA}"
    assert "diagnostics" not in danish
    assert english["details"]["text"] == f"Bundle.id: Bundle.id must be a FHIR id: {FHIR_ID}"
    assert _codes(danish) == _codes(english)
    assert InboundMessage.objects.filter(reason_code="message.id_invalid").exists()


@pytest.mark.parametrize("written", ["9999-12-31T23:59:59-14:00"])
def test_a_moment_the_platform_cannot_keep_names_its_element_in_danish(
    hospital: Partner, citizen: Citizen, written: str
) -> None:
    def build() -> dict[str, Any]:
        message = _care_communication()
        for entry in message["entry"]:
            for payload in entry["resource"].get("payload") or []:
                for extension in payload.get("extension") or []:
                    if extension["url"].endswith("medcom-core-datetime-extension"):
                        extension["valueDateTime"] = written
        return message

    danish, english = _both(hospital, build)
    text = danish["details"]["text"]
    assert "er ikke et tidspunkt, platformen kan gemme (årene 1 til 9999 i UTC)" in text
    assert "valueDateTime" in text.split(" er ikke ")[0]
    assert "(message.datetime_invalid)" in text
    assert "diagnostics" not in danish
    assert (
        "is not a moment the platform can keep (years 1 to 9999 in UTC)"
        in (english["details"]["text"])
    )
    assert _codes(danish) == _codes(english)
    assert not CareThread.objects.exists()


def test_an_identifier_longer_than_kept_says_how_long_in_danish(
    hospital: Partner, citizen: Citizen
) -> None:
    most = CareThread._meta.get_field("identifier").max_length

    def build() -> dict[str, Any]:
        message = _care_communication()
        for entry in message["entry"]:
            if entry["resource"]["resourceType"] == "Communication":
                entry["resource"]["identifier"][0]["value"] = "urn:uuid:" + "a" * (most or 0)
        return message

    first = build()
    assert validate_message(first) == []
    danish, english = _both(hospital, build)
    assert danish["details"]["text"] == (
        f"Communication.identifier.value: Identifikatoren er længere end de {most} tegn,"
        " platformen gemmer. (carecommunication.identifier_too_long)"
    )
    assert english["details"]["text"] == (
        f"Communication.identifier.value: The identifier is longer than the {most} characters"
        " the platform keeps. (carecommunication.identifier_too_long)"
    )
    assert _codes(danish) == _codes(english)
    assert not CareThread.objects.exists()


# --- the platform's own envelope ----------------------------------------------------


def _referral(helpline: Partner, citizen: Citizen) -> dict[str, Any]:
    return helpline_referral(
        sender_code=helpline.code,
        patient=patient_resource(citizen),
        reason="Feber og konfusion",
        case_id="1813-7001",
    )


def test_a_message_with_two_patients_says_how_many_in_danish(
    helpline: Partner, citizen: Citizen
) -> None:
    other = f.citizen()

    def build() -> dict[str, Any]:
        message = _referral(helpline, citizen)
        second = {**patient_resource(other), "id": "another-patient"}
        message["entry"].append({"fullUrl": "urn:uuid:another-patient", "resource": second})
        return message

    danish, english = _both(helpline, build)
    assert danish["details"]["text"] == (
        "Meddelelsen skal indeholde præcis én Patient; den indeholder 2."
    )
    assert english["details"]["text"] == ("The message must hold exactly one Patient; it holds 2.")
    assert _codes(danish) == _codes(english)
    for issue in (danish, english):
        assert citizen.cpr not in json.dumps(issue)
        assert other.cpr not in json.dumps(issue)


def test_an_id_that_is_no_fhir_id_names_its_element_in_danish_on_the_own_envelope(
    helpline: Partner, citizen: Citizen
) -> None:
    def build() -> dict[str, Any]:
        message = _referral(helpline, citizen)
        message["entry"][0]["resource"]["id"] = "a" * 100
        return message

    danish, english = _both(helpline, build)
    assert danish["details"]["text"] == f"MessageHeader.id skal være et FHIR-id: {FHIR_ID_DA}"
    assert english["details"]["text"] == f"MessageHeader.id must be a FHIR id: {FHIR_ID}"
    assert _codes(danish) == _codes(english)


def test_an_update_naming_another_citizen_names_the_element_in_danish(citizen: Citizen) -> None:
    records = f.integration_partner(Partner.Kind.MUNICIPAL_RECORDS, f.municipality("157"))
    other = f.citizen()

    def build() -> dict[str, Any]:
        condition = {
            "resourceType": "Condition",
            "meta": {
                "tag": [{"system": "urn:tvaerakut:data-category", "code": "somatic-diagnosis"}]
            },
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active",
                    }
                ]
            },
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "I50.9"}]},
            "subject": {"identifier": {"system": "urn:oid:1.2.208.176.1.2", "value": other.cpr}},
        }
        return shared_record_update(
            sender_code=records.code, patient=patient_resource(citizen), resources=[condition]
        )

    danish, english = _both(records, build)
    where = "Bundle.entry[2].resource.subject"
    assert danish["details"]["text"] == (
        f"{where} angiver en anden end meddelelsens Patient; en opdatering af den fælles"
        " journal angår én borger."
    )
    assert english["details"]["text"] == (
        f"{where} names someone other than the message's Patient; a shared-record update is"
        " about one citizen."
    )
    assert _codes(danish) == _codes(english)
    for issue in (danish, english):
        assert other.cpr not in json.dumps(issue)
