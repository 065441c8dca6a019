"""R9 on the shared record's writes: every refused attempt is on the log,
whichever check refused it — a body that is no valid resource of its type
at all (``fhir.invalid``, ``fhir.type_mismatch``) as much as one R2 refuses —
and an update that names two different versions is refused, not guessed."""

from __future__ import annotations

from typing import Any

import pytest

from consent.audit.models import AuditEntry
from consent.models import RecordResource
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, put

pytestmark = pytest.mark.django_db


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _denied_since(before: int) -> list[tuple[str, str, str, int | None]]:
    return [
        (e.action, e.resource_type, e.reason_code, e.citizen_id)
        for e in AuditEntry.objects.filter(id__gt=before, outcome="denied").order_by("id")
    ]


def _not_a_condition(world: World) -> dict[str, Any]:
    body = bodies.diagnosis(world.person.pk)
    body["recordedDate"] = "the first of March"  # no dateTime: fails R4B validation
    return body


def test_r9_a_create_that_is_no_valid_resource_is_recorded(world: World) -> None:
    nurse = f.client_for(world.nurse)
    before = _last_id()
    response = post(nurse, "/fhir/Condition", _not_a_condition(world))
    assert response.status_code == 400 and issue_code(response) == "fhir.invalid"
    assert _denied_since(before) == [("create", "Condition", "fhir.invalid", world.person.pk)]


def test_r9_a_create_of_another_type_at_a_types_door_is_recorded(world: World) -> None:
    nurse = f.client_for(world.nurse)
    before = _last_id()
    response = post(
        nurse, "/fhir/CarePlan", bodies.care_plan(world.person.pk) | {"resourceType": "Condition"}
    )
    assert response.status_code == 400
    assert issue_code(response) in ("fhir.type_mismatch", "record.category_type_mismatch")
    [(action, kind, code, citizen)] = _denied_since(before)
    assert (action, kind, code, citizen) == (
        "create",
        "Condition",
        issue_code(response),
        world.person.pk,
    )


def test_r9_an_update_that_is_no_valid_resource_is_recorded(world: World) -> None:
    nurse = f.client_for(world.nurse)
    url = f"/fhir/Condition/{world.diagnosis.pk}"
    before = _last_id()
    response = put(nurse, url, _not_a_condition(world), HTTP_IF_MATCH='W/"1"')
    assert response.status_code == 400 and issue_code(response) == "fhir.invalid"
    assert _denied_since(before) == [("update", "Condition", "fhir.invalid", world.person.pk)]
    entry = AuditEntry.objects.filter(id__gt=before).get()
    assert entry.resource_id == str(world.diagnosis.pk)


def test_r9_a_consent_that_is_no_valid_consent_is_recorded(world: World) -> None:
    body = bodies.refusal(world.person.pk)
    body["provision"]["period"] = {"start": 2020}
    before = _last_id()
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert response.status_code == 400 and issue_code(response) == "fhir.invalid"
    assert _denied_since(before) == [("create", "Consent", "fhir.invalid", world.person.pk)]


@pytest.mark.parametrize(("if_match", "in_body"), [('W/"2"', "7"), ('W/"1"', "2"), ('"1"', "x")])
def test_an_update_naming_two_versions_is_refused_and_recorded(
    world: World, if_match: str, in_body: str
) -> None:
    nurse = f.client_for(world.nurse)
    url = f"/fhir/Condition/{world.diagnosis.pk}"
    body = bodies.diagnosis(world.person.pk, code="I11")
    body["meta"] = {**body["meta"], "versionId": in_body}
    before = _last_id()
    response = put(nurse, url, body, HTTP_IF_MATCH=if_match)
    assert response.status_code == 400, response.content
    assert issue_code(response) == "record.version_contradicts"
    assert RecordResource.objects.get(pk=world.diagnosis.pk).version_id == 1
    assert _denied_since(before) == [
        ("update", "Condition", "record.version_contradicts", world.person.pk)
    ]


def test_an_update_naming_one_version_twice_alike_is_taken(world: World) -> None:
    nurse = f.client_for(world.nurse)
    url = f"/fhir/Condition/{world.diagnosis.pk}"
    body = bodies.diagnosis(world.person.pk, code="I11")
    body["meta"] = {**body["meta"], "versionId": "1"}
    response = put(nurse, url, body, HTTP_IF_MATCH='W/"1"')
    assert response.status_code == 200, response.content
    assert response["ETag"] == 'W/"2"'


def test_a_patient_update_naming_two_versions_is_refused(world: World) -> None:
    nurse = f.client_for(world.nurse)
    url = f"/fhir/Patient/{world.person.pk}"
    current = nurse.get(url).json()
    body = current | {"meta": {**current.get("meta", {}), "versionId": "7"}}
    response = put(nurse, url, body, HTTP_IF_MATCH=f'W/"{current["meta"]["versionId"]}"')
    assert response.status_code == 400, response.content
    assert issue_code(response) == "patient.version_contradicts"
