"""A query string whose bytes are no UTF-8 is refused at the door.

Django reads such bytes (``?code=%C3``, ``?name=%FF``) as replacement
characters (U+FFFD) and the view searched for text nobody typed, answering
as if the search had been narrowed. The door refuses it before any view, on
every path, with ``request.query_not_utf8``: an OperationOutcome on
``/fhir/``, the envelope on ``/api/``, a Danish page elsewhere; a known
caller's attempt is recorded on the citizen the request names (R9). A query
in proper UTF-8 (``%C3%A6``, æ) is read as before."""

from __future__ import annotations

import pytest
from django.test import Client

from consent.audit.models import AuditEntry
from tests import factories as f
from tests.consent.conftest import World, issue_code, world  # noqa: F401

pytestmark = pytest.mark.django_db

CODE = "request.query_not_utf8"
BROKEN = ["%FF", "%C3", "%ED%A0%80", "I1%C0%AF"]


def _newest() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.mark.parametrize("broken", BROKEN)
def test_r9_a_fhir_search_with_broken_bytes_is_refused_and_recorded_on_the_patient(
    world: World,  # noqa: F811
    broken: str,
) -> None:
    person = world.person.pk
    client = f.client_for(world.other_nurse)
    before = _newest()
    client.get(f"/fhir/Condition?patient={person}&code=I10")
    [plain] = AuditEntry.objects.filter(id__gt=before, outcome="denied")
    before = _newest()
    response = client.get(
        f"/fhir/Condition?patient={person}&code={broken}", HTTP_ACCEPT_LANGUAGE="da"
    )
    assert response.status_code == 400, response.content[:300]
    assert response.json()["resourceType"] == "OperationOutcome"
    assert issue_code(response) == CODE
    assert "ikke er UTF-8" in response.json()["issue"][0]["details"]["text"]
    [entry] = AuditEntry.objects.filter(id__gt=before, outcome="denied")
    assert (entry.reason_code, entry.citizen_id, entry.resource_type, entry.action) == (
        CODE,
        person,
        "Condition",
        plain.action,
    )
    assert entry.actor_user_id == world.other_nurse.user_id


def test_r9_an_api_search_with_broken_bytes_is_refused_in_the_envelope_and_recorded(
    world: World,  # noqa: F811
) -> None:
    person = world.person.pk
    before = _newest()
    response = f.client_for(world.auditor).get(f"/api/audit/entries?citizen={person}&purpose=%FF")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == CODE
    [entry] = AuditEntry.objects.filter(id__gt=before, outcome="denied")
    assert (entry.reason_code, entry.citizen_id, entry.resource_type) == (
        CODE,
        person,
        "AuditEvent",
    )


def test_a_page_with_broken_bytes_in_its_address_is_refused_in_danish() -> None:
    response = Client().get("/?name=%FF", HTTP_ACCEPT_LANGUAGE="da")
    assert response.status_code == 400
    content = response.content.decode()
    assert f'data-code="{CODE}"' in content
    assert "ødelagt tekst" in content


def test_a_caller_nobody_can_name_is_refused_alike_and_leaves_no_entry(
    world: World,  # noqa: F811
) -> None:
    before = _newest()
    response = f.client_for(None).get(f"/fhir/Condition?patient={world.person.pk}&code=%C3")
    assert response.status_code == 400
    assert issue_code(response) == CODE
    assert AuditEntry.objects.filter(id__gt=before).count() == 0


def test_a_query_in_utf8_is_read_as_before(world: World) -> None:  # noqa: F811
    client = f.client_for(world.nurse)
    response = client.get(f"/fhir/Condition?patient={world.person.pk}&code=%C3%A6")
    assert response.status_code != 400 or issue_code(response) != CODE
    assert Client().get("/?name=Bj%C3%B8rn").status_code != 400
