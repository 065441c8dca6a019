"""FHIR R4's required bindings on every FHIR write (terminologies.html#required).

A ``code`` element takes only the codes of its value set: ``Patient.gender``
"xx", ``Encounter.status`` "xx" or ``Consent.status`` "xx" is no FHIR. The
models list those codes but take any text, so each such body was stored and
shown, shared and passed on as it came. Now every door that writes FHIR
(the shared record's create, update and transaction, Patient, Consent,
ServiceRequest) refuses it with ``fhir.code_outside_value_set`` naming the
element and its codes, writes nothing and records the attempt (R9).
"""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from consent.audit.models import AuditEntry
from tests import factories as f
from tests.acute.test_api import service_request
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, put, world, write_counts  # noqa: F401

pytestmark = pytest.mark.django_db

CODE = "fhir.code_outside_value_set"


def _writes_with_a_code_outside(
    world: World,  # noqa: F811
) -> list[tuple[str, str, str, dict[str, Any], str, str]]:
    """(who, method, path, body, the element refused, one of its codes)."""
    pid = world.person.pk
    contact = bodies.hospital_contact(pid, world.department.pk)
    diagnosis = bodies.diagnosis(pid)
    requester = service_request(world.person.cpr)["requester"]
    callback = requester["extension"][0]
    return [
        (
            "coordinator",
            "POST",
            "/fhir/Patient",
            {**bodies.patient(f.cpr_number()), "gender": "xx"},
            "Patient.gender",
            "female",
        ),
        (
            "nurse",
            "POST",
            "/fhir/Encounter",
            {**contact, "status": "xx"},
            "Encounter.status",
            "in-progress",
        ),
        (
            "nurse",
            "POST",
            "/fhir/Condition",
            {**diagnosis, "text": {"status": "xx", "div": "<div>x</div>"}},
            "Condition.text.status",
            "generated",
        ),
        (
            "nurse",
            "PUT",
            f"/fhir/Condition/{world.diagnosis.pk}",
            {**diagnosis, "text": {"status": "xx", "div": "<div>x</div>"}},
            "Condition.text.status",
            "generated",
        ),
        (
            "nurse",
            "POST",
            "/fhir/Consent",
            {**bodies.refusal(pid, organisations=[world.home.pk]), "status": "xx"},
            "Consent.status",
            "active",
        ),
        (
            "physician",
            "POST",
            "/fhir/ServiceRequest",
            {**service_request(world.person.cpr), "priority": "xx"},
            "ServiceRequest.priority",
            "asap",
        ),
        (
            "physician",
            "POST",
            "/fhir/ServiceRequest",
            {
                **service_request(world.person.cpr),
                "requester": {
                    **requester,
                    "extension": [
                        {
                            **callback,
                            "valueContactPoint": {"system": "telephone", "value": "+4538680000"},
                        }
                    ],
                },
            },
            "ServiceRequest.requester.extension[0].valueContactPoint.system",
            "phone",
        ),
        (
            "nurse",
            "POST",
            "/fhir/",
            bodies.transaction(bodies.care_plan(pid), {**contact, "status": "xx"}),
            "Bundle.entry[1].resource.status",
            "finished",
        ),
    ]


def _client(world: World, who: str) -> Any:  # noqa: F811
    return f.client_for(
        {"nurse": world.nurse, "coordinator": world.coordinator, "physician": world.physician}[who]
    )


def test_a_code_outside_its_required_value_set_is_refused_on_every_fhir_write(
    world: World,  # noqa: F811
) -> None:
    version = world.diagnosis.version_id
    before = write_counts()
    for who, method, path, body, element, allowed in _writes_with_a_code_outside(world):
        client = _client(world, who)
        response = put(client, path, body) if method == "PUT" else post(client, path, body)
        assert response.status_code == 400, (path, element, response.content[:400])
        assert response["Content-Type"].startswith("application/fhir+json")
        OperationOutcome.model_validate(response.json())
        issue = response.json()["issue"][0]
        assert issue_code(response) == CODE, (path, element)
        assert issue["expression"] == [element], (path, issue)
        text = issue["details"]["text"]
        # An entry's element is named in its resource, after the entry.
        named = element.replace("Bundle.entry[1].resource", "Bundle.entry[1]: Encounter")
        assert named in text and allowed in text and "intet blev gemt" in text, text
        assert "xx" not in text and "telephone" not in text, text
    assert write_counts() == before
    world.diagnosis.refresh_from_db()
    assert world.diagnosis.version_id == version


def test_r9_a_write_refused_for_a_code_is_on_the_citizens_log(world: World) -> None:  # noqa: F811
    nurse = f.client_for(world.nurse)
    pid = world.person.pk
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    post(
        nurse,
        "/fhir/Encounter",
        {**bodies.hospital_contact(pid, world.department.pk), "status": "xx"},
    )
    post(
        nurse,
        "/fhir/Consent",
        {**bodies.refusal(pid, organisations=[world.home.pk]), "status": "xx"},
    )
    added = [
        (e.outcome, e.reason_code, e.citizen_id, e.resource_type)
        for e in AuditEntry.objects.filter(id__gt=before).order_by("id")
    ]
    assert added == [
        ("denied", CODE, pid, "Encounter"),
        ("denied", CODE, pid, "Consent"),
    ]


def test_a_contained_resources_codes_are_held_to_their_value_sets_too(
    world: World,  # noqa: F811
) -> None:
    contained = {
        "resourceType": "Practitioner",
        "id": "p1",
        "name": [{"family": "Berg"}],
        "telecom": [{"system": "telephone", "value": "+4538680000"}],
    }
    body = {
        **bodies.diagnosis(world.person.pk),
        "contained": [contained],
        "asserter": {"reference": "#p1"},
    }
    before = write_counts()
    response = post(f.client_for(world.nurse), "/fhir/Condition", body)
    assert response.status_code == 400, response.content[:400]
    assert issue_code(response) == CODE
    assert response.json()["issue"][0]["expression"] == ["Condition.contained[0].telecom[0].system"]
    assert write_counts() == before


def test_the_codes_of_their_value_sets_are_taken(world: World) -> None:  # noqa: F811
    """Only a code outside is refused: those FHIR lists, where the models
    list but part of the value set too, are written as before."""
    pid = world.person.pk
    nurse = f.client_for(world.nurse)
    for status in ("in-progress", "onleave", "entered-in-error"):
        response = post(
            nurse,
            "/fhir/Encounter",
            {**bodies.hospital_contact(pid, world.department.pk), "status": status},
        )
        assert response.status_code == 201, (status, response.content[:400])
        assert response.json()["status"] == status
    response = post(
        f.client_for(world.coordinator),
        "/fhir/Patient",
        {**bodies.patient(f.cpr_number()), "gender": "female"},
    )
    assert response.status_code == 201, response.content[:400]
