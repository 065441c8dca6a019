"""R2 on what rides along with permitted data: a hospital contact is counted
per department, so its class is a kind of contact and no display, identifier
or element id beside the department, period and class carries a reason; a
care plan says what is done, not which medicine is given; and a nursing
problem that says it is a diagnosis is one, judged as a diagnosis. Refused
at every door that writes (POST, PUT, transaction), audited, nothing written."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from consent.audit.models import AuditEntry
from consent.models import RecordResource, RecordVersion
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, post, put

CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"


def _refused(response: Any, code: str, expression: str) -> None:
    assert response.status_code == 400, response.content
    issue = response.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == code, issue
    assert [c["code"] for c in issue["details"]["coding"][1:]] == ["R2"], issue
    # In Danish (no Accept-Language): the reader sees the rule in her language.
    assert "R2 (kun tilladte data): " in issue["diagnostics"], issue
    assert issue["expression"] == [expression], issue


def _contact(world: World) -> dict[str, Any]:
    return bodies.hospital_contact(world.person.pk, world.department.pk)


def _with(body: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


CONTACT_DETAILS = [
    # A reason in the department's display, the class's display or an element id.
    (
        ("serviceProvider", "display"),
        "Psykiatrisk afsnit, indlagt pga. psykose",
        "serviceProvider.display",
    ),
    (
        ("serviceProvider", "identifier"),
        {"system": "urn:example:afsnit", "value": "psyk-3"},
        "serviceProvider.identifier",
    ),
    (("class", "display"), "Akut psykiatrisk kontakt", "class.display"),
    (("period", "id"), "indlagt-for-depression", "period.id"),
]


@pytest.mark.parametrize(("path", "value", "element"), CONTACT_DETAILS)
def test_r2_a_hospital_contact_carries_no_text_beside_department_period_class(
    world: World, path: tuple[str, ...], value: Any, element: str
) -> None:
    client = f.client_for(world.nurse)
    before = RecordResource.objects.count()
    response = post(client, "/fhir/Encounter", _with(_contact(world), path, value))
    _refused(response, "record.contact_detail_not_permitted", f"Encounter.{element}")
    assert f"ikke {element}." in response.json()["issue"][0]["diagnostics"]
    assert RecordResource.objects.count() == before
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk, outcome="denied").latest("id")
    assert (entry.action, entry.reason_code) == ("create", "record.contact_detail_not_permitted")


def test_r2_a_contact_class_is_a_kind_of_contact(world: World) -> None:
    """A code of HL7's ActCode system that is no kind of encounter (a
    procedure's code, a made-up one) is not counted as a contact."""
    client = f.client_for(world.nurse)
    for code in ("PSYCH", "F32", ""):
        response = post(client, "/fhir/Encounter", _with(_contact(world), ("class", "code"), code))
        if code == "":
            # Not FHIR at all: the model refuses it first.
            assert response.status_code == 400, response.content
            continue
        _refused(response, "record.contact_detail_not_permitted", "Encounter.class.code")
        assert "AMB, EMER" in response.json()["issue"][0]["diagnostics"]


def test_r2_a_contact_as_hospitals_send_it_is_still_counted(world: World) -> None:
    """HL7's own display beside the class (any case) and a typed reference to
    the department are what a hospital system sends: taken."""
    client = f.client_for(world.nurse)
    body = _with(_contact(world), ("class", "display"), "Inpatient Encounter")
    body["class"]["code"] = "IMP"
    body["serviceProvider"]["type"] = "Organization"
    body["period"]["end"] = "2025-06-03"
    response = post(client, "/fhir/Encounter", body)
    assert response.status_code == 201, response.content
    read = client.get(f"/fhir/Encounter/{response.json()['id']}").json()
    assert read["class"]["display"] == "Inpatient Encounter"


@pytest.mark.parametrize(
    ("element", "value"),
    [
        (
            "productCodeableConcept",
            {"coding": [{"system": "http://www.whocc.no/atc", "code": "N05AH04"}]},
        ),
        ("productReference", {"reference": "Medication/7"}),
        ("dailyAmount", {"value": 2, "unit": "tabletter"}),
        ("quantity", {"value": 100, "unit": "tabletter"}),
    ],
)
def test_r2_a_care_plan_names_no_medicine(world: World, element: str, value: Any) -> None:
    """An antipsychotic in a plan's activity tells what the refused diagnosis
    would; medication is not among the permitted categories at all."""
    client = f.client_for(world.nurse)
    plan = bodies.care_plan(world.person.pk)
    plan["activity"] = [
        {"detail": {"status": "in-progress", "description": "Morgenmedicin"}},
        {"detail": {"kind": "MedicationRequest", "status": "in-progress", element: value}},
    ]
    before = RecordResource.objects.count()
    response = post(client, "/fhir/CarePlan", plan)
    _refused(response, "record.medication_not_permitted", f"CarePlan.activity[1].detail.{element}")
    assert RecordResource.objects.count() == before


