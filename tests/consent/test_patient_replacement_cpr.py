"""The FHIR doors take a replacement CPR (X-eCPR or D-eCPR, DK-core's
identifier slices) where they take a CPR number: a Patient identified by one
is registered (R9 audited as any registration), found by POST search with it
in the body, and refused in a URL; a malformed one is refused naming the
rule, never echoing the value. The update does not change it."""

from __future__ import annotations

import json

import pytest

from consent.audit.models import AuditEntry
from core.cpr import X_ECPR_SYSTEM
from core.models import Citizen
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post

ECPR = "0703921VJ4"


def _patient_by_replacement(value: str = ECPR, system: str = X_ECPR_SYSTEM) -> dict:
    body = bodies.patient("0000000000")
    body["identifier"] = [{"use": "temp", "system": system, "value": value}]
    return body


def test_a_patient_identified_by_replacement_cpr_is_registered(world: World) -> None:
    response = post(f.client_for(world.coordinator), "/fhir/Patient", _patient_by_replacement())

    assert response.status_code == 201, response.content
    citizen = Citizen.objects.get(replacement_cpr=ECPR)
    assert (citizen.cpr, citizen.replacement_cpr_system) == (None, X_ECPR_SYSTEM)
    assert response.json()["identifier"] == [
        {"use": "temp", "system": X_ECPR_SYSTEM, "value": ECPR}
    ]
    entry = AuditEntry.objects.filter(citizen_id=citizen.pk).get()
    assert (entry.action, entry.outcome) == ("create", "permitted")
    assert ECPR not in json.dumps(entry.detail) and ECPR not in entry.resource_id

    again = post(f.client_for(world.coordinator), "/fhir/Patient", _patient_by_replacement())
    assert again.status_code == 409 and issue_code(again) == "patient.exists"


def test_a_malformed_replacement_cpr_is_refused_without_echoing_it(world: World) -> None:
    bad = "0703928VJ4"
    response = post(f.client_for(world.coordinator), "/fhir/Patient", _patient_by_replacement(bad))
    assert response.status_code == 400 and issue_code(response) == "replacement_cpr.invalid"
    assert bad not in response.content.decode()
    assert not Citizen.objects.filter(replacement_cpr=bad).exists()


def test_a_patient_with_neither_is_refused(world: World) -> None:
    body = bodies.patient("0000000000")
    body["identifier"] = [{"system": "urn:example:mrn", "value": "42"}]
    response = post(f.client_for(world.coordinator), "/fhir/Patient", body)
    assert response.status_code == 400 and issue_code(response) == "patient.cpr_required"


def test_r1_search_by_replacement_cpr_in_the_body_finds_her_own_citizen_only(
    world: World,
) -> None:
    Citizen.objects.filter(pk=world.person.pk).update(
        cpr=None, replacement_cpr=ECPR, replacement_cpr_system=X_ECPR_SYSTEM
    )
    nurse = f.client_for(world.nurse)  # has a visit for world.person
    found = nurse.post("/fhir/Patient/_search", {"identifier": f"{X_ECPR_SYSTEM}|{ECPR}"})
    assert found.status_code == 200, found.content
    assert [e["resource"]["id"] for e in found.json()["entry"]] == [str(world.person.pk)]
    assert ECPR not in str(found.json()["link"])

    stranger = f.client_for(f.staff(world.nurse.role, world.acute))  # no visit: nothing
    nothing = stranger.post("/fhir/Patient/_search", {"identifier": f"{X_ECPR_SYSTEM}|{ECPR}"})
    assert nothing.status_code == 200 and not nothing.json().get("entry")

    in_url = nurse.get(f"/fhir/Patient?name={ECPR}")
    assert in_url.status_code == 400 and issue_code(in_url) == "search.use_post"
    assert ECPR not in in_url.content.decode()

    malformed = nurse.post("/fhir/Patient/_search", {"identifier": f"{X_ECPR_SYSTEM}|0703928VJ4"})
    assert malformed.status_code == 400 and issue_code(malformed) == "replacement_cpr.invalid"


@pytest.mark.parametrize("own_extension", [True, False])
def test_r1_a_patient_given_two_municipalities_is_refused_not_registered_in_the_first(
    world: World, own_extension: bool
) -> None:
    """The municipality decides who serves the citizen and who gets the
    hand-back (R1, R11): 157 and 159 (two extensions, or two codings of one)
    were registered as 157 without a word. Refused naming the rule; the same
    code given twice is one municipality."""
    f.municipality("159")
    body = bodies.patient("0212711234")
    extension = body["extension"][0]
    coding = {"system": "urn:oid:1.2.208.176.1.3", "code": "159"}
    if own_extension:
        body["extension"].append({**extension, "valueCodeableConcept": {"coding": [coding]}})
    else:
        extension["valueCodeableConcept"]["coding"].append(coding)
    response = post(f.client_for(world.coordinator), "/fhir/Patient", body)
    assert response.status_code == 400
    assert issue_code(response) == "patient.municipality_ambiguous"
    assert not Citizen.objects.filter(cpr="0212711234").exists()

    twice = bodies.patient("0212721234")
    twice["extension"].append(twice["extension"][0])
    assert post(f.client_for(world.coordinator), "/fhir/Patient", twice).status_code == 201
