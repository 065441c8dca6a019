"""Personas for the shared record: a Gentofte nurse with a visit, one without,
the citizen's GP, home nursing, a hospital department, and the rest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from acute.models import Referral
from consent.models import ConsentDirective, RecordResource
from consent.services import record_resource_create
from core.actors import Actor
from core.models import Citizen, Membership, Organisation, Role
from tests import factories as f
from tests.consent import bodies


@dataclass
class World:
    acute: Organisation
    gp: Organisation
    home: Organisation
    department: Organisation
    person: Citizen
    nurse: Membership  # has a visit for person
    other_nurse: Membership  # same function, no visit
    coordinator: Membership
    physician: Membership  # the citizen's own GP
    home_nurse: Membership
    hospital_physician: Membership
    auditor: Membership
    analyst: Membership
    administrator: Membership
    medicine_officer: Membership
    diagnosis: RecordResource

    def by_role(self) -> dict[str, Membership]:
        return {
            "acute_nurse": self.nurse,
            "coordinator": self.coordinator,
            "physician": self.physician,
            "home_nurse": self.home_nurse,
            "medicine_officer": self.medicine_officer,
            "auditor": self.auditor,
            "analyst": self.analyst,
            "administrator": self.administrator,
        }


@pytest.fixture
def world(db: Any) -> World:
    acute = f.acute_function()
    gp = f.gp_practice()
    home = f.home_nursing("157")
    department = f.hospital_department()
    person = f.citizen(gp=gp)
    nurse = f.staff(Role.ACUTE_NURSE, acute)
    f.open_visit(nurse, person)
    diagnosis = record_resource_create(
        actor=Actor.for_membership(nurse),
        data=bodies.diagnosis(person.pk),
        purpose="treatment",
    )
    return World(
        acute=acute,
        gp=gp,
        home=home,
        department=department,
        person=person,
        nurse=nurse,
        other_nurse=f.staff(Role.ACUTE_NURSE, acute),
        coordinator=f.staff(Role.COORDINATOR, acute),
        physician=f.staff(Role.PHYSICIAN, gp),
        home_nurse=f.staff(Role.HOME_NURSE, home),
        hospital_physician=f.staff(Role.PHYSICIAN, department),
        auditor=f.staff(Role.AUDITOR, acute),
        analyst=f.staff(Role.ANALYST, f.municipality("157")),
        administrator=f.staff(Role.ADMINISTRATOR, acute),
        medicine_officer=f.staff(Role.MEDICINE_OFFICER, acute),
        diagnosis=diagnosis,
    )


def post(client: Any, url: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(url, data=json.dumps(body), content_type=bodies.FHIR, **headers)


def put(client: Any, url: str, body: dict[str, Any], **headers: str) -> Any:
    """An update as a conformant client sends it: a body without an id gets
    the URL's (http.html#update); one with an id is sent as it is."""
    if "id" not in body:
        body = {**body, "id": url.rstrip("/").rpartition("/")[2]}
    return client.put(url, data=json.dumps(body), content_type=bodies.FHIR, **headers)


def issue_code(response: Any) -> str:
    return response.json()["issue"][0]["details"]["coding"][0]["code"]


def write_counts() -> tuple[int, int, int, int]:
    """How many record resources, citizens, consents and referrals are held:
    the same before and after a refused write."""
    return (
        RecordResource.objects.count(),
        Citizen.objects.count(),
        ConsentDirective.objects.count(),
        Referral.objects.count(),
    )
