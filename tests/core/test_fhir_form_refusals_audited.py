"""R9: a refusal of a request's form on ``/fhir/`` is a denied attempt like
any other. A method the endpoint does not serve (``DELETE`` of a diagnosis,
405), an answer in a format it does not write (``_format=xml``, ``Accept:
application/fhir+xml``, 406), a body in a media type or charset it does not
read (415), an empty body, and the conditional headers a write does not take
(``If-None-Exist``, ``If-Match`` on a POST, ``If-None-Match``) were answered
without a trace in the audit log, where a ``_pretty=maybe`` on the same read
was recorded. Each is recorded, with its code, on the citizen the path, the
search or a create's body (its subject, as sent) names; nothing is written.
A caller nobody can name (no token, or one refused) leaves no entry and gets
the same answer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from consent.audit.models import AuditEntry
from consent.models import RecordResource
from core.labels import reason_label
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, world  # noqa: F401

pytestmark = pytest.mark.django_db


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _cases(world: World) -> list[tuple[str, str, dict[str, Any], int, str, str, bool]]:  # noqa: F811
    """(method, path, request, status, code, audit action, names the citizen)."""
    person = world.person.pk
    condition = f"/fhir/Condition/{world.diagnosis.pk}"
    created = json.dumps(bodies.diagnosis(person))
    as_fhir = {"data": created, "content_type": bodies.FHIR}
    latin1 = {"data": created, "content_type": f"{bodies.FHIR}; charset=latin-1"}
    return [
        ("delete", condition, {}, 405, "request.method_not_allowed", "delete", True),
        ("patch", f"/fhir/Patient/{person}", {**as_fhir}, 405, "request.method_not_allowed",
         "update", True),
        ("get", f"{condition}?_format=xml", {}, 406, "request.not_acceptable", "read", True),
        ("get", condition, {"HTTP_ACCEPT": "application/fhir+xml"}, 406,
         "request.not_acceptable", "read", True),
        ("get", f"/fhir/Condition?patient={person}&_format=xml", {}, 406,
         "request.not_acceptable", "search", True),
        ("post", "/fhir/Condition/_search", {"data": f"patient={person}&_format=xml",
         "content_type": "application/x-www-form-urlencoded"}, 406, "request.not_acceptable",
         "search", False),
        ("put", condition, {"data": created, "content_type": "text/plain"}, 415,
         "request.unsupported_media_type", "update", True),
        ("post", "/fhir/Condition", latin1, 415, "request.unsupported_media_type", "create", True),
        ("post", "/fhir/Condition", {"data": "", "content_type": bodies.FHIR}, 400,
         "request.malformed", "create", False),
        ("post", "/fhir/Condition", {**as_fhir, "HTTP_IF_NONE_EXIST": "code=I10"}, 400,
         "fhir.conditional_create_unsupported", "create", True),
        ("post", "/fhir/Condition", {**as_fhir, "HTTP_IF_MATCH": 'W/"1"'}, 412,
         "fhir.if_match_on_post", "create", True),
        ("put", condition, {**as_fhir, "HTTP_IF_NONE_MATCH": "*"}, 400,
         "fhir.if_none_match_unsupported", "update", True),
    ]  # fmt: skip


def test_r9_a_refusal_of_the_requests_form_is_recorded(world: World) -> None:  # noqa: F811
    client = f.client_for(world.nurse)
    records = RecordResource.objects.count()
    for method, path, request, status, code, action, names in _cases(world):
        before = _last_id()
        response = getattr(client, method)(path, **request)
        assert response.status_code == status, (method, path, response.content[:200])
        assert issue_code(response) == code
        [entry] = AuditEntry.objects.filter(id__gt=before)
        assert (entry.action, entry.outcome, entry.reason_code) == (action, "denied", code), path
        assert entry.actor_user_id == world.nurse.user_id
        assert entry.resource_type == path.split("/")[2].partition("?")[0]
        assert entry.citizen_id == (world.person.pk if names else None), (method, path)
    assert RecordResource.objects.count() == records


def test_r9_the_codes_read_as_words_for_the_auditor() -> None:
    for code in (
        "request.method_not_allowed",
        "request.not_acceptable",
        "request.unsupported_media_type",
    ):
        assert reason_label(code) not in (code, reason_label("some.future_refusal"))


def test_a_caller_nobody_can_name_is_answered_alike_and_leaves_no_entry(
    world: World,  # noqa: F811
) -> None:
    condition = f"/fhir/Condition/{world.diagnosis.pk}"
    anonymous = f.client_for(None)
    refused = f.client_for(None)
    refused.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    before = _last_id()
    for client in (anonymous, refused):
        response = client.delete(condition)
        assert response.status_code == 405, response.content[:200]
        assert issue_code(response) == "request.method_not_allowed"
    assert _last_id() == before
