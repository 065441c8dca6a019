"""A FHIR search names one citizen: ``patient`` and ``subject``, repeated or
together, naming two Patients is refused (400 search.patient_conflict), where
the last one given was answered for as if it were the first."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.consent.conftest import World, issue_code


@pytest.mark.django_db
def test_a_search_naming_two_citizens_is_refused_on_every_searched_type(world: World) -> None:
    other = f.citizen()
    f.open_visit(world.nurse, other)
    client = f.client_for(world.nurse)
    one, two = world.person.pk, other.pk
    for query in [
        f"Condition?patient={one}&patient={two}",
        f"Condition?patient=Patient/{one}&subject=Patient/{two}",
        f"Encounter?subject={one}&subject={two}",
        f"Observation?patient=Patient/{one}&patient=Patient/{two}",
        f"Observation?patient=Patient/{one}&subject=Patient/{two}",
        f"MedicationAdministration?patient={one}&patient={two}",
        f"Consent?patient={one}&patient={two}",
    ]:
        response = client.get(f"/fhir/{query}")
        assert response.status_code == 400, (query, response.status_code)
        assert issue_code(response) == "search.patient_conflict", query
        assert "entry" not in response.json()


@pytest.mark.django_db
def test_the_same_citizen_named_twice_is_one_citizen(world: World) -> None:
    client = f.client_for(world.nurse)
    pid = world.person.pk
    response = client.get(f"/fhir/Condition?patient={pid}&subject=Patient/{pid}")
    assert response.status_code == 200
    assert [e["resource"]["id"] for e in response.json()["entry"]] == [str(world.diagnosis.pk)]


@pytest.mark.django_db
def test_a_citizen_parameter_naming_no_patient_is_refused_beside_one_that_does(
    world: World,
) -> None:
    """``patient=<id>&subject=abc`` was answered with the patient's data, the
    subject passed over: every value of a parameter that names the citizen
    must name a Patient."""
    client = f.client_for(world.nurse)
    pid = world.person.pk
    for query in [
        f"Condition?patient={pid}&subject=abc",
        f"Condition?patient={pid}&patient=Patient/x",
        f"Observation?patient={pid}&subject=Patient/",
    ]:
        response = client.get(f"/fhir/{query}")
        assert response.status_code == 400, (query, response.status_code)
        assert issue_code(response) == "search.param_invalid", query
        assert "entry" not in response.json()


@pytest.mark.django_db
def test_the_refusal_says_why_in_danish_with_no_english_beside_it(world: World) -> None:
    other = f.citizen(gp=world.gp)
    response = f.client_for(world.nurse).get(
        f"/fhir/Condition?patient={world.person.pk}&subject=Patient/{other.pk}"
    )
    issue = response.json()["issue"][0]
    assert issue["details"]["text"].startswith("En søgning angår én borger")
    assert issue["diagnostics"] == issue["details"]["text"]
