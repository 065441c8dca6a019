"""The shared record on the nurse's visit page reads in words (R2): each line
under the data category it is shared in, a diagnosis by its name with its
ICD-10 code, the municipal help by its kind, a hospital contact by its
department — never a bare code or only the resource's kind."""

from __future__ import annotations

import re

import pytest

from consent.services import record_resource_create
from core.actors import Actor
from tests import factories as f
from tests.acute.test_pages import _assigned, _login, _walk_to_site
from tests.consent import bodies

pytestmark = pytest.mark.django_db


def _record_section(html: str) -> str:
    match = re.search(
        r'<section class="card" aria-labelledby="record-title">(.*?)</section>', html, re.S
    )
    assert match, "the visit page has no shared record"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1)))


def test_the_shared_record_names_the_help_the_department_and_the_diagnosis():
    nurse, _shift, visit = _assigned()
    department = f.organisation(
        "hospital_department",
        name="Medicinsk afdeling, Herlev Hospital",
        parent=f.hospital_department().parent,
    )
    writer = Actor.for_membership(nurse)
    citizen_id = visit.citizen_id
    named = bodies.diagnosis(citizen_id, code="I50.9")
    named["code"]["coding"][0]["display"] = "Hjertesvigt, uspecificeret"
    for body in (
        named,
        bodies.diagnosis(citizen_id, code="E11.9"),
        bodies.municipal_help(citizen_id, service="personal-care"),
        bodies.hospital_contact(citizen_id, department.pk),
    ):
        record_resource_create(actor=writer, data=body, purpose="treatment")
    client = _login(nurse)
    _walk_to_site(client, visit)

    page = client.get(f"/nurse/visits/{visit.pk}/")

    assert page.status_code == 200
    record = _record_section(page.content.decode())
    assert "Somatisk diagnose" in record
    assert "Hjertesvigt, uspecificeret ICD-10 I50.9" in record
    assert "ICD-10 E11.9" in record
    assert "Kommunal hjælp" in record and "Personlig pleje" in record
    assert "Kontakt med en hospitalsafdeling" in record
    assert "Medicinsk afdeling, Herlev Hospital" in record
    # Not the resource's kind in place of what it holds, nor the service's code.
    assert "personal-care" not in record
    assert "Forløb" not in record and "Besøg" not in record


def test_a_pulse_reads_as_typed_not_with_the_columns_decimal():
    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    _walk_to_site(client, visit)
    saved = client.post(
        f"/nurse/visits/{visit.pk}/vitals/", {"vital_8867-4": "88", "vital_8310-5": "38,5"}
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]

    html = re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", " ", client.get(saved["Location"]).content.decode())
    )

    assert "Puls 88 /min" in html
    assert "Temperatur 38,5 °C" in html
    assert "88,0" not in html