def test_r2_a_care_plan_with_its_activities_is_still_taken(world: World) -> None:
    client = f.client_for(world.nurse)
    plan = bodies.care_plan(world.person.pk)
    plan["activity"] = [
        {"detail": {"status": "in-progress", "description": "Sårskift hver 3. dag"}},
    ]
    assert post(client, "/fhir/CarePlan", plan).status_code == 201


def test_r2_a_nursing_problem_that_says_it_is_a_diagnosis_is_judged_as_one(
    world: World,
) -> None:
    """Tagged nursing-problem, a Condition of category encounter-diagnosis
    coded in SNOMED CT (depressive disorder) would escape the judging every
    diagnosis gets: refused, naming where it says so."""
    client = f.client_for(world.nurse)
    problem = bodies.nursing_problem(world.person.pk)
    problem["category"] = [
        {"coding": [{"system": CONDITION_CATEGORY, "code": "problem-list-item"}]},
        {"coding": [{"system": CONDITION_CATEGORY, "code": "encounter-diagnosis"}]},
    ]
    problem["code"] = {"coding": [{"system": "http://snomed.info/sct", "code": "35489007"}]}
    before = RecordResource.objects.count()
    response = post(client, "/fhir/Condition", problem)
    _refused(response, "record.nursing_problem_is_diagnosis", "Condition.category[1].coding[0]")
    assert "somatic-diagnosis" in response.json()["issue"][0]["diagnostics"]
    assert RecordResource.objects.count() == before
    # On the problem list, it is a nursing problem as before.
    problem["category"] = problem["category"][:1]
    problem["code"] = {"text": "Nedsat mobilitet"}
    assert post(client, "/fhir/Condition", problem).status_code == 201


def test_r2_what_rides_along_is_refused_on_update_and_in_a_transaction(world: World) -> None:
    client = f.client_for(world.nurse)
    created = post(client, "/fhir/Encounter", _contact(world))
    assert created.status_code == 201, created.content
    rid = created.json()["id"]
    changed = _with(created.json(), ("serviceProvider", "display"), "Psykiatrisk afsnit")
    response = put(client, f"/fhir/Encounter/{rid}", changed, HTTP_IF_MATCH='W/"1"')
    _refused(response, "record.contact_detail_not_permitted", "Encounter.serviceProvider.display")
    assert RecordVersion.objects.filter(resource_id=int(rid)).count() == 1
    assert "display" not in client.get(f"/fhir/Encounter/{rid}").json()["serviceProvider"]

    problem = post(client, "/fhir/Condition", bodies.nursing_problem(world.person.pk)).json()
    as_diagnosis = copy.deepcopy(problem)
    as_diagnosis["category"] = [
        {"coding": [{"system": CONDITION_CATEGORY, "code": "encounter-diagnosis"}]}
    ]
    response = put(client, f"/fhir/Condition/{problem['id']}", as_diagnosis, HTTP_IF_MATCH='W/"1"')
    _refused(response, "record.nursing_problem_is_diagnosis", "Condition.category[0].coding[0]")

    before = RecordResource.objects.count()
    plan = bodies.care_plan(world.person.pk)
    plan["activity"] = [
        {
            "detail": {
                "status": "in-progress",
                "productCodeableConcept": {"text": "Olanzapin 10 mg"},
            }
        }
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": _contact(world), "request": {"method": "POST", "url": "Encounter"}},
            {"resource": plan, "request": {"method": "POST", "url": "CarePlan"}},
        ],
    }
    response = post(client, "/fhir/", bundle)
    assert response.status_code == 400, response.content
    issue = response.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "record.medication_not_permitted"
    assert issue["expression"] == [
        "Bundle.entry[1].resource.activity[0].detail.productCodeableConcept"
    ]
    assert RecordResource.objects.count() == before
