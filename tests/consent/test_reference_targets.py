"""A Reference names a resource of a type its element takes (FHIR R4
references.html): ``Condition.encounter`` an Encounter, ``Condition.asserter``
a practitioner, a patient or a relative. The shared record refused a wrong
``subject`` but stored any other reference as sent — and a transaction wrote
``Condition/<id>`` into ``Condition.encounter`` itself when an entry pointed
at another Condition's fullUrl. Each door of the record refuses it now:
create, update and transaction, whether the reference is relative,
absolute, versioned, to a contained resource or to another entry. So do a
referral's ServiceRequest, a Consent and a Patient, through the same check;
and a relative reference to something the platform does not hold (or holds
on another citizen's record, answered alike) is refused on each, recorded
on the citizen the write names (R9), nothing stored."""

from __future__ import annotations

import json

import pytest

from acute.models import Referral
from consent.audit.models import AuditEntry
from consent.models import ConsentDirective, RecordResource
from core.models import Citizen
from tests import factories as f
from tests.acute.test_api import service_request
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


# --- every writer, and a target the platform does not hold --------------------


def _newest() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _denied_since(before: int) -> list[tuple]:
    return [
        (e.citizen_id, e.outcome, e.reason_code)
        for e in AuditEntry.objects.filter(id__gt=before).order_by("id")
    ]


def _contact_of_another(world: World) -> str:  # noqa: F811
    other = f.citizen()
    f.open_visit(world.nurse, other)
    contact = post(
        f.client_for(world.nurse),
        "/fhir/Encounter",
        bodies.hospital_contact(other.pk, world.department.pk),
    )
    assert contact.status_code == 201, contact.content[:300]
    return f"Encounter/{contact.json()['id']}"


def test_r9_a_record_reference_to_nothing_held_is_refused_and_recorded(
    world: World,  # noqa: F811
) -> None:
    client = f.client_for(world.nurse)
    targets = ("Encounter/424242", _contact_of_another(world), "Practitioner/987654")
    kept = RecordResource.objects.count()
    answers = []
    for target in targets:
        before = _newest()
        created = post(
            client,
            "/fhir/Condition",
            bodies.diagnosis(world.person.pk, encounter={"reference": target})
            if target.startswith("Encounter")
            else bodies.diagnosis(world.person.pk, asserter={"reference": target}),
        )
        assert created.status_code == 400, created.content[:300]
        assert issue_code(created) == "fhir.reference_unknown"
        assert _denied_since(before) == [(world.person.pk, "denied", "fhir.reference_unknown")]
        answers.append(created.json()["issue"][0]["details"])
        updated = put(
            client,
            f"/fhir/Condition/{world.diagnosis.pk}",
            bodies.diagnosis(world.person.pk, encounter={"reference": target}),
            HTTP_IF_MATCH='W/"1"',
        )
        assert updated.status_code == 400, updated.content[:300]
    # Another citizen's contact is answered as one that does not exist.
    assert answers[0] == answers[1]
    assert RecordResource.objects.count() == kept
    world.diagnosis.refresh_from_db()
    assert world.diagnosis.version_id == 1


def test_a_transaction_entry_naming_nothing_held_is_refused_whole(world: World) -> None:  # noqa: F811
    kept = RecordResource.objects.count()
    bundle = _transaction(world, bodies.hospital_contact(world.person.pk, world.department.pk))
    bundle["entry"][1]["resource"]["asserter"] = {"reference": "Practitioner/987654"}
    before = _newest()
    response = post(f.client_for(world.nurse), "/fhir/", bundle)
    assert response.status_code == 400, response.content[:300]
    assert issue_code(response) == "fhir.reference_unknown"
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[1].resource.asserter"]
    assert RecordResource.objects.count() == kept
    assert (world.person.pk, "denied", "fhir.reference_unknown") in _denied_since(before)


def test_r9_a_consent_reference_of_a_wrong_type_or_to_nothing_held_is_refused(
    world: World,  # noqa: F811
) -> None:
    client = f.client_for(world.nurse)
    kept = ConsentDirective.objects.count()
    for extra, code, element in [
        (
            {"organization": [{"reference": "Condition/1"}]},
            "record.reference_invalid",
            "organization",
        ),
        (
            {"performer": [{"reference": "Organization/987654"}]},
            "fhir.reference_unknown",
            "performer",
        ),
    ]:
        before = _newest()
        response = post(client, "/fhir/Consent", {**bodies.refusal(world.person.pk), **extra})
        assert response.status_code == 400, response.content[:300]
        assert issue_code(response) == code
        assert response.json()["issue"][0]["expression"] == [f"Consent.{element}[0]"]
        assert _denied_since(before) == [(world.person.pk, "denied", code)]
    assert ConsentDirective.objects.count() == kept


def test_r9_a_patient_reference_of_a_wrong_type_or_to_nothing_held_is_refused(
    world: World,  # noqa: F811
) -> None:
    client = f.client_for(world.coordinator)
    kept = Citizen.objects.count()
    for extra, code in [
        ({"managingOrganization": {"reference": "Condition/1"}}, "record.reference_invalid"),
        ({"managingOrganization": {"reference": "Organization/987654"}}, "fhir.reference_unknown"),
    ]:
        before = _newest()
        response = post(client, "/fhir/Patient", bodies.patient(f.cpr_number(), **extra))
        assert response.status_code == 400, response.content[:300]
        assert issue_code(response) == code
        assert response.json()["issue"][0]["expression"] == ["Patient.managingOrganization"]
        assert _denied_since(before) == [(None, "denied", code)]
    assert Citizen.objects.count() == kept


