"""FHIR R4 ele-1 and ext-1 on every door that takes FHIR: an element holds a
value or elements of its own (``"maritalStatus": {}``, ``"coding": [{}]``,
``"_gender": {"id": "a"}`` without a gender are none), and an extension
holds either a value or extensions. The models take all of these, so a
diagnosis carrying an extension with its url alone was stored, shown and
shared as if it said something. Now each is refused as ``fhir.invalid``
naming the element, nothing written, the attempt on the citizen's log (R9);
a partner's message the same, as not valid FHIR."""

from __future__ import annotations

from typing import Any

import pytest

from consent.audit.models import AuditEntry
from consent.models import RecordResource
from core.models import Citizen
from integrations.models import InboundMessage
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, put, world  # noqa: F401
from tests.integrations.medcom.conftest import citizen, hospital  # noqa: F401
from tests.integrations.medcom.peers import ack_parts, header_id, post_signed
from tests.integrations.medcom.test_hospital_notification import STIN, _example

ICD10 = "http://hl7.org/fhir/sid/icd-10"


def _empty_elements(world: World) -> list[tuple[str, str, str, dict[str, Any], str]]:  # noqa: F811
    """(who, method, path, body, the element refused)."""
    pid = world.person.pk
    diagnosis = bodies.diagnosis(pid)
    return [
        (
            "nurse",
            "POST",
            "/fhir/Condition",
            {**diagnosis, "extension": [{"url": "http://example.org/severity"}]},
            "Condition.extension[0]",
        ),
        (
            "nurse",
            "PUT",
            f"/fhir/Condition/{world.diagnosis.pk}",
            {**diagnosis, "code": {"coding": [{"system": ICD10, "code": "I10"}, {}]}},
            "Condition.code.coding[1]",
        ),
        (
            "nurse",
            "POST",
            "/fhir/",
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {
                        "resource": {**bodies.care_plan(pid), "category": [{}]},
                        "request": {"method": "POST", "url": "CarePlan"},
                    }
                ],
            },
            "Bundle.entry[0].resource.category[0]",
        ),
        (
            "coordinator",
            "POST",
            "/fhir/Patient",
            {**bodies.patient(f.cpr_number()), "maritalStatus": {}},
            "Patient.maritalStatus",
        ),
        (
            "coordinator",
            "POST",
            "/fhir/Patient",
            {
                **{k: v for k, v in bodies.patient(f.cpr_number()).items() if k != "gender"},
                "_gender": {"id": "g1"},
            },
            "Patient._gender",
        ),
    ]


@pytest.mark.django_db
def test_an_empty_element_or_a_valueless_extension_is_refused_on_every_fhir_write(
    world: World,  # noqa: F811
) -> None:
    clients = {"nurse": world.nurse, "coordinator": world.coordinator}
    version = world.diagnosis.version_id
    before = (RecordResource.objects.count(), Citizen.objects.count())
    for who, method, path, body, element in _empty_elements(world):
        client = f.client_for(clients[who])
        response = put(client, path, body) if method == "PUT" else post(client, path, body)
        assert response.status_code == 400, (element, response.content[:400])
        assert issue_code(response) == "fhir.invalid", element
        assert response.json()["issue"][0]["expression"] == [element]
        assert (
            "ele-1" in response.json()["issue"][0]["diagnostics"]
            or "ext-1" in (response.json()["issue"][0]["diagnostics"])
        )
    assert (RecordResource.objects.count(), Citizen.objects.count()) == before
    world.diagnosis.refresh_from_db()
    assert world.diagnosis.version_id == version


@pytest.mark.django_db
def test_r9_a_write_refused_for_an_empty_element_is_on_the_citizens_log(
    world: World,  # noqa: F811
) -> None:
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    body = {**bodies.diagnosis(world.person.pk), "extension": [{"url": "http://example.org/x"}]}
    post(f.client_for(world.nurse), "/fhir/Condition", body)
    added = [
        (e.outcome, e.reason_code, e.citizen_id, e.resource_type)
        for e in AuditEntry.objects.filter(id__gt=before).order_by("id")
    ]
    assert added == [("denied", "fhir.invalid", world.person.pk, "Condition")]


@pytest.mark.django_db
def test_an_id_beside_a_value_and_a_valued_extension_are_taken(
    world: World,  # noqa: F811
) -> None:
    body = {
        **bodies.diagnosis(world.person.pk),
        "_recordedDate": {"id": "d1"},
        "extension": [{"url": "http://example.org/severity", "valueString": "moderat"}],
    }
    response = post(f.client_for(world.nurse), "/fhir/Condition", body)
    assert response.status_code == 201, response.content[:400]


@pytest.mark.django_db
def test_a_message_with_a_valueless_extension_is_refused_as_not_valid_fhir(
    hospital,  # noqa: F811
    citizen,  # noqa: F811
) -> None:
    message = _example(STIN)
    encounter = next(
        e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == "Encounter"
    )
    encounter["extension"] = [{"url": "http://example.org/ward"}]
    status, body = post_signed(hospital, message)
    assert (status, ack_parts(body)[0]) == (400, "fatal-error")
    refused = InboundMessage.objects.get(header_id=header_id(message))
    assert refused.outcome == "fatal-error"
    assert "ext-1" in str(body)
