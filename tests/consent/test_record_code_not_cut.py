"""A shared-record resource is searched and counted by its main code: one
longer than the record keeps is refused, never cut to fit (a search by the
code sent would not find it), on the create, the update and the transaction."""

from __future__ import annotations

from consent.audit.models import AuditEntry
from consent.models import RecordResource
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, put

LONG = "C" * 65


def _nursing_problem_coded(citizen_id: int, code: str, system: str = "urn:x") -> dict:
    body = bodies.nursing_problem(citizen_id)
    body["code"] = {"coding": [{"system": system, "code": code}], "text": "Tryksår"}
    return body


def test_a_code_longer_than_kept_is_refused_naming_its_element(world: World) -> None:
    client = f.client_for(world.nurse)
    held = RecordResource.objects.count()
    for body, element in [
        (_nursing_problem_coded(world.person.pk, LONG), "Condition.code.coding[0].code"),
        (
            _nursing_problem_coded(world.person.pk, "x", system="urn:" + "s" * 100),
            "Condition.code.coding[0].system",
        ),
        (bodies.diagnosis(world.person.pk, code="I10" + "9" * 62), "Condition.code.coding[0].code"),
    ]:
        response = post(client, "/fhir/Condition", body)
        assert response.status_code == 400, response.content
        assert issue_code(response) == "record.code_too_long"
        assert response.json()["issue"][0]["expression"] == [element]
    assert RecordResource.objects.count() == held
    assert AuditEntry.objects.filter(
        citizen_id=world.person.pk, outcome="denied", reason_code="record.code_too_long"
    ).exists()


def test_a_code_as_long_as_kept_is_stored_whole_and_found_by_it(world: World) -> None:
    client = f.client_for(world.nurse)
    code = "C" * 64

    created = post(client, "/fhir/Condition", _nursing_problem_coded(world.person.pk, code))

    assert created.status_code == 201, created.content
    found = client.get(f"/fhir/Condition?patient={world.person.pk}&code=urn:x|{code}")
    assert [e["resource"]["id"] for e in found.json()["entry"]] == [created.json()["id"]]


def test_the_update_and_the_transaction_refuse_it_too(world: World) -> None:
    client = f.client_for(world.nurse)
    url = f"/fhir/Condition/{world.diagnosis.pk}"

    updated = put(
        client, url, bodies.diagnosis(world.person.pk, code="I10" + "9" * 62), HTTP_IF_MATCH='W/"1"'
    )
    assert updated.status_code == 400 and issue_code(updated) == "record.code_too_long"
    assert RecordResource.objects.get(pk=world.diagnosis.pk).version_id == 1

    sent = post(client, "/fhir/", bodies.transaction(_nursing_problem_coded(world.person.pk, LONG)))
    assert sent.status_code == 400 and issue_code(sent) == "record.code_too_long"
