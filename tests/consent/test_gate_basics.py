"""R1 at its simplest: a care relationship opens access, its end closes it; both are audited."""

import pytest

from consent.audit.models import AuditEntry
from consent.gate import Action, Purpose, access_citizen
from consent.models import CareRelationship
from consent.services import care_relationship_close, care_relationship_open
from core.actors import Actor
from core.errors import NotFoundOrNotAllowed
from core.models import Role
from tests import factories as f

pytestmark = pytest.mark.django_db


def _read(actor: Actor, citizen_id: int):
    return access_citizen(
        actor=actor,
        citizen_id=citizen_id,
        action=Action.READ,
        category="patient",
        purpose=Purpose.TREATMENT,
    )


def test_r1_nurse_sees_a_citizen_only_while_her_visit_is_open() -> None:
    acute = f.acute_function()
    nurse = Actor.for_membership(f.staff(Role.ACUTE_NURSE, acute))
    person = f.citizen()
    with pytest.raises(NotFoundOrNotAllowed):
        _read(nurse, person.pk)

    care_relationship_open(
        citizen=person,
        organisation=acute,
        user=nurse.user,
        basis=CareRelationship.Basis.VISIT,
        source_type="test.visit",
        source_id="1",
    )
    assert _read(nurse, person.pk) == person

    care_relationship_close(source_type="test.visit", source_id="1")
    with pytest.raises(NotFoundOrNotAllowed):
        _read(nurse, person.pk)

    outcomes = list(
        AuditEntry.objects.filter(citizen_id=person.pk)
        .order_by("id")
        .values_list("outcome", "reason_code")
    )
    assert outcomes == [
        ("denied", "no_care_relationship"),
        ("permitted", "care_relationship"),
        ("denied", "no_care_relationship"),
    ]


def test_r1_another_nurse_of_the_same_function_is_refused() -> None:
    acute = f.acute_function()
    nurse = f.staff(Role.ACUTE_NURSE, acute)
    other = Actor.for_membership(f.staff(Role.ACUTE_NURSE, acute))
    person = f.citizen()
    care_relationship_open(
        citizen=person,
        organisation=acute,
        user=nurse.user,
        basis=CareRelationship.Basis.VISIT,
        source_type="test.visit",
        source_id="2",
    )
    with pytest.raises(NotFoundOrNotAllowed):
        _read(other, person.pk)


def test_unknown_and_refused_citizens_look_the_same_and_both_are_audited() -> None:
    nurse = Actor.for_membership(f.staff(Role.ACUTE_NURSE, f.acute_function()))
    person = f.citizen()
    with pytest.raises(NotFoundOrNotAllowed) as unknown:
        _read(nurse, 987654)
    with pytest.raises(NotFoundOrNotAllowed) as refused:
        _read(nurse, person.pk)
    assert (unknown.value.code, unknown.value.message) == (
        refused.value.code,
        refused.value.message,
    )
    assert AuditEntry.objects.filter(outcome="denied").count() == 2
