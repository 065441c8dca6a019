"""MedCom's HomeCareObservation names who measured by a slice of the
report's performers that is told apart by what the reference resolves to
(``performer ^slicing.discriminator.path = "resolve()"``): the producing
organisation and the nurse's PractitionerRole. The rules on those slices
(each once, and medcom-homecareReport-1/2/3 on the nurse: her role's code,
her name, her phone) are MedCom's like any other, for a message we receive
and for one we send. CareCommunication's payloads are sliced by the type of
their content (``$this.content``): the text MedCom requires is checked the
same way."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from integrations.medcom.validation import Violation, validate_message
from tests.integrations.medcom.peers import ack_parts, example, header_id, post_signed
from tests.integrations.medcom.test_partner_variants import CARE_COMMUNICATION, _resent_as_new

# MedCom's HomeCareObservation example "Urine dipsticks and subject refused consent".
HOME_CARE = "faa0c104-0ebf-49cb-bad1-9e0f59436e18"
REPORT = "medcom-homecareobservation-diagnosticreport"


def _message() -> dict[str, Any]:
    return copy.deepcopy(example("homecareobservation", HOME_CARE))


def _of_type(message: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return next(
        e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == resource_type
    )


def _rules(violations: list[Violation]) -> set[tuple[str, str, str]]:
    return {(v.profile, v.path, v.rule) for v in violations}


def _without_role_code(message: dict[str, Any]) -> None:
    del _of_type(message, "PractitionerRole")["code"]


def _without_name(message: dict[str, Any]) -> None:
    del _of_type(message, "Practitioner")["name"]


def _without_phone(message: dict[str, Any]) -> None:
    del _of_type(message, "Practitioner")["telecom"]


def _only_an_email(message: dict[str, Any]) -> None:
    _of_type(message, "Practitioner")["telecom"] = [{"system": "email", "value": "mia@example.dk"}]


BROKEN_PERFORMERS = [
    (_without_role_code, "medcom-homecareReport-1"),
    (_without_name, "medcom-homecareReport-2"),
    (_without_phone, "medcom-homecareReport-3"),
    (_only_an_email, "medcom-homecareReport-3"),
]


def test_medcoms_own_home_care_observation_keeps_every_rule():
    assert validate_message(_message()) == []


@pytest.mark.parametrize(("change", "rule"), BROKEN_PERFORMERS)
def test_a_performing_nurse_without_what_medcom_asks_breaks_its_rule(change, rule):
    message = _message()
    change(message)
    assert _rules(validate_message(message)) == {
        (REPORT, "performer[PractitionerRole]", f"invariant:{rule}")
    }


def test_a_report_without_the_nurse_among_its_performers_breaks_the_slices_cardinality():
    """Both performers the organisation: no PractitionerRole slice, and two
    in the producer's slice."""
    message = _message()
    report = _of_type(message, "DiagnosticReport")
    report["performer"][1] = copy.deepcopy(report["performer"][0])
    assert _rules(validate_message(message)) == {
        (REPORT, "performer[PractitionerRole]", "cardinality"),
        (REPORT, "performer[ProducerOrganization]", "cardinality"),
    }


def test_a_performer_that_resolves_to_nothing_in_the_message_is_in_neither_slice():
    message = _message()
    report = _of_type(message, "DiagnosticReport")
    report["performer"][1] = {"reference": "PractitionerRole/7c8d0f4e-1b2a-4c3d-9e8f-0a1b2c3d4e5f"}
    rules = _rules(validate_message(message))
    assert (REPORT, "performer[PractitionerRole]", "cardinality") in rules
    assert not any(rule.startswith("invariant:medcom-homecareReport") for _, _, rule in rules)


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "rule"), BROKEN_PERFORMERS[:3])
def test_a_received_home_care_observation_breaking_a_performer_rule_gets_a_fatal_error_naming_it(
    hospital, change, rule
):
    message = _resent_as_new(_message())
    change(message)
    status, body = post_signed(hospital, message)
    code, answered, details = ack_parts(body)
    assert (status, code, answered, details) == (
        400,
        "fatal-error",
        header_id(message),
        ["MSG_PARAM_INVALID"],
    )
    texts = [
        # The rule named: in the text, and its own words in diagnostics (Danish answer).
        f"{issue['details']['text']} {issue.get('diagnostics', '')}"
        for entry in body["entry"]
        if entry["resource"]["resourceType"] == "OperationOutcome"
        for issue in entry["resource"]["issue"]
    ]
    assert rule in texts[0] and "performer[PractitionerRole]" in texts[0]


def test_a_care_communication_with_only_an_attachment_lacks_the_text_medcom_requires():
    """payload[string] 1..: the slice of payloads whose content is a string."""
    message = copy.deepcopy(example("carecommunication", CARE_COMMUNICATION))
    communication = _of_type(message, "Communication")
    assert validate_message(message) == []
    for payload in communication["payload"]:
        payload.pop("contentString", None)
        payload["contentAttachment"] = {"contentType": "application/pdf", "title": "Epikrise"}
    rules = _rules(validate_message(message))
    assert ("medcom-careCommunication-communication", "payload[string]", "cardinality") in rules


def test_a_text_payload_without_its_author_breaks_the_text_slices_rule():
    message = copy.deepcopy(example("carecommunication", CARE_COMMUNICATION))
    payload = _of_type(message, "Communication")["payload"][0]
    payload["extension"] = [
        e for e in payload["extension"] if "practitioner-extension" not in e["url"]
    ]
    rules = _rules(validate_message(message))
    assert (
        "medcom-careCommunication-communication",
        "payload[string].extension[author]",
        "cardinality",
    ) in rules
