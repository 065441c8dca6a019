"""R4 with R6: a citizen's refusal of analysis that names a recipient — the
analyst's organisation (with or without its units) or the analyst herself —
keeps her out of that analyst's answers, as the gate keeps her out of every
other door; a refusal naming someone else leaves the answer as it was."""

from __future__ import annotations

import pytest

from consent.services import record_resource_create
from core.actors import Actor
from core.models import Membership, Role
from tests import factories as f
from tests.consent import bodies
from tests.consent.analysis_api import run
from tests.consent.conftest import World, post
from tests.consent.test_analyses import NOISELESS


def _six_people(world: World) -> list[int]:
    nurse = Actor.for_membership(world.nurse)
    people = [f.citizen(municipality_code="157") for _ in range(6)]
    for person in people:
        f.open_visit(world.nurse, person)
        record_resource_create(
            actor=nurse, data=bodies.diagnosis(person.pk, code="E11"), purpose="treatment"
        )
    return [p.pk for p in people]


def _gentofte_total(analyst: Membership) -> int | None:
    response = run(
        f.client_for(analyst), "diagnosis-and-service", diagnosis="E11", service="home-nursing"
    )
    assert response.status_code in (200, 201), response.content
    rows = {r["municipality"]: r for r in response.json()["rows"]}
    return rows["Gentofte Kommune"]["total"]


def _refuse(world: World, citizen_id: int, **scope: object) -> None:
    refused = post(f.client_for(world.nurse), "/fhir/Consent", bodies.refusal(citizen_id, **scope))
    assert refused.status_code == 201, refused.content


@NOISELESS
@pytest.mark.parametrize("named", ["organisation", "analyst"])
def test_r4_a_refusal_naming_the_analyst_keeps_the_citizen_out_of_her_answers(
    world: World, named: str
) -> None:
    people = _six_people(world)
    gentofte = f.municipality("157")
    refused = f.staff(Role.ANALYST, gentofte)
    scope: dict[str, object] = {"purposes": ["HRESCH"]}
    if named == "organisation":
        scope["organisations"] = [gentofte.pk]
    else:
        scope["users"] = [refused.user.pk]
    _refuse(world, people[0], **scope)
    assert _gentofte_total(refused) == 5
    # Another analyst, whom the refusal does not name, still counts her.
    other = f.staff(Role.ANALYST, f.organisation("region", "Region Hovedstaden"))
    assert _gentofte_total(other) == 6


@NOISELESS
def test_r4_a_refusal_of_a_municipality_without_its_units_does_not_reach_a_unit(
    world: World,
) -> None:
    people = _six_people(world)
    gentofte = f.municipality("157")
    unit = f.municipal_unit("municipal_assessment", "157")
    _refuse(world, people[0], organisations=[gentofte.pk], sub_units=False)
    assert _gentofte_total(f.staff(Role.ANALYST, unit)) == 6
    assert _gentofte_total(f.staff(Role.ANALYST, gentofte)) == 5
    _refuse(world, people[1], organisations=[gentofte.pk], sub_units=True)
    assert _gentofte_total(f.staff(Role.ANALYST, unit)) == 5


@NOISELESS
def test_r4_a_later_consent_for_the_analyst_lifts_her_refusal_as_at_the_gate(
    world: World,
) -> None:
    people = _six_people(world)
    gentofte = f.municipality("157")
    analyst = f.staff(Role.ANALYST, gentofte)
    _refuse(world, people[0], purposes=["HRESCH"])
    assert _gentofte_total(analyst) == 5
    _refuse(world, people[0], purposes=["HRESCH"], organisations=[gentofte.pk], kind="permit")
    assert _gentofte_total(f.staff(Role.ANALYST, gentofte)) == 6
    # Everyone else the refusal covers still does without her.
    assert _gentofte_total(f.staff(Role.ANALYST, f.municipality("159"))) == 5
