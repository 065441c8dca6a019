"""``POST [type]/_search`` reads its parameters from the form body. A body
that cannot be read as a form (a multipart body with no or a broken
boundary, a form in another charset than UTF-8, more fields than a form may
have) was read as no parameters at all: the search answered unfiltered, as
if the client had asked for everything. It is refused (400
OperationOutcome), and the attempt recorded as the other refusals of a
request's form are (R9, decision 0036), on the citizen its URL names."""

from __future__ import annotations

import pytest

from consent.audit.models import AuditEntry
from tests import factories as f
from tests.consent.conftest import World, issue_code, world  # noqa: F401

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
BODIES = [
    ("multipart/form-data", b"patient=1"),  # no boundary
    ("multipart/form-data; boundary=xyz", b"--xyz\r\nbroken"),
    ("multipart/form-data; boundary=xyz", b"not a part at all"),
    (f"{FORM}; charset=latin-1", b"patient=1"),
    (FORM, "&".join(f"code={n}" for n in range(1200)).encode()),
]
IDS = ["multipart-no-boundary", "multipart-broken", "multipart-no-part", "latin-1", "too-many"]


@pytest.mark.parametrize(("content_type", "body"), BODIES, ids=IDS)
@pytest.mark.parametrize("resource_type", ["Condition", "Patient", "Consent", "ServiceRequest"])
def test_r9_an_unreadable_search_form_is_refused_and_recorded(
    world: World,  # noqa: F811
    resource_type: str,
    content_type: str,
    body: bytes,
) -> None:
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = f.client_for(world.nurse).generic(
        "POST",
        f"/fhir/{resource_type}/_search?patient={world.person.pk}"
        if resource_type != "Patient"
        else f"/fhir/{resource_type}/_search?_id={world.person.pk}",
        body,
        content_type=content_type,
    )
    assert response.status_code == 400, response.content[:300]
    assert response.json()["resourceType"] == "OperationOutcome"
    code = issue_code(response)
    refused = list(AuditEntry.objects.filter(id__gt=before))
    assert [(e.action, e.outcome, e.reason_code) for e in refused] == [("search", "denied", code)]
