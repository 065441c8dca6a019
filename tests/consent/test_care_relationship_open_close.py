"""Opening and closing a care relationship (R1) from its source: idempotent,
one relationship open per source (a whole organisation's, or one person's),
its values checked, and on PostgreSQL one statement each (a hospital's
admission opens one, its discharge closes it)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from consent.models import CareRelationship
from consent.services import care_relationship_close, care_relationship_open
from core.models import Organisation, Role
from tests import factories as f

pytestmark = pytest.mark.django_db

SOURCE = "integrations.hospital_encounter"


def _open(citizen, organisation, source_id: str, user=None) -> CareRelationship:
    return care_relationship_open(
        citizen=citizen,
        organisation=organisation,
        basis=CareRelationship.Basis.HOSPITAL_CONTACT,
        source_type=SOURCE,
        source_id=source_id,
        user=user,
    )


def test_r1_opening_again_keeps_the_one_open_relationship_of_the_organisation_and_of_a_nurse():
    citizen = f.citizen()
    hospital = f.organisation(Organisation.Kind.HOSPITAL)
    nurse = f.staff(Role.ACUTE_NURSE, hospital).user
    first = _open(citizen, hospital, "stay-1")
    again = _open(citizen, hospital, "stay-1")
    hers = _open(citizen, hospital, "stay-1", user=nurse)
    assert again.pk == first.pk
    assert hers.pk != first.pk and _open(citizen, hospital, "stay-1", user=nurse).pk == hers.pk
    stored = CareRelationship.objects.get(pk=first.pk)
    assert (stored.citizen_id, stored.organisation_id, stored.user_id, stored.started_at) == (
        citizen.pk,
        hospital.pk,
        None,
        first.started_at,
    )
    assert CareRelationship.objects.filter(source_id="stay-1", ended_at__isnull=True).count() == 2


def test_r1_closing_by_citizen_ends_only_hers_and_a_new_one_opens_after():
    citizen, other = f.citizen(), f.citizen()
    hospital = f.organisation(Organisation.Kind.HOSPITAL)
    first = _open(citizen, hospital, "stay-2")
    _open(other, f.organisation(Organisation.Kind.HOSPITAL), "stay-2")
    assert (
        care_relationship_close(source_type=SOURCE, source_id="stay-2", citizen_id=citizen.pk) == 1
    )
    assert (
        care_relationship_close(source_type=SOURCE, source_id="stay-2", citizen_id=citizen.pk) == 0
    )
    first.refresh_from_db()
    assert first.ended_at is not None
    assert CareRelationship.objects.get(citizen=other, source_id="stay-2").ended_at is None
    assert _open(citizen, hospital, "stay-2").pk != first.pk


def test_r1_a_relationship_with_an_unknown_basis_is_refused_and_not_stored():
    citizen = f.citizen()
    hospital = f.organisation(Organisation.Kind.HOSPITAL)
    # Inside the caller's write, which rolls back whole on the refusal.
    with pytest.raises(ValidationError), transaction.atomic():
        care_relationship_open(
            citizen=citizen,
            organisation=hospital,
            basis="friendship",
            source_type=SOURCE,
            source_id="stay-3",
        )
    assert not CareRelationship.objects.filter(source_id="stay-3").exists()


@pytest.mark.postgres
def test_r1_opening_and_closing_take_one_statement_each():
    citizen = f.citizen()
    hospital = f.organisation(Organisation.Kind.HOSPITAL)
    with CaptureQueriesContext(connection) as opening:
        _open(citizen, hospital, "stay-4")
    with CaptureQueriesContext(connection) as closing:
        care_relationship_close(source_type=SOURCE, source_id="stay-4", citizen_id=citizen.pk)
    assert len(opening.captured_queries) == 1
    assert len(closing.captured_queries) == 1
