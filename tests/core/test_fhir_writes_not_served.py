"""A write a type served here does not serve is an interaction not supported
on a known type: 405 with an OperationOutcome and an ``Allow`` naming what
the path serves (FHIR http.html), recorded as every other refusal when the
caller is known (R9). ``POST /fhir/Task`` answered 404 ``fhir.not_supported``,
as if Task were unknown, while a search of it answered 405. A type nobody
serves stays unknown (404)."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from consent.audit.models import AuditEntry
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, world  # noqa: F401

pytestmark = pytest.mark.django_db


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _task_interactions(client: object) -> set[str]:
    statement = client.get("/fhir/metadata").json()  # type: ignore[attr-defined]
    [entry] = [r for r in statement["rest"][0]["resource"] if r["type"] == "Task"]
    return {i["code"] for i in entry.get("interaction", [])}


def test_r9_a_write_task_does_not_serve_is_405_recorded_on_whom_it_names(
    world: World,  # noqa: F811
) -> None:
    client = f.client_for(world.nurse)
    interactions = _task_interactions(client)
    assert not {"create", "update", "patch", "delete"} & interactions
    person = world.person.pk
    body = {"resourceType": "Task", "for": {"reference": f"Patient/{person}"}}
    named = {"resourceType": "Task", "subject": {"reference": f"Patient/{person}"}}
    instance_allow = "GET, HEAD" if "read" in interactions else ""
    for method, path, sent, allow, names in (
        ("post", "/fhir/Task", named, "", True),
        ("post", "/fhir/Task", body, "", True),
        ("put", "/fhir/Task/1", {**named, "id": "1"}, instance_allow, True),
        ("patch", "/fhir/Task/1", None, instance_allow, False),
        ("delete", "/fhir/Task/1", None, instance_allow, False),
        ("delete", "/fhir/Task", None, "", False),
    ):
        before = _last_id()
        request = {"data": json.dumps(sent), "content_type": bodies.FHIR} if sent else {}
        response = getattr(client, method)(path, **request)
        assert response.status_code == 405, (method, path, response.content[:300])
        outcome = OperationOutcome.model_validate(response.json())
        assert outcome.issue[0].code == "not-supported"
        assert issue_code(response) == "request.method_not_allowed"
        assert response["Allow"] == allow, (method, path)
        [entry] = AuditEntry.objects.filter(id__gt=before)
        assert (entry.outcome, entry.reason_code, entry.resource_type) == (
            "denied",
            "request.method_not_allowed",
            "Task",
        ), (method, path)
        assert entry.actor_user_id == world.nurse.user_id
        assert entry.citizen_id == (person if names else None), (method, path)


def test_a_write_task_does_not_serve_is_405_to_a_caller_nobody_names_too() -> None:
    anonymous = f.client_for(None)
    before = _last_id()
    response = anonymous.post(
        "/fhir/Task", data=json.dumps({"resourceType": "Task"}), content_type=bodies.FHIR
    )
    assert response.status_code == 405, response.content[:300]
    assert _last_id() == before


def test_a_write_of_an_unknown_type_stays_404(world: World) -> None:  # noqa: F811
    client = f.client_for(world.nurse)
    for method, path in (("post", "/fhir/Foo"), ("put", "/fhir/Foo/1"), ("delete", "/fhir/Foo/1")):
        response = getattr(client, method)(
            path, data=json.dumps({"resourceType": "Foo"}), content_type=bodies.FHIR
        )
        assert response.status_code == 404, (method, path)
        assert issue_code(response) == "fhir.not_supported"
        assert not response.has_header("Allow")


def test_the_statement_says_a_write_not_served_is_405() -> None:
    statement = f.client_for(None).get("/fhir/metadata").json()
    documentation = statement["rest"][0]["documentation"]
    assert "a create (POST [type])" in documentation
    assert "answers 405" in documentation and "Allow header" in documentation
