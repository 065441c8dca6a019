"""What a citizen's refusal or consent names cannot silently change (R4).

Deleting a user or organisation that a directive names would drop the link
and leave a refusal that names nobody, which refuses everyone, or a consent
to one department that lifts a refusal for all. Every way of deleting them
(the instance, a queryset, one taken along in bulk) is refused, nothing is
deleted, and the directive keeps naming them."""

from __future__ import annotations

import pytest
from django.db.models import ProtectedError

from consent.models import CareRelationship, ConsentDirective
from consent.services import care_relationship_open, consent_create
from core.actors import Actor
from core.models import Membership, Organisation, Role, User
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World
from tests.consent.test_gate_rules import reads


def _record(world: World, **named: list[int]) -> ConsentDirective:
    return consent_create(
        actor=Actor.for_membership(world.nurse),
        data=bodies.refusal(world.person.pk, **named),
        purpose="treatment",
    )


def test_r4_a_professional_named_in_a_refusal_cannot_be_deleted(world: World) -> None:
    care_relationship_open(
        citizen=world.person,
        organisation=world.department,
        basis=CareRelationship.Basis.HOSPITAL_CONTACT,
        source_type="test.admission",
        source_id="1",
    )
    colleague = f.staff(Role.PHYSICIAN, world.department)
    refused = world.hospital_physician.user
    directive = _record(world, users=[refused.pk])
    assert not reads(world.hospital_physician, world.person)
    assert reads(colleague, world.person)

    with pytest.raises(ProtectedError):
        User.objects.filter(pk=refused.pk).delete()
    with pytest.raises(ProtectedError):
        refused.delete()
    # Nothing of hers went with the attempts, her membership neither.
    assert User.objects.filter(pk=refused.pk).exists()
    assert Membership.objects.filter(pk=world.hospital_physician.pk).exists()
    directive = ConsentDirective.objects.get(pk=directive.pk)
    assert [u.pk for u in directive.recipient_users.all()] == [refused.pk]
    # The refusal still refuses her, and only her.
    assert not reads(world.hospital_physician, world.person)
    assert reads(colleague, world.person)


def test_r4_an_organisation_named_in_a_directive_cannot_be_deleted(world: World) -> None:
    unit = f.organisation(Organisation.Kind.REHABILITATION_UNIT)
    directive = _record(world, organisations=[unit.pk])

    with pytest.raises(ProtectedError):
        Organisation.objects.filter(pk=unit.pk).delete()
    with pytest.raises(ProtectedError):
        unit.delete()
    directive = ConsentDirective.objects.get(pk=directive.pk)
    assert [o.pk for o in directive.recipient_organisations.all()] == [unit.pk]


def test_r4_a_bulk_deletion_that_takes_a_named_one_along_deletes_nothing(world: World) -> None:
    named = world.hospital_physician.user
    unnamed = f.staff(Role.PHYSICIAN, world.department).user
    unit = f.organisation(Organisation.Kind.REHABILITATION_UNIT)
    other_unit = f.organisation(Organisation.Kind.REHABILITATION_UNIT)
    directive = _record(world, users=[named.pk], organisations=[unit.pk])

    with pytest.raises(ProtectedError):
        User.objects.filter(pk__in=[named.pk, unnamed.pk]).delete()
    with pytest.raises(ProtectedError):
        Organisation.objects.filter(pk__in=[unit.pk, other_unit.pk]).delete()
    assert User.objects.filter(pk__in=[named.pk, unnamed.pk]).count() == 2
    assert Organisation.objects.filter(pk__in=[unit.pk, other_unit.pk]).count() == 2
    directive = ConsentDirective.objects.get(pk=directive.pk)
    assert [u.pk for u in directive.recipient_users.all()] == [named.pk]
    assert [o.pk for o in directive.recipient_organisations.all()] == [unit.pk]


def test_someone_no_directive_names_is_deleted_as_before(world: World) -> None:
    _record(world, users=[world.hospital_physician.user.pk])
    unnamed = f.staff(Role.PHYSICIAN, world.department).user
    User.objects.filter(pk=unnamed.pk).delete()
    assert not User.objects.filter(pk=unnamed.pk).exists()
