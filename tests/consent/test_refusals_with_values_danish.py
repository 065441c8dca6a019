"""Refusals built from values read in Danish with the values in them, and in
English when the request asks for it: an R2 coding refusal on /fhir/, a
replacement CPR check on /fhir/ and a search refusal on /api/. Before, a
Danish reader got the code's general sentence or the English one."""

from __future__ import annotations

from typing import Any

import pytest

from core.cpr import X_ECPR_SYSTEM
from core.models import Role
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, post

pytestmark = pytest.mark.django_db


def _issue(response: Any) -> dict[str, Any]:
    return response.json()["issue"][0]


def test_an_r2_coding_refusal_names_the_element_in_danish_and_in_english(world: World) -> None:
    body = bodies.diagnosis(world.person.pk, code="F32.1")
    client = f.client_for(world.nurse)

    danish = post(client, "/fhir/Condition", body)
    issue = _issue(danish)
    assert danish.status_code == 400
    assert danish["Content-Language"] == "da"
    assert issue["details"]["coding"][0]["code"] == "record.psychiatric_diagnosis"
    text = issue["details"]["text"]
    # The chapter is named as a Danish clinician knows it (SKS/WHO).
    assert text == (
        "R2 (kun tilladte data): Condition.code.coding[0] er kodet i ICD-10 kapitel F "
        "(psykiske lidelser og adfærdsmæssige forstyrrelser); psykiatriske diagnoser deles ikke."
    )
    assert issue["diagnostics"] == text

    english = post(client, "/fhir/Condition", body, HTTP_ACCEPT_LANGUAGE="en")
    english_issue = _issue(english)
    assert english["Content-Language"] == "en"
    assert english_issue["details"]["text"] == (
        "R2 permitted data only: Condition.code.coding[0] is coded in ICD-10 chapter F "
        "(mental and behavioural disorders); psychiatric diagnoses are not shared."
    )
    # The machine-readable facts are the same in both languages.
    assert english_issue["details"]["coding"] == issue["details"]["coding"]
    assert english_issue["expression"] == issue["expression"]


@pytest.mark.parametrize(
    ("system", "code", "danish", "english"),
    [
        (
            "http://hl7.org/fhir/sid/icpc-2",
            "P76",
            "ICPC-2 kapitel P (psykisk)",
            "ICPC-2 chapter P (psychological)",
        ),
        (
            "urn:oid:1.2.208.176.2.4",
            "DF321",
            "SKS-diagnosegruppe DF (ICD-10 kapitel F)",
            "SKS diagnosis group DF (ICD-10 chapter F)",
        ),
        (
            "http://id.who.int/icd/release/11/mms",
            "6A70",
            "ICD-11 kapitel 06 (psykiske, adfærdsmæssige eller neuroudviklingsmæssige "
            "forstyrrelser)",
            "ICD-11 chapter 06 (mental, behavioural or neurodevelopmental disorders)",
        ),
    ],
)
def test_every_classification_names_its_psychiatric_chapter_in_the_readers_language(
    world: World, system: str, code: str, danish: str, english: str
) -> None:
    body = bodies.diagnosis(world.person.pk, code="I10")
    body["code"]["coding"].append({"system": system, "code": code})
    client = f.client_for(world.nurse)

    in_danish = _issue(post(client, "/fhir/Condition", body))["details"]["text"]
    in_english = _issue(post(client, "/fhir/Condition", body, HTTP_ACCEPT_LANGUAGE="en"))
    assert f"er kodet i {danish};" in in_danish
    assert f"is coded in {english};" in in_english["details"]["text"]
    assert in_english["details"]["coding"][0]["code"] == "record.psychiatric_diagnosis"


def test_the_systems_a_diagnosis_is_coded_in_are_named_in_the_readers_language(
    world: World,
) -> None:
    body = bodies.diagnosis(world.person.pk, code="E11", system="http://snomed.info/sct")
    client = f.client_for(world.nurse)

    danish = _issue(post(client, "/fhir/Condition", body))
    english = _issue(post(client, "/fhir/Condition", body, HTTP_ACCEPT_LANGUAGE="en"))
    assert danish["details"]["text"].endswith(
        "en diagnose kodes i ICD-10 (eller en national udgave af den), SKS eller ICPC-2."
    )
    assert english["details"]["text"].endswith(
        "a diagnosis is coded in ICD-10 (or a national form of it), SKS or ICPC-2."
    )
    assert danish["details"]["coding"] == english["details"]["coding"]


def test_a_replacement_cpr_check_names_its_format_in_danish_and_in_english(world: World) -> None:
    bad = "0703928VJ4"
    body = bodies.patient("0000000000")
    body["identifier"] = [{"use": "temp", "system": X_ECPR_SYSTEM, "value": bad}]
    client = f.client_for(world.coordinator)

    danish = post(client, "/fhir/Patient", body)
    issue = _issue(danish)
    assert danish.status_code == 400
    assert issue["details"]["coding"][0]["code"] == "replacement_cpr.invalid"
    assert issue["details"]["text"] == (
        "Et erstatnings-CPR har 10 tegn (X-eCPR: DDMMÅÅ, 1 eller 7, to store bogstaver, ét ciffer)."
    )

    english = post(client, "/fhir/Patient", body, HTTP_ACCEPT_LANGUAGE="en")
    assert _issue(english)["details"]["text"] == (
        "A replacement CPR has 10 characters (X-eCPR: DDMMYY, 1 or 7, two capital letters, "
        "one digit)."
    )
    for response in (danish, english):
        assert bad not in response.content.decode()


def test_a_search_refusal_on_the_api_reads_in_danish_and_in_english() -> None:
    auditor = f.staff(Role.AUDITOR, f.acute_function())
    client = f.client_for(auditor)

    danish = client.get("/api/audit/entries?limit=many")
    assert danish.status_code == 400
    assert danish.json()["error"] == {
        "code": "audit.param_invalid",
        "message": "limit skal være et helt tal.",
        "field": "limit",
    }

    english = client.get("/api/audit/entries?limit=many", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["error"]["message"] == "limit must be a whole number."
