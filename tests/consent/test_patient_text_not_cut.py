"""A citizen's name, address and phone are kept as sent or refused, never cut
to fit: a Patient written over FHIR (create and update) and the Patient of a
partner's message, read the same way."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from consent.audit.models import AuditEntry
from core.models import Citizen
from integrations.messages import InvalidMessage
from integrations.patients import citizen_find_or_register
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, put
from tests.integrations.helpers import new_citizen_patient

TOO_LONG: list[tuple[str, Any, str]] = [
    ("family", lambda p: p["name"][0].update(family="F" * 121), "name.family"),
    ("given", lambda p: p["name"][0].update(given=["G" * 100, "H" * 30]), "name.given"),
    ("line", lambda p: p["address"][0].update(line=["L" * 201]), "address.line"),
    ("city", lambda p: p["address"][0].update(city="C" * 101), "address.city"),
    (
        "phone",
        lambda p: p.update(telecom=[{"system": "phone", "value": "+45" + "1" * 30}]),
        "telecom",
    ),
]


@pytest.mark.parametrize(("_what", "mutate", "element"), TOO_LONG)
def test_a_patient_create_longer_than_kept_is_refused_not_cut(
    world: World, _what: str, mutate: Any, element: str
) -> None:
    body = bodies.patient(f.cpr_number())
    mutate(body)
    citizens = Citizen.objects.count()

    response = post(f.client_for(world.coordinator), "/fhir/Patient", body)

    assert response.status_code == 400, response.content
    assert issue_code(response) == "patient.text_too_long"
    assert response.json()["issue"][0]["expression"] == [element]
    assert "intet er gemt" in response.json()["issue"][0]["details"]["text"]
    assert Citizen.objects.count() == citizens
    # R9: the refused registration is on the log, with its reason.
    assert AuditEntry.objects.filter(outcome="denied", reason_code="patient.text_too_long").exists()


def test_a_patient_at_the_columns_length_is_kept_whole(world: World) -> None:
    body = bodies.patient(f.cpr_number(), line="L" * 200)
    body["name"][0].update(family="F" * 120, given=["G" * 120])

    response = post(f.client_for(world.coordinator), "/fhir/Patient", body)

    assert response.status_code == 201, response.content
    citizen = Citizen.objects.get(pk=response.json()["id"])
    assert (citizen.family_name, citizen.given_name) == ("F" * 120, "G" * 120)
    assert citizen.address_line == "L" * 200


def test_a_patient_update_longer_than_kept_is_refused_and_the_citizen_unchanged(
    world: World,
) -> None:
    person = world.person
    body = bodies.patient(person.cpr, gp_id=world.gp.pk)
    body["name"][0].update(family="F" * 121)
    url = f"/fhir/Patient/{person.pk}"

    response = put(f.client_for(world.nurse), url, body, HTTP_IF_MATCH='W/"1"')

    assert response.status_code == 400, response.content
    assert issue_code(response) == "patient.text_too_long"
    family = person.family_name
    person.refresh_from_db()
    assert person.family_name == family


@pytest.mark.parametrize(("_what", "mutate", "element"), TOO_LONG)
def test_a_messages_patient_longer_than_kept_is_refused_naming_the_element(
    _what: str, mutate: Any, element: str, db: Any
) -> None:
    cpr, patient = new_citizen_patient()
    patient = copy.deepcopy(patient)
    mutate(patient)

    with pytest.raises(InvalidMessage) as refused:
        citizen_find_or_register(patient)

    assert (refused.value.code, refused.value.field) == (
        "patient.text_too_long",
        f"Patient.{element}",
    )
    assert not Citizen.objects.filter(cpr=cpr).exists()


def test_a_messages_patient_keeps_every_line_of_the_address(db: Any) -> None:
    """As the FHIR door keeps them: the second line is the door rung at."""
    _cpr, patient = new_citizen_patient()
    patient = copy.deepcopy(patient)
    address: Any = patient["address"]
    address[0]["line"] = ["Bernstorffsvej 20", "2. tv."]

    citizen = citizen_find_or_register(patient)

    assert citizen.address_line == "Bernstorffsvej 20 2. tv."


def test_the_coordinators_registration_form_tells_it_on_the_field_typed(db: Any) -> None:
    """The phone referral's registration builds the same Patient: refused, not
    cut, and told on the form's own field by its label."""
    from tests.acute.test_pages import PHONE_REFERRAL
    from tests.acute.test_pages_phone_lookup import NEW, REGISTRATION, _coordinator

    client = _coordinator()
    cpr = f.cpr_number()

    response = client.post(
        NEW, {**PHONE_REFERRAL, "cpr": cpr, **REGISTRATION, "family_name": "F" * 121}
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="err-family-name"' in html
    assert "Efternavn må højst have 120 tegn" in html
    assert not Citizen.objects.filter(cpr=cpr).exists()
