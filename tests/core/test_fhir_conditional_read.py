"""A partner's client revalidates the copy it holds (http.html#cread, RFC 9110
13.1.2 and 13.1.3): a read or version read of a versioned type whose ETag it
names in ``If-None-Match``, or whose ``Last-Modified`` is not after its
``If-Modified-Since``, is answered ``304 Not Modified`` without a body, once
the gate has let the reader at it, and the read is recorded as any other (R9).
Before, both headers were ignored: every revalidation fetched the whole
resource, and the statement said nothing of it.

A refusal is never turned into a 304: a reader the gate refuses (R1) gets the
same "not found" with ``If-None-Match: *`` as without it, so a precondition
tells nobody that a resource exists."""

from __future__ import annotations

from typing import Any

import pytest

from consent.audit.models import AuditEntry
from tests import factories as f
from tests.consent.conftest import World, issue_code, put, world  # noqa: F401

pytestmark = pytest.mark.django_db


def _paths(world: World) -> list[str]:  # noqa: F811
    condition = world.diagnosis.pk
    return [
        f"/fhir/Condition/{condition}",
        f"/fhir/Condition/{condition}/_history/1",
        f"/fhir/Patient/{world.person.pk}",
    ]


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_a_read_whose_etag_the_client_names_is_not_modified(world: World) -> None:  # noqa: F811
    client = f.client_for(world.nurse)
    for path in _paths(world):
        whole = client.get(path)
        assert whole.status_code == 200, (path, whole.content[:200])
        tag, modified = whole["ETag"], whole["Last-Modified"]
        bare = tag.removeprefix("W/")
        # The tag as sent, strong or among others: compared weakly (RFC 9110 8.8.3.2).
        for named in (tag, bare, f'W/"999", {tag}', "*"):
            for method in (client.get, client.head):
                response = method(path, HTTP_IF_NONE_MATCH=named)
                assert response.status_code == 304, (path, named, response.content[:200])
                assert response.content == b""
                assert response["ETag"] == tag
                assert response["Last-Modified"] == modified
        other = client.get(path, HTTP_IF_NONE_MATCH='W/"999"')
        assert other.status_code == 200
        assert other.json() == whole.json()
    # A searchset has no version to match: answered whole.
    search = client.get(f"/fhir/Condition?patient={world.person.pk}", HTTP_IF_NONE_MATCH="*")
    assert search.status_code == 200
    assert search.json()["resourceType"] == "Bundle"


def test_if_modified_since_answers_by_last_modified(world: World) -> None:  # noqa: F811
    client = f.client_for(world.nurse)
    for path in _paths(world):
        modified = client.get(path)["Last-Modified"]
        assert client.get(path, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304, path
        earlier = "Mon, 01 Jan 2024 00:00:00 GMT"
        assert client.get(path, HTTP_IF_MODIFIED_SINCE=earlier).status_code == 200, path
        # Not a date: ignored (RFC 9110 13.1.3), the resource is answered.
        assert client.get(path, HTTP_IF_MODIFIED_SINCE="yesterday").status_code == 200, path
        # If-None-Match decides where both are sent (RFC 9110 13.2.2).
        both = client.get(path, HTTP_IF_NONE_MATCH='W/"999"', HTTP_IF_MODIFIED_SINCE=modified)
        assert both.status_code == 200, path


def test_a_changed_resource_is_answered_whole_to_the_old_etag(world: World) -> None:  # noqa: F811
    client = f.client_for(world.nurse)
    path = f"/fhir/Condition/{world.diagnosis.pk}"
    before = client.get(path)
    body: dict[str, Any] = before.json()
    body["clinicalStatus"] = {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                "code": "resolved",
            }
        ]
    }
    assert put(client, path, body, HTTP_IF_MATCH=before["ETag"]).status_code == 200
    after = client.get(path, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert after.json()["meta"]["versionId"] == "2"
    assert after["ETag"] != before["ETag"]
    # The version read of the first version is still that version.
    assert client.get(f"{path}/_history/1", HTTP_IF_NONE_MATCH=before["ETag"]).status_code == 304


def test_r9_r1_a_read_answered_not_modified_is_recorded_and_a_refusal_stays_one(
    world: World,  # noqa: F811
) -> None:
    """The nurse with a visit is answered 304 and her read is recorded (R9).
    The other nurse has no visit for the citizen (R1): ``*`` would match any
    resource that exists; she is answered "not found" as without it, and
    each attempt is recorded as denied."""
    client = f.client_for(world.nurse)
    path = f"/fhir/Condition/{world.diagnosis.pk}"
    tag = client.get(path)["ETag"]
    before = _last_id()
    assert client.get(path, HTTP_IF_NONE_MATCH=tag).status_code == 304
    read = AuditEntry.objects.filter(id__gt=before).get()
    assert (read.action, read.outcome, read.citizen_id, read.resource_type) == (
        "read",
        "permitted",
        world.person.pk,
        "Condition",
    )
    other = f.client_for(world.other_nurse)
    for path in _paths(world):
        before = _last_id()
        for headers in (
            {"HTTP_IF_NONE_MATCH": "*"},
            {"HTTP_IF_NONE_MATCH": tag},
            {"HTTP_IF_MODIFIED_SINCE": "Fri, 01 Jan 2100 00:00:00 GMT"},
        ):
            response = other.get(path, **headers)
            assert response.status_code == 404, (path, headers, response.status_code)
            assert issue_code(response) == "not_found"
        refused = AuditEntry.objects.filter(id__gt=before)
        assert refused.count() == 3
        assert {e.outcome for e in refused} == {"denied"}


def test_the_statement_says_which_types_read_conditionally(client: Any) -> None:
    statement = client.get("/fhir/metadata").json()
    conditional = {
        entry["type"]: entry["conditionalRead"] for entry in statement["rest"][0]["resource"]
    }
    assert conditional["Condition"] == "full-support"
    assert conditional["Patient"] == "full-support"
    assert conditional["Observation"] == "not-supported"
    for entry in statement["rest"][0]["resource"]:
        versioned = entry["versioning"] == "versioned-update"
        assert (entry["conditionalRead"] == "full-support") == versioned, entry["type"]
