"""Queries compiled once with stand-ins (core/sql.py): each call's values go
exactly where the stand-ins were, and nowhere else."""

from __future__ import annotations

import pytest
from django.db.models import Value

from core.models import Organisation
from core.sql import CompiledQuery
from tests import factories as f

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_values_go_only_where_the_stand_ins_were() -> None:
    # The stand-in 1 equals True, a parameter of the query's own: only the
    # stand-in's place may take the caller's value.
    named = CompiledQuery(
        lambda pk: (
            Organisation.objects.filter(pk=pk)
            .annotate(listed=Value(True))
            .values_list("name", "listed")
        ),
        1,
    )
    practice = f.organisation(Organisation.Kind.GP_PRACTICE, name="Lægerne i Byen")
    for _ in range(3):  # the first call, and the prepared statement after it
        [(name, listed)] = named.rows(practice.pk)
        assert name == "Lægerne i Byen" and listed is True
        assert named.rows(-1) == []


def test_a_stand_in_left_out_of_the_query_is_refused_unless_optional() -> None:
    def build(pk: int, parent_id: int) -> object:
        return Organisation.objects.filter(pk=pk).values_list("name")

    organisation = f.organisation(Organisation.Kind.GP_PRACTICE, name="Lægehuset")
    with pytest.raises(ValueError, match=r"stand-ins \[1\] do not appear"):
        CompiledQuery(build, -5_000_001, -5_000_002).rows(organisation.pk, None)
    optional = CompiledQuery(build, -5_000_001, -5_000_002, optional=[-5_000_002])
    assert optional.rows(organisation.pk, None) == [("Lægehuset",)]


def test_a_querys_own_constants_are_written_in_only_when_plain() -> None:
    """Plain constants (kinds, numbers, truth values) go into the SQL; a text
    that needs quoting stays a value sent with each call, and means the same."""
    odd = "O'Brien 100% ; --"
    query = CompiledQuery(
        lambda pk: (
            Organisation.objects.filter(pk__gte=pk, kind=Organisation.Kind.GP_PRACTICE)
            .exclude(name=odd)
            .annotate(listed=Value(True), minus=Value(-3))
            .values_list("name", "listed", "minus")
        ),
        -5_000_001,
    )
    f.organisation(Organisation.Kind.GP_PRACTICE, name=odd)
    f.organisation(Organisation.Kind.HOSPITAL, name="Sygehuset")
    practice = f.organisation(Organisation.Kind.GP_PRACTICE, name="Lægehuset")
    for _ in range(3):  # the first call, and the prepared statement after it
        assert query.rows(practice.pk) == [("Lægehuset", True, -3)]
    sql, slots, constants = query._sql()
    assert "'gp_practice'" in sql and "TRUE" in sql and "(-3)" in sql
    assert "Brien" not in sql
    assert slots == (0, None) and constants == (-5_000_001, odd)
