"""Flags for auditors (R4, R9): break-the-glass, denied, off shift, many
citizens in an hour (threshold from settings), no agreement with the municipality."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from consent.audit.disclosures import audit_entries_for_citizen
from consent.audit.flags import register_shift_checker, unregister_shift_checker
from consent.audit.models import AuditFlag, Flag, FlagScanState, LogLeaf
from consent.audit.services import Action, Outcome, Purpose, audit_record
from core.actors import Actor
from core.models import Organisation, Role
from tests.consent.audit.conftest import flags_scan_placed
from tests.factories import (
    acute_function,
    citizen,
    home_nursing,
    municipal_unit,
    municipality,
    organisation,
    staff,
)

pytestmark = pytest.mark.django_db


def kinds(entry_id: int) -> set[str]:
    return set(AuditFlag.objects.filter(entry_id=entry_id).values_list("kind", flat=True))


@pytest.fixture
def nurse():
    return staff(Role.ACUTE_NURSE, acute_function())


def read(actor: Actor, citizen_id: int, **kw: object):
    return audit_record(
        actor=actor,
        action=kw.pop("action", Action.READ),
        purpose=kw.pop("purpose", Purpose.TREATMENT),
        citizen_id=citizen_id,
        **kw,
    )


def test_break_the_glass_and_denied_are_flagged_plain_reads_are_not(nurse) -> None:
    actor = Actor.for_membership(nurse)
    person = citizen()
    plain = read(actor, person.pk)
    glass = read(actor, person.pk, action=Action.BREAK_GLASS, purpose=Purpose.EMERGENCY)
    denied = read(actor, person.pk, outcome=Outcome.DENIED, reason_code="consent_refused")
    assert flags_scan_placed() == 2
    assert kinds(plain.id) == set()
    assert kinds(glass.id) == {Flag.BREAK_GLASS}
    assert kinds(denied.id) == {Flag.DENIED}
    # The scan remembers where it stopped: a second run raises nothing new.
    assert flags_scan_placed() == 0
    state = FlagScanState.objects.get()
    assert (state.log, state.position) == LogLeaf.objects.values_list("log", "position").get(
        entry_id=denied.id
    )


def test_access_outside_the_shift_is_flagged_when_a_checker_knows(nurse) -> None:
    actor = Actor.for_membership(nurse)
    person = citizen()
    off_user = nurse.user_id

    def checker(user_id: int, at: dt.datetime) -> bool | None:
        return False if user_id == off_user else None

    register_shift_checker(checker)
    try:
        entry = read(actor, person.pk)
        other = staff(Role.ACUTE_NURSE, acute_function())
        unknown = read(Actor.for_membership(other), person.pk)
        flags_scan_placed()
    finally:
        unregister_shift_checker(checker)
    assert kinds(entry.id) == {Flag.OFF_SHIFT}
    assert kinds(unknown.id) == set()  # unknown shift: no flag


def test_no_agreement_with_the_citizens_municipality_is_flagged() -> None:
    outside = municipality("999")
    team = acute_function()  # serves the four participating municipalities
    nurse = staff(Role.ACUTE_NURSE, team)
    home = staff(Role.HOME_NURSE, home_nursing("157"))
    gp_doctor = staff(Role.PHYSICIAN, Organisation.objects.create(kind="gp_practice", name="GP"))
    stranger = citizen(municipality_code="999")
    local = citizen(municipality_code="157")
    a = read(Actor.for_membership(nurse), stranger.pk)
    b = read(Actor.for_membership(nurse), local.pk)
    c = read(Actor.for_membership(home), stranger.pk)
    d = read(Actor.for_membership(home), local.pk)
    e = read(Actor.for_membership(gp_doctor), stranger.pk)  # agreements do not apply to GPs
    flags_scan_placed()
    assert outside.pk != local.municipality_id
    assert kinds(a.id) == {Flag.NO_AGREEMENT}
    assert kinds(b.id) == set()
    assert kinds(c.id) == {Flag.NO_AGREEMENT}
    assert kinds(d.id) == set()
    assert kinds(e.id) == set()


@pytest.mark.parametrize(
    "kind",
    [
        Organisation.Kind.MUNICIPAL_ASSESSMENT,
        Organisation.Kind.HOME_CARE,
        Organisation.Kind.REHABILITATION_UNIT,
    ],
)
def test_no_agreement_applies_to_a_municipalitys_units_not_to_a_hospitals(kind: str) -> None:
    unit = staff(Role.HOME_NURSE, municipal_unit(kind, "157"))
    hospital = organisation(Organisation.Kind.HOSPITAL)
    hospital_unit = staff(
        Role.HOME_NURSE, organisation(Organisation.Kind.REHABILITATION_UNIT, parent=hospital)
    )
    stranger = citizen(municipality_code="159")
    local = citizen(municipality_code="157")
    a = read(Actor.for_membership(unit), stranger.pk)
    b = read(Actor.for_membership(unit), local.pk)
    c = read(Actor.for_membership(hospital_unit), stranger.pk)
    flags_scan_placed()
    assert kinds(a.id) == {Flag.NO_AGREEMENT}
    assert kinds(b.id) == set()
    assert kinds(c.id) == set()


@pytest.mark.parametrize(("threshold", "flagged"), [(3, True), (4, False)])
def test_many_citizens_within_an_hour_uses_the_setting(
    nurse, threshold: int, flagged: bool
) -> None:
    actor = Actor.for_membership(nurse)
    people = [citizen() for _ in range(4)]
    entries = [read(actor, p.pk) for p in people]
    read(actor, people[0].pk)  # the same citizen again does not count twice
    with override_settings(AUDIT_MANY_CITIZENS_PER_HOUR=threshold):
        flags_scan_placed()
    many = AuditFlag.objects.filter(kind=Flag.MANY_CITIZENS)
    if flagged:
        assert [f.entry_id for f in many] == [entries[3].id]
        assert many.get().detail["citizens"] == 4
    else:
        assert not many.exists()


def test_many_citizens_counts_across_scans(nurse) -> None:
    actor = Actor.for_membership(nurse)
    people = [citizen() for _ in range(3)]
    with override_settings(AUDIT_MANY_CITIZENS_PER_HOUR=2):
        read(actor, people[0].pk)
        read(actor, people[1].pk)
        flags_scan_placed()
        third = read(actor, people[2].pk)
        flags_scan_placed()
    assert kinds(third.id) == {Flag.MANY_CITIZENS}


def test_citizens_view_lists_two_years_of_access_without_auditors(nurse) -> None:
    """R5: who, organisation, when, purpose, outcome — for one citizen only."""
    person, other = citizen(), citizen()
    actor = Actor.for_membership(nurse)
    first = read(actor, person.pk)
    read(actor, other.pk)
    denied = read(actor, person.pk, outcome=Outcome.DENIED, reason_code="no_care_relationship")
    auditor = staff(Role.AUDITOR, acute_function())
    read(Actor.for_membership(auditor), person.pk, action=Action.SEARCH, purpose=Purpose.AUDIT)
    flags_scan_placed()
    rows = audit_entries_for_citizen(citizen_id=person.pk)
    assert [r.entry_id for r in rows] == [denied.id, first.id]
    assert rows[0].organisation == nurse.organisation.name
    assert rows[0].who == nurse.user.display_name and rows[0].flags == [Flag.DENIED]
    assert rows[1].purpose == Purpose.TREATMENT and rows[1].outcome == Outcome.PERMITTED
    assert len(audit_entries_for_citizen(citizen_id=person.pk, include_audit=True)) == 3
    later = first.recorded_at + dt.timedelta(microseconds=1)
    assert [r.entry_id for r in audit_entries_for_citizen(citizen_id=person.pk, since=later)] == [
        denied.id
    ]
