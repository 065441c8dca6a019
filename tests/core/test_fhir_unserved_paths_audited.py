"""R9: a history of a citizen's record (``/fhir/Patient/<id>/_history``,
405) and a write to a resource type nobody serves (404) were answered with
no trace in the audit log, though a signed-in member of staff asked about a
named citizen. Each is recorded as any other refusal is, on the citizen the
path or the body names; a caller nobody can name gets the same answer and
leaves no entry."""

from __future__ import annotations

import json

import pytest

from consent.audit.models import AuditEntry
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, world  # noqa: F401

pytestmark = pytest.mark.django_db


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_r9_a_history_of_a_citizen_is_recorded_as_refused(world: World) -> None:  # noqa: F811
    person = world.person.pk
    client = f.client_for(world.nurse)
    for path, names in (
        (f"/fhir/Patient/{person}/_history", True),
        ("/fhir/Patient/_history", False),
        (f"/fhir/Condition/{world.diagnosis.pk}/_history", False),
    ):
        before = _last_id()
        response = client.get(path)
        assert response.status_code == 405, (path, response.content[:200])
        assert issue_code(response) == "request.method_not_allowed"
        [entry] = AuditEntry.objects.filter(id__gt=before)
        assert (entry.action, entry.outcome, entry.reason_code) == (
            "read",
            "denied",
            "request.method_not_allowed",
        ), path
        assert entry.actor_user_id == world.nurse.user_id
        assert entry.citizen_id == (person if names else None), path


def test_r9_a_write_to_a_type_nobody_serves_is_recorded_on_whom_it_names(
    world: World,  # noqa: F811
) -> None:
    person = world.person.pk
    client = f.client_for(world.nurse)
    named = {"resourceType": "Foo", "subject": {"reference": f"Patient/{person}"}}
    for method, path, body, names in (
        ("post", "/fhir/Foo", named, True),
        ("put", "/fhir/Foo/1", named, True),
        ("post", f"/fhir/Patient/{person}/extra", {"resourceType": "Patient"}, True),
        ("delete", "/fhir/Foo/1", None, False),
    ):
        before = _last_id()
        request = {"data": json.dumps(body), "content_type": bodies.FHIR} if body else {}
        response = getattr(client, method)(path, **request)
        assert response.status_code == 404, (method, path, response.content[:200])
        assert issue_code(response) == "fhir.not_supported"
        [entry] = AuditEntry.objects.filter(id__gt=before)
        assert (entry.outcome, entry.reason_code) == ("denied", "fhir.not_supported"), path
        assert entry.actor_user_id == world.nurse.user_id
        assert entry.citizen_id == (person if names else None), (method, path)


def test_a_caller_nobody_can_name_is_answered_alike_and_leaves_no_entry(
    world: World,  # noqa: F811
) -> None:
    person = world.person.pk
    anonymous = f.client_for(None)
    refused = f.client_for(None)
    refused.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    named = json.dumps({"resourceType": "Foo", "subject": {"reference": f"Patient/{person}"}})
    before = _last_id()
    for client in (anonymous, refused):
        history = client.get(f"/fhir/Patient/{person}/_history")
        assert history.status_code == 405, history.content[:200]
        write = client.post("/fhir/Foo", data=named, content_type=bodies.FHIR)
        assert write.status_code == 404, write.content[:200]
        assert issue_code(write) == "fhir.not_supported"
    assert _last_id() == before
