"""The gate's question on a record read (R1, R3): the open care relationship
of this reader, asked in the statement that reads the record. Its organisation's
kind settles which relationships count before the statement is run; the
statement finds the reader's relationship with the citizen in one index
look-up, however many citizens she has seen before."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from consent.audit.models import AuditEntry
from consent.gate.queries import _record_with_facts_query, _shape
from consent.models import CareRelationship, RecordResource
from consent.services import care_relationship_open, record_resource_create
from core.actors import Actor
from core.models import Citizen, Membership, Organisation, Role
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World

pytestmark = pytest.mark.django_db


def _record_of(person: Citizen, by: Membership) -> RecordResource:
    f.open_visit(by, person, source_id=f"probe-{person.pk}")
    return record_resource_create(
        actor=Actor.for_membership(by), data=bodies.diagnosis(person.pk), purpose="treatment"
    )


def _relationship(person: Citizen, organisation: Organisation, **fields: object) -> None:
    care_relationship_open(
        citizen=person,
        organisation=organisation,
        basis=CareRelationship.Basis.RECORDED,
        source_type="test.probe",
        source_id=f"{organisation.pk}-{person.pk}-{len(fields)}",
        **fields,
    )


def _read(membership: Membership, resource: RecordResource) -> int:
    return f.client_for(membership).get(f"/fhir/Condition/{resource.pk}").status_code


def _last_entry(membership: Membership, person: Citizen) -> tuple[str, str]:
    entry = AuditEntry.objects.filter(
        citizen_id=person.pk, actor_user_id=membership.user_id
    ).latest("id")
    return entry.outcome, entry.reason_code


def test_r3_a_record_read_by_each_kind_of_organisation_with_a_relationship(
    world: World,
) -> None:
    """The record door answers as the Patient door does for every kind: the
    acute function and a hospital's rehabilitation unit read any citizen they
    have a relationship with, a municipal unit its own municipality's, another
    GP practice and another municipality's unit never; each access audited."""
    person = world.person
    resource = _record_of(person, world.nurse)
    hospital = f.organisation(Organisation.Kind.HOSPITAL)
    rehabilitation = f.organisation(Organisation.Kind.REHABILITATION_UNIT, parent=hospital)
    other_gp = f.gp_practice()
    other_home_nursing = f.home_nursing("159")
    cases = {
        world.coordinator: ("permitted", "care_relationship"),
        f.staff(Role.HOME_NURSE, rehabilitation): ("permitted", "care_relationship"),
        f.staff(Role.PHYSICIAN, other_gp): ("denied", "no_care_relationship"),
        f.staff(Role.HOME_NURSE, other_home_nursing): ("denied", "no_care_relationship"),
    }
    for member in cases:
        _relationship(person, member.organisation)
    for member, expected in cases.items():
        assert _read(member, resource) == (200 if expected[0] == "permitted" else 404)
        assert _last_entry(member, person) == expected


def test_r1_a_relationship_ending_later_is_open_and_one_ended_is_not(world: World) -> None:
    person = f.citizen(gp=world.gp)
    resource = _record_of(person, world.nurse)
    _relationship(person, world.acute, user=world.other_nurse.user)
    open_one = CareRelationship.objects.get(citizen=person, user=world.other_nurse.user)
    open_one.ended_at = timezone.now() + dt.timedelta(hours=1)
    open_one.save(update_fields=["ended_at"])
    assert _read(world.other_nurse, resource) == 200

    open_one.ended_at = open_one.started_at
    open_one.save(update_fields=["ended_at"])
    assert _read(world.other_nurse, resource) == 404
    assert _last_entry(world.other_nurse, person) == ("denied", "no_care_relationship")


# The types of the statement's values, in the order of _generic_plan's values.
_TYPES = ("bigint", "text", "timestamptz", "bigint", "bigint")


def _generic_plan(actor: Actor, resource: RecordResource) -> str:
    """The plan PostgreSQL keeps for the prepared statement after its first
    runs: the generic one, which knows none of the values."""
    sql, slots, constants = _record_with_facts_query(_shape(actor))._sql()
    assert constants is None
    places = [s for s in slots if s is not None]
    assert len(places) == len(slots)
    numbered = iter(range(1, 100))
    prepared = re.sub(r"%s", lambda _: f"${next(numbered)}", sql)
    assert actor.organisation is not None and actor.user is not None
    values = (resource.pk, "Condition", timezone.now(), actor.organisation.pk, actor.user.pk)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        types = ", ".join(_TYPES[s] for s in places)
        cursor.execute(f"PREPARE gate_probe ({types}) AS {prepared}")
        try:
            # EXECUTE takes no bound values: the test's own, written in.
            arguments = ", ".join(f"'{values[s]}'::{_TYPES[s]}" for s in places)
            cursor.execute(f"EXPLAIN EXECUTE gate_probe({arguments})")
            return "\n".join(line for (line,) in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE gate_probe")


@pytest.mark.postgres
def test_the_probe_is_one_index_look_up_with_a_caseload_of_hundreds(world: World) -> None:
    """A nurse who has seen 300 citizens before (each relationship closed) and
    a citizen seen by 30 others: the gate's statement reaches the nurse's
    relationship with the citizen through the index on (citizen,
    organisation, user), not by scanning her caseload, and joins no
    organisation for the acute function's rule."""
    nurse = world.nurse
    long_ago = timezone.now() - dt.timedelta(days=400)
    seen = Citizen.objects.bulk_create(
        Citizen(
            cpr=f"0202{40 + n % 50:02d}{n:04d}",
            given_name="Tidligere",
            family_name=f"Borger {n}",
            birth_date=dt.date(1940 + n % 50, 2, 2),
            sex="female",
            latitude=Decimal("55.750000"),
            longitude=Decimal("12.545000"),
            municipality=world.person.municipality,
        )
        for n in range(300)
    )
    CareRelationship.objects.bulk_create(
        CareRelationship(
            citizen=person,
            organisation=world.acute,
            user=nurse.user,
            basis=CareRelationship.Basis.VISIT,
            source_type="test.caseload",
            source_id=str(person.pk),
            started_at=long_ago,
            ended_at=long_ago + dt.timedelta(hours=1),
        )
        for person in seen
    )
    others = [f.staff(Role.ACUTE_NURSE, world.acute) for _ in range(30)]
    CareRelationship.objects.bulk_create(
        CareRelationship(
            citizen=world.person,
            organisation=world.acute,
            user=other.user,
            basis=CareRelationship.Basis.VISIT,
            source_type="test.others",
            source_id=str(other.pk),
            started_at=long_ago,
        )
        for other in others
    )
    with connection.cursor() as cursor:
        # The statistics a live database keeps (the table's owner gathers them).
        cursor.execute(
            "SELECT tvaerakut_test_as_owner(%s, false)", ["ANALYZE consent_carerelationship"]
        )

    plan = _generic_plan(Actor.for_membership(nurse), world.diagnosis)

    probe = plan[plan.index("consent_carerelationship") - 60 :]
    assert "care_rel_probe_idx" in probe, plan
    assert "user_id = $" in probe.split("Filter")[0], plan
    assert "core_organisation v" not in plan.lower(), plan
    assert _read(nurse, world.diagnosis) == 200
