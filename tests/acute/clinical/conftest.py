"""Personas for the visit's clinical work: a Gentofte citizen referred by her GP,
the acute nurse on site, the GP who holds treatment responsibility, a
coordinator of the acute function. Built through ``acute``'s own services, so
the nurse's care relationship (R1) is the real one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from acute.models import Referral, Visit
from acute.services import (
    referral_accept,
    referral_create,
    visit_accept,
    visit_arrive,
    visit_assign,
    visit_set_off,
)
from core.actors import Actor
from core.models import Citizen, Membership, Organisation, Role
from tests import factories


@dataclass
class Scene:
    citizen: Citizen
    gp: Organisation
    physician: Membership
    nurse: Membership
    coordinator: Membership
    referral: Referral
    visit: Visit


def physician_of(org: Organisation, *, first: str, last: str, authorisation_id: str) -> Membership:
    membership = factories.staff(Role.PHYSICIAN, org)
    user = membership.user
    user.first_name, user.last_name, user.authorisation_id = first, last, authorisation_id
    user.save(update_fields=["first_name", "last_name", "authorisation_id"])
    return membership


def visit_scene(
    *,
    source: str = Referral.Source.GP,
    on_site: bool = True,
    born: dt.date = dt.date(1941, 3, 2),
    female: bool = True,
) -> Scene:
    gp = factories.gp_practice()
    physician = physician_of(gp, first="Hanne", last="Hansen", authorisation_id="0A1B2")
    person = factories.citizen(gp=gp, born=born, female=female)
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    actor = Actor.for_membership(coordinator)
    referral = referral_create(
        citizen=person,
        source=source,
        channel=Referral.Channel.PHONE,
        referrer_name="Hanne Hansen",
        referrer_phone="+4539000000",
        reason="Feber og konfusion",
        clinical_picture="Temp 39, nyopstået forvirring",
        requested_actions="Vurdering, CRP, væsketal",
        urgency="within_2_hours",
        responsible_physician_name="Hanne Hansen",
        responsible_physician_phone="+4539000000",
        responsible_physician_organisation=gp,
        source_organisation=gp if source == Referral.Source.GP else None,
        actor=actor,
    )
    referral = referral_accept(referral=referral, actor=actor)
    nurse, shift = factories.acute_nurse_on_shift()
    visit = visit_assign(referral=referral, shift=shift, actor=actor)
    if on_site:
        nurse_actor = Actor.for_membership(nurse)
        visit = visit_accept(visit=visit, actor=nurse_actor)
        visit = visit_set_off(visit=visit, actor=nurse_actor)
        visit = visit_arrive(visit=visit, actor=nurse_actor)
    return Scene(person, gp, physician, nurse, coordinator, referral, visit)


@pytest.fixture
def scene(db: None) -> Scene:
    return visit_scene()


PHONE_ORDER = {
    "medicine_atc": "J01CA08",
    "medicine_name": "Pivmecillinam 400 mg tablet",
    "dose": "400",
    "dose_unit": "mg",
    "route": "oral",
    "frequency": "3 times daily",
    "duration": "3 days",
    "indication": "Cystitis",
    # No ordered_at: given as it is recorded (an order's days run from it, R8,
    # and it cannot lie before the visit).
    "ordered_by_name": "Hanne Hansen",
    "ordered_by_role": "General practitioner",
    "ordered_by_organisation": "Lægehuset",
    "ordered_by_authorisation_id": "0A1B2",
    "read_back": True,
    "read_back_confirmed": True,
}
