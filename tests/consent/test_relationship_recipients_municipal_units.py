"""R3 for the municipality's own units: municipal assessment (*visitation*),
home care (*hjemmepleje*) and a rehabilitation unit (*genoptræning*) read the
shared record of a citizen of the municipality they act for, and only through a
recorded care relationship; another municipality's unit is refused, and so is
one without a relationship (each refusal audited, R9). A rehabilitation unit
that is part of a hospital reads as the hospital does. A citizen's refusal of
the unit, or of its municipality with its sub-units, hides the record from it
(R4). Their staff act in the home nurse role."""

from __future__ import annotations

from typing import Any

import pytest

from consent.audit.models import AuditEntry
from consent.models import CareRelationship
from consent.services import care_relationship_open
from core.models import Citizen, Membership, Organisation, Role
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, post

pytestmark = pytest.mark.django_db

UNIT_KINDS = [
    Organisation.Kind.MUNICIPAL_ASSESSMENT,
    Organisation.Kind.HOME_CARE,
    Organisation.Kind.REHABILITATION_UNIT,
]

READS = {"read": 200, "search": 1, "everything": 200, "conditions": 1}
REFUSED = {"read": 404, "search": 0, "everything": 404, "conditions": 0}


def _relationship(person: Citizen, organisation: Organisation) -> None:
    care_relationship_open(
        citizen=person,
        organisation=organisation,
        basis=CareRelationship.Basis.RECORDED,
        source_type="test.relationship",
        source_id=f"{organisation.pk}-{person.pk}",
    )


def _reads(membership: Membership, person: Citizen) -> dict[str, Any]:
    """What the member gets of the citizen through each FHIR door: the
    Patient read and search, $everything, and a search of the record."""
    client = f.client_for(membership)
    return {
        "read": client.get(f"/fhir/Patient/{person.pk}").status_code,
        "search": client.get(f"/fhir/Patient?_id={person.pk}").json()["total"],
        "everything": client.get(f"/fhir/Patient/{person.pk}/$everything").status_code,
        "conditions": client.get(f"/fhir/Condition?patient={person.pk}").json()["total"],
    }


def _entries(membership: Membership, person: Citizen, outcome: str) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            citizen_id=person.pk, actor_user_id=membership.user_id, outcome=outcome
        )
    )


def _refuse(world: World, organisation: Organisation, *, sub_units: bool = True) -> None:
    response = post(
        f.client_for(world.nurse),
        "/fhir/Consent",
        bodies.refusal(world.person.pk, organisations=[organisation.pk], sub_units=sub_units),
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("kind", UNIT_KINDS)
def test_r3_the_unit_of_the_citizens_municipality_with_a_relationship_reads(
    world: World, kind: str
) -> None:
    unit = f.municipal_unit(kind, "157")
    member = f.staff(Role.HOME_NURSE, unit)
    _relationship(world.person, unit)

    assert _reads(member, world.person) == READS
    permitted = _entries(member, world.person, "permitted")
    assert permitted and {e.reason_code for e in permitted} == {"care_relationship"}
    assert {e.detail["basis"] for e in permitted} == {CareRelationship.Basis.RECORDED}
    assert {e.actor_organisation_id for e in permitted} == {unit.pk}
    assert not _entries(member, world.person, "denied")


@pytest.mark.parametrize("kind", UNIT_KINDS)
def test_r3_the_unit_of_another_municipality_is_refused_and_audited(
    world: World, kind: str
) -> None:
    unit = f.municipal_unit(kind, "159")
    member = f.staff(Role.HOME_NURSE, unit)
    _relationship(world.person, unit)

    assert _reads(member, world.person) == REFUSED
    denied = _entries(member, world.person, "denied")
    assert denied and {e.reason_code for e in denied} == {"no_care_relationship"}
    assert not _entries(member, world.person, "permitted")


@pytest.mark.parametrize("kind", UNIT_KINDS)
def test_r3_the_unit_without_a_relationship_is_refused_and_audited(world: World, kind: str) -> None:
    member = f.staff(Role.HOME_NURSE, f.municipal_unit(kind, "157"))

    assert _reads(member, world.person) == REFUSED
    denied = _entries(member, world.person, "denied")
    assert denied and {e.reason_code for e in denied} == {"no_care_relationship"}


@pytest.mark.parametrize("kind", UNIT_KINDS)
def test_r3_a_unit_serving_the_municipality_by_agreement_reads(world: World, kind: str) -> None:
    unit = f.organisation(kind)  # no parent: it acts for the municipality it serves
    member = f.staff(Role.HOME_NURSE, unit)
    _relationship(world.person, unit)
    assert _reads(member, world.person) == REFUSED

    unit.serves.add(f.municipality("157"))

    assert _reads(member, world.person) == READS


def test_r3_a_hospitals_rehabilitation_unit_reads_as_the_hospital_does(world: World) -> None:
    hospital = world.department.parent
    unit = f.organisation(Organisation.Kind.REHABILITATION_UNIT, parent=hospital)
    # Neither serves the citizen's municipality: a hospital's unit needs no agreement.
    assert not unit.serves.exists() and not hospital.serves.exists()
    therapist = f.staff(Role.HOME_NURSE, unit)
    assert _reads(therapist, world.person) == REFUSED

    _relationship(world.person, unit)

    assert _reads(therapist, world.person) == READS
    permitted = _entries(therapist, world.person, "permitted")
    assert permitted and {e.detail["basis"] for e in permitted} == {"recorded"}


@pytest.mark.parametrize("kind", UNIT_KINDS)
def test_r4_a_refusal_of_the_unit_hides_the_record_from_it(world: World, kind: str) -> None:
    unit = f.municipal_unit(kind, "157")
    member = f.staff(Role.HOME_NURSE, unit)
    _relationship(world.person, unit)
    assert _reads(member, world.person) == READS

    _refuse(world, unit)

    assert _reads(member, world.person) == REFUSED
    denied = _entries(member, world.person, "denied")
    assert denied and {e.reason_code for e in denied} == {"refused"}


@pytest.mark.parametrize("kind", UNIT_KINDS)
def test_r4_a_refusal_of_the_municipality_with_its_sub_units_hides_it(
    world: World, kind: str
) -> None:
    unit = f.municipal_unit(kind, "157")
    member = f.staff(Role.HOME_NURSE, unit)
    _relationship(world.person, unit)

    _refuse(world, f.municipality("157"))

    assert _reads(member, world.person) == REFUSED
    assert {e.reason_code for e in _entries(member, world.person, "denied")} == {"refused"}


def test_r4_a_refusal_of_the_municipality_alone_spares_its_units(world: World) -> None:
    unit = f.municipal_unit(Organisation.Kind.HOME_CARE, "157")
    member = f.staff(Role.HOME_NURSE, unit)
    _relationship(world.person, unit)

    _refuse(world, f.municipality("157"), sub_units=False)

    assert _reads(member, world.person) == READS
