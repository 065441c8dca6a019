"""A Reference names a resource of a type its element takes (FHIR R4
references.html): ``Condition.encounter`` an Encounter, ``Condition.asserter``
a practitioner, a patient or a relative. The shared record refused a wrong
``subject`` but stored any other reference as sent — and a transaction wrote
``Condition/<id>`` into ``Condition.encounter`` itself when an entry pointed
at another Condition's fullUrl. Each door of the record refuses it now:
create, update and transaction, whether the reference is relative,
absolute, versioned, to a contained resource or to another entry."""

from __future__ import annotations

import json

import pytest

from consent.models import RecordResource
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, put, world  # noqa: F401

pytestmark = pytest.mark.django_db

ENTRY = "urn:uuid:5d0f3b8e-2c1a-4f4e-9d3b-7a6e1c2b9f01"
ORGANISATION = {"resourceType": "Organization", "id": "o1", "name": "Lægehuset"}


@pytest.mark.parametrize(
    ("extra", "element"),
    [
        ({"encounter": {"reference": "Condition/{own}"}}, "Condition.encounter"),
        ({"encounter": {"reference": "Patient/{person}"}}, "Condition.encounter"),
        (
            {"encounter": {"reference": "http://testserver/fhir/CarePlan/1/_history/1"}},
            "Condition.encounter",
        ),
        ({"asserter": {"reference": "Condition/{own}"}}, "Condition.asserter"),
        (
            {"contained": [ORGANISATION], "encounter": {"reference": "#o1"}},
            "Condition.encounter",
        ),
    ],
    ids=["another-condition", "a-patient", "absolute-versioned", "asserter", "contained"],
)
def test_a_reference_to_a_type_its_element_does_not_take_is_refused(
    world: World,  # noqa: F811
    extra: dict,
    element: str,
) -> None:
    filled = json.loads(
        json.dumps(extra)
        .replace("{own}", str(world.diagnosis.pk))
        .replace("{person}", str(world.person.pk))
    )
    client = f.client_for(world.nurse)
    kept = RecordResource.objects.count()
    created = post(client, "/fhir/Condition", bodies.diagnosis(world.person.pk, **filled))
    assert created.status_code == 400, created.content[:300]
    assert issue_code(created) == "record.reference_invalid"
    assert created.json()["issue"][0]["expression"] == [element]
    assert RecordResource.objects.count() == kept

    updated = put(
        client,
        f"/fhir/Condition/{world.diagnosis.pk}",
        bodies.diagnosis(world.person.pk, **filled),
        HTTP_IF_MATCH='W/"1"',
    )
    assert updated.status_code == 400, updated.content[:300]
    assert issue_code(updated) == "record.reference_invalid"
    world.diagnosis.refresh_from_db()
    assert world.diagnosis.version_id == 1


def test_a_reference_to_a_type_its_element_takes_is_stored(world: World) -> None:  # noqa: F811
    contact = post(
        f.client_for(world.nurse),
        "/fhir/Encounter",
        bodies.hospital_contact(world.person.pk, world.department.pk),
    )
    assert contact.status_code == 201
    encounter = f"Encounter/{contact.json()['id']}"
    created = post(
        f.client_for(world.nurse),
        "/fhir/Condition",
        bodies.diagnosis(
            world.person.pk,
            encounter={"reference": encounter},
            contained=[{"resourceType": "Practitioner", "id": "p1", "name": [{"text": "Læge"}]}],
            asserter={"reference": "#p1"},
        ),
    )
    assert created.status_code == 201, created.content[:300]
    assert created.json()["encounter"] == {"reference": encounter}


def _transaction(world: World, target: dict) -> dict:  # noqa: F811
    pointing = bodies.diagnosis(world.person.pk, encounter={"reference": ENTRY})
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": ENTRY,
                "resource": target,
                "request": {"method": "POST", "url": target["resourceType"]},
            },
            {"resource": pointing, "request": {"method": "POST", "url": "Condition"}},
        ],
    }


def test_a_transaction_entry_pointing_at_an_entry_of_another_type_is_refused_whole(
    world: World,  # noqa: F811
) -> None:
    kept = RecordResource.objects.count()
    response = post(
        f.client_for(world.nurse),
        "/fhir/",
        _transaction(world, bodies.diagnosis(world.person.pk, code="I11")),
    )
    assert response.status_code == 400, response.content[:300]
    assert issue_code(response) == "record.reference_invalid"
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[1].resource.encounter"]
    assert RecordResource.objects.count() == kept


def test_a_transaction_entry_pointing_at_an_encounter_entry_gets_its_new_id(
    world: World,  # noqa: F811
) -> None:
    contact = bodies.hospital_contact(world.person.pk, world.department.pk)
    response = post(f.client_for(world.nurse), "/fhir/", _transaction(world, contact))
    assert response.status_code == 200, response.content[:300]
    encounter, condition = (e["response"]["location"] for e in response.json()["entry"])
    stored = RecordResource.objects.get(pk=condition.split("/")[1])
    assert stored.body["encounter"] == {"reference": encounter.rsplit("/_history", 1)[0]}