@pytest.mark.parametrize(
    ("target", "code"),
    [("Condition/1", "record.reference_invalid"), ("Encounter/424242", "fhir.reference_unknown")],
)
def test_r9_a_referral_reference_of_a_wrong_type_or_to_nothing_held_is_refused(
    world: World,  # noqa: F811
    target: str,
    code: str,
) -> None:
    kept = Referral.objects.count()
    before = _newest()
    response = f.client_for(world.hospital_physician).post(
        "/fhir/ServiceRequest",
        json.dumps(service_request(world.person.cpr, encounter={"reference": target})),
        content_type="application/fhir+json",
    )
    assert response.status_code == 400, response.content[:300]
    assert issue_code(response) == code
    assert response.json()["issue"][0]["expression"] == ["ServiceRequest.encounter"]
    assert Referral.objects.count() == kept
    assert _denied_since(before) == [(world.person.pk, "denied", code)]


# --- a target the writer may not read, and this server's own base ---------------

# A refusal of the data of February and March hides the record's resources
# dated inside it from the nurse (R4); the write naming one must not tell her
# it exists.
FEBRUARY_MARCH = {"start": "2025-02-01", "end": "2025-03-31"}


def _contact(world: World, start: str) -> str:  # noqa: F811
    contact = post(
        f.client_for(world.nurse),
        "/fhir/Encounter",
        bodies.hospital_contact(world.person.pk, world.department.pk, start=start),
    )
    assert contact.status_code == 201, contact.content[:300]
    return f"Encounter/{contact.json()['id']}"


def test_r4_a_reference_to_what_the_writer_may_not_read_is_as_if_not_held(
    world: World,  # noqa: F811
) -> None:
    hidden = _contact(world, "2025-03-01")
    shown = _contact(world, "2025-06-01")
    refused = post(
        f.client_for(world.nurse),
        "/fhir/Consent",
        bodies.refusal(world.person.pk, data_period=FEBRUARY_MARCH),
    )
    assert refused.status_code == 201, refused.content[:300]
    client = f.client_for(world.nurse)
    assert client.get(f"/fhir/{hidden}").status_code == 404
    kept = RecordResource.objects.count()
    answers = []
    for target in (hidden, "Encounter/424242"):
        before = _newest()
        created = post(
            client,
            "/fhir/Condition",
            bodies.diagnosis(world.person.pk, encounter={"reference": target}),
        )
        assert created.status_code == 400, created.content[:300]
        assert issue_code(created) == "fhir.reference_unknown"
        # Recorded once, as refused; nothing of the target disclosed.
        assert _denied_since(before) == [(world.person.pk, "denied", "fhir.reference_unknown")]
        answers.append(created.json()["issue"])
    assert answers[0] == answers[1]
    assert RecordResource.objects.count() == kept
    bundle = _transaction(world, bodies.nursing_problem(world.person.pk))
    bundle["entry"][1]["resource"]["encounter"] = {"reference": hidden}
    response = post(client, "/fhir/", bundle)
    assert response.status_code == 400, response.content[:300]
    assert issue_code(response) == "fhir.reference_unknown"
    assert RecordResource.objects.count() == kept
    # What she may read she may name.
    allowed = post(
        client, "/fhir/Condition", bodies.diagnosis(world.person.pk, encounter={"reference": shown})
    )
    assert allowed.status_code == 201, allowed.content[:300]


@pytest.mark.parametrize(
    "base", ["http://testserver/fhir/", "http://127.0.0.1/fhir/", "http://localhost:8000/fhir/"]
)
def test_an_absolute_reference_on_this_servers_base_is_checked_as_a_local_one(
    world: World,  # noqa: F811
    base: str,
) -> None:
    client = f.client_for(world.nurse)
    targets = ("Encounter/424242", _contact_of_another(world))
    kept = RecordResource.objects.count()
    for target in targets:
        before = _newest()
        created = post(
            client,
            "/fhir/Condition",
            bodies.diagnosis(world.person.pk, encounter={"reference": base + target}),
        )
        assert created.status_code == 400, created.content[:300]
        assert issue_code(created) == "fhir.reference_unknown"
        assert _denied_since(before) == [(world.person.pk, "denied", "fhir.reference_unknown")]
    assert RecordResource.objects.count() == kept
    own = _contact(world, "2025-06-01")
    stored = post(
        client,
        "/fhir/Condition",
        bodies.diagnosis(world.person.pk, encounter={"reference": base + own}),
    )
    assert stored.status_code == 201, stored.content[:300]


def test_an_absolute_reference_to_another_server_keeps_its_handling(
    world: World,  # noqa: F811
) -> None:
    created = post(
        f.client_for(world.nurse),
        "/fhir/Condition",
        bodies.diagnosis(
            world.person.pk,
            encounter={"reference": "https://hospital.example/fhir/Encounter/424242"},
        ),
    )
    assert created.status_code == 201, created.content[:300]
