"""R6: the diagnosis analysis counts ICD-10 codes, and a code means something
only in its system. It compared the stored code's first characters with the
prefix whatever the system: an ICPC-2 T90 (a GP's diabetes) was counted as
ICD-10 T90 (an injury), and a hospital's SKS DE119 (diabetes, ICD-10 E11.9
with SKS's leading D) as ICD-10 chapter D, never under E11. And "E." was taken
as a prefix and paid for from the privacy budget."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import override_settings

from consent.services import record_resource_create
from core.actors import Actor
from tests import factories as f
from tests.consent import bodies
from tests.consent.analysis_api import run
from tests.consent.conftest import World

pytestmark = pytest.mark.django_db

ICPC2 = "http://hl7.org/fhir/sid/icpc-2"
SKS_D = "urn:oid:1.2.208.176.2.4.12"

# As in test_analyses.py: with this budget the noise vanishes, so the table
# shows exactly whom the analysis counts.
NOISELESS = override_settings(
    CONSENT_ANALYSIS_EPSILON_PER_RUN=Decimal("60"), CONSENT_ANALYSIS_EPSILON_BUDGET=Decimal("600")
)


def _people(world: World, n: int, code: str, system: str, *, service: bool = True) -> None:
    nurse = Actor.for_membership(world.nurse)
    for _ in range(n):
        person = f.citizen(municipality_code="157")
        f.open_visit(world.nurse, person)
        record_resource_create(
            actor=nurse,
            data=bodies.diagnosis(person.pk, code=code, system=system),
            purpose="treatment",
        )
        if service:
            record_resource_create(
                actor=nurse,
                data=bodies.municipal_help(person.pk, service="home-nursing"),
                purpose="treatment",
            )


def _gentofte(client, diagnosis: str) -> list[int | None]:
    response = run(client, "diagnosis-and-service", diagnosis=diagnosis, service="home-nursing")
    assert response.status_code in (200, 201), response.content
    rows = {r["municipality"]: r for r in response.json()["rows"]}
    return rows["Gentofte Kommune"]["cells"]


@NOISELESS
def test_r6_diagnoses_are_counted_by_their_icd10_code_in_every_system(world: World) -> None:
    for code in ("157", "159", "173", "230"):
        f.municipality(code)
    _people(world, 6, "E11.9", bodies.ICD10)
    _people(world, 7, "DE119", SKS_D, service=False)  # a hospital's diabetes, in SKS
    _people(world, 8, "T90", ICPC2)  # a GP's diabetes, in ICPC-2
    _people(world, 9, "T90", ICPC2, service=False)
    client = f.client_for(world.analyst)
    # ICD-10 and SKS diabetes both under E11 (and E11.9), ICPC-2 not.
    assert _gentofte(client, "E11") == [6, 7]
    assert _gentofte(client, "E11.9") == [6, 7]
    # ICD-10's T90 is an injury: ICPC-2's T90 is not one.
    assert _gentofte(client, "T9") == [None, None]
    # SKS's leading D is not ICD-10's chapter D.
    assert _gentofte(client, "D") == [None, None]


@NOISELESS
def test_r6_a_diagnosis_that_is_no_icd10_prefix_is_refused_and_costs_nothing(
    world: World,
) -> None:
    client = f.client_for(world.analyst)
    for bad in ("E.", "E1.", "E.1", "E11.123", "E119"):
        response = run(client, "diagnosis-and-service", diagnosis=bad, service="home-nursing")
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "analysis.diagnosis_invalid"
    budget = client.get("/api/consent/analyses").json()["privacy_budget"]
    assert budget["budget_spent"] == 0
    # "E11." is the question "E11": the answer given again, at no cost.
    first = run(client, "diagnosis-and-service", diagnosis="E11", service="home-nursing").json()
    again = run(client, "diagnosis-and-service", diagnosis="E11.", service="home-nursing").json()
    assert again["privacy"]["reused"] is True
    assert again["privacy"]["released_at"] == first["privacy"]["released_at"]


@NOISELESS
def test_r6_an_sks_diagnosis_under_any_sks_system_is_counted_by_its_icd10_code(
    world: World,
) -> None:
    for code in ("157", "159", "173", "230"):
        f.municipality(code)
    _people(world, 6, "E11.9", bodies.ICD10)
    # A hospital's diabetes under a system below the SKS root.
    _people(world, 7, "DE119", "urn:oid:1.2.208.176.2.4.13", service=False)
    client = f.client_for(world.analyst)
    assert _gentofte(client, "E11") == [6, 7]
    assert _gentofte(client, "D") == [None, None]
