"""A negative acknowledgement speaks Danish unless the partner asks for
English (decision 0020): the text of each issue is the partner's to read
(an integration engineer, a clinician at a screen showing it), the codes a
program reads never change. A broken MedCom rule, whose precise wording is
MedCom's English FSH, names the profile and element with a Danish sentence,
and keeps the rule's own text as diagnostics; the acknowledgement still keeps
MedCom's rules. A fixed refusal has Danish wording of its own. A duplicate
is answered with the acknowledgement as it was first built."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from integrations.medcom.validation import validate_message
from integrations.transport import signed_headers
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, header_id, post_signed
from tests.integrations.medcom.test_partner_addressing import ANOTHER_SOR, _sent_to
from tests.integrations.medcom.test_partner_variants import STIN, _notification

pytestmark = pytest.mark.django_db


def _post(partner, message: dict[str, Any], language: str | None) -> tuple[int, dict[str, Any]]:
    if language is None:
        return post_signed(partner, message)
    body = json.dumps(message).encode()
    headers = signed_headers(sender=partner.code, secret=partner.secret, body=body)
    response = Client().post(
        "/fhir/$process-message",
        data=body,
        content_type="application/fhir+json",
        headers={
            **{k: v for k, v in headers.items() if k != "Content-Type"},
            "Accept-Language": language,
        },
    )
    return response.status_code, json.loads(response.content)


def _issues(ack: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        issue
        for entry in ack["entry"]
        if entry["resource"]["resourceType"] == "OperationOutcome"
        for issue in entry["resource"]["issue"]
    ]


def _without_provenance_time(citizen) -> dict[str, Any]:
    message = _notification(STIN, "stay-language", citizen)
    for entry in message["entry"]:
        if entry["resource"]["resourceType"] == "Provenance":
            entry["resource"].pop("occurredDateTime")
    return message


def test_a_broken_medcom_rule_is_told_in_danish_with_the_rule_as_diagnostics(hospital, citizen):
    status, ack = _post(hospital, _without_provenance_time(citizen), None)

    assert (status, ack_parts(ack)[0]) == (400, "fatal-error")
    issue = _issues(ack)[0]
    assert issue["details"]["coding"][0]["code"] == "MSG_RESOURCE_REQUIRED"
    text = issue["details"]["text"]
    assert text.startswith("medcom-messaging-provenance: Provenance/")
    assert "occurredDateTime: Påkrævet efter MedComs regler, men mangler." in text
    assert "expected" not in text
    assert "cardinality: expected" in issue["diagnostics"]
    assert validate_message(ack) == []


def test_the_same_broken_rule_asked_in_english_keeps_the_rules_text_and_every_code(
    hospital, citizen
):
    _status, danish = _post(hospital, _without_provenance_time(citizen), None)
    status, english = _post(hospital, _without_provenance_time(citizen), "en")

    assert (status, ack_parts(english)[0]) == (400, "fatal-error")
    issue = _issues(english)[0]
    assert "occurredDateTime: cardinality: expected" in issue["details"]["text"]
    assert "diagnostics" not in issue

    def codes(ack: dict[str, Any]) -> list[tuple[str, str, list[dict[str, str]]]]:
        return [(i["severity"], i["code"], i["details"]["coding"]) for i in _issues(ack)]

    assert codes(english) == codes(danish)
    assert ack_parts(english)[0] == ack_parts(danish)[0]
    assert validate_message(english) == []


@pytest.mark.parametrize(
    ("language", "said"),
    [
        (None, "MessageHeader.destination.endpoint: den angiver en SOR-enhed"),
        ("en", "MessageHeader.destination.endpoint: it names a SOR unit not this platform's."),
    ],
)
def test_a_message_meant_for_another_unit_is_refused_in_the_asked_language(
    hospital, citizen, language, said
):
    f.acute_referral(person=citizen, accepted=False)
    message = _sent_to(f"https://sor2.sum.dsdn.dk/#id={ANOTHER_SOR}", citizen)
    status, ack = _post(hospital, message, language)

    assert (status, ack_parts(ack)) == (
        400,
        ("fatal-error", header_id(message), ["MSG_Receiver_Identifier_UNKNOWN"]),
    )
    assert _issues(ack)[0]["details"]["text"].startswith(said)
    assert validate_message(ack) == []


def test_a_duplicate_is_answered_as_first_built_whatever_it_asks(hospital, citizen):
    message = _without_provenance_time(citizen)
    _status, first = _post(hospital, message, None)
    status, again = _post(hospital, message, "en")

    assert status == 400
    assert again["entry"][1:] == first["entry"][1:]
    assert "Påkrævet" in _issues(again)[0]["details"]["text"]
