"""R3: a recorded care relationship discloses the shared record only to the
defined recipients. Another GP practice, the 1813 helpline and another
municipality's organisation are refused even with a relationship on record
(each refusal audited, R9); the citizen's own GP and the hospital a citizen is
admitted to, wherever it is, still read."""

from __future__ import annotations

from typing import Any

import pytest

from consent.audit.models import AuditEntry
from consent.models import CareRelationship
from consent.services import care_relationship_open
from core.models import Citizen, Membership, Organisation, Role
from tests import factories as f

pytestmark = pytest.mark.django_db


def _relationship(person: Citizen, organisation: Organisation, basis: str) -> None:
    care_relationship_open(
        citizen=person,
        organisation=organisation,
        basis=basis,
        source_type="test.relationship",
        source_id=f"{organisation.pk}-{person.pk}",
    )


def _reads(membership: Membership, person: Citizen) -> dict[str, Any]:
    """What the member gets of the citizen through each FHIR door."""
    client = f.client_for(membership)
    return {
        "read": client.get(f"/fhir/Patient/{person.pk}").status_code,
        "search": client.get(f"/fhir/Patient?_id={person.pk}").json()["total"],
        "everything": client.get(f"/fhir/Patient/{person.pk}/$everything").status_code,
    }


REFUSED = {"read": 404, "search": 0, "everything": 404}
READS = {"read": 200, "search": 1, "everything": 200}


def _denials(membership: Membership, person: Citizen) -> list[str]:
    return list(
        AuditEntry.objects.filter(
            citizen_id=person.pk, actor_user_id=membership.user_id, outcome="denied"
        ).values_list("reason_code", flat=True)
    )


def test_r3_another_gp_practice_with_a_relationship_is_refused_and_audited() -> None:
    person = f.citizen(gp=f.gp_practice())
    other_gp = f.gp_practice()
    _relationship(person, other_gp, CareRelationship.Basis.RECORDED)
    physician = f.staff(Role.PHYSICIAN, other_gp)

    assert _reads(physician, person) == REFUSED
    denials = _denials(physician, person)
    assert denials and set(denials) == {"no_care_relationship"}


def test_r3_the_1813_helpline_with_a_relationship_is_refused_and_audited() -> None:
    person = f.citizen(gp=f.gp_practice())
    helpline = f.organisation(Organisation.Kind.HELPLINE_1813, "Akuttelefonen 1813")
    _relationship(person, helpline, CareRelationship.Basis.RECORDED)
    physician = f.staff(Role.PHYSICIAN, helpline)

    assert _reads(physician, person) == REFUSED
    denials = _denials(physician, person)
    assert denials and set(denials) == {"no_care_relationship"}


@pytest.mark.parametrize("kind", ["home_nursing", "municipality"])
def test_r3_another_municipality_with_a_relationship_is_refused(kind: str) -> None:
    person = f.citizen(municipality_code="157")
    other = f.home_nursing("159") if kind == "home_nursing" else f.municipality("159")
    _relationship(person, other, CareRelationship.Basis.RECORDED)
    home_nurse = f.staff(Role.HOME_NURSE, other)

    assert _reads(home_nurse, person) == REFUSED
    assert set(_denials(home_nurse, person)) == {"no_care_relationship"}


def test_r3_the_citizens_own_municipality_with_a_relationship_reads() -> None:
    person = f.citizen(municipality_code="157")
    own = f.municipality("157")
    _relationship(person, own, CareRelationship.Basis.RECORDED)

    assert _reads(f.staff(Role.HOME_NURSE, own), person) == READS


def test_r3_the_citizens_own_gp_still_reads() -> None:
    own_gp = f.gp_practice()
    person = f.citizen(gp=own_gp)

    assert _reads(f.staff(Role.PHYSICIAN, own_gp), person) == READS


def test_r3_the_admitting_hospital_reads_a_citizen_of_a_municipality_it_does_not_serve() -> None:
    person = f.citizen(municipality_code="159")
    department = f.hospital_department()
    assert not department.serves.exists() and not department.parent.serves.exists()
    physician = f.staff(Role.PHYSICIAN, department)
    assert _reads(physician, person) == REFUSED

    _relationship(person, department, CareRelationship.Basis.HOSPITAL_CONTACT)

    assert _reads(physician, person) == READS
