"""R9: a request refused at the input checks is an attempt on the citizen it
names, recorded there like any other refusal.

A query string or form with a NUL character, or a character that shows
nothing (a bidi override, U+202E), is refused before any view reads it; a
JSON body with one is refused as it is read. Before, such a refusal left no
trace on the citizen's log: ``GET /fhir/Condition?patient=1&code=%00`` from a
nurse who may not read citizen 1 was answered 400 and recorded nowhere,
while the same search without ``%00`` is a denied attempt on citizen 1. Each
door now records the refusal, with its code and its caller, on the citizen
the request names; the answer is the one it always was. A caller nobody can
name gets the same answer and leaves no entry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from acute.models import Referral, Visit
from consent.audit.models import AuditEntry
from consent.models import BreakGlass
from core.models import Organisation, Role
from tests import factories as f
from tests.acute.clinical.conftest import visit_scene
from tests.acute.test_api import service_request
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, world  # noqa: F401

pytestmark = pytest.mark.django_db

BIDI = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: shows nothing, turns what follows


def _newest() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _denied_since(before: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(id__gt=before, outcome="denied").order_by("id"))


def _signed_in(membership: Any) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def test_r9_a_fhir_search_refused_for_its_text_is_recorded_on_the_patient_it_names(
    world: World,  # noqa: F811
) -> None:
    """The other nurse has no visit for the citizen: her search is a denied
    attempt on the citizen; with a NUL or an override in it, it is refused
    for that, and recorded on the same citizen as the same attempt."""
    person = world.person.pk
    client = f.client_for(world.other_nurse)
    before = _newest()
    # Answered with what she may see (nothing), recorded as denied on the citizen.
    client.get(f"/fhir/Condition?patient={person}&code=I10")
    [plain] = _denied_since(before)
    assert plain.citizen_id == person
    for query, code in (
        ("code=%00", "request.nul_character"),
        (f"code=I10{BIDI}", "request.bidi_control"),
    ):
        before = _newest()
        response = client.get(f"/fhir/Condition?patient={person}&{query}")
        assert response.status_code == 400, response.content[:200]
        assert issue_code(response) == code
        [entry] = _denied_since(before)
        assert entry.reason_code == code
        assert (entry.action, entry.resource_type, entry.citizen_id, entry.purpose) == (
            plain.action,
            "Condition",
            person,
            plain.purpose,
        )
        assert entry.actor_user_id == world.other_nurse.user_id


def test_r9_a_caller_nobody_can_name_is_refused_alike_and_leaves_no_entry(
    world: World,  # noqa: F811
) -> None:
    before = _newest()
    for client in (f.client_for(None), _bad_token()):
        response = client.get(f"/fhir/Condition?patient={world.person.pk}&code=%00")
        assert response.status_code == 400
        assert issue_code(response) == "request.nul_character"
    assert AuditEntry.objects.filter(id__gt=before).count() == 0


def _bad_token() -> Any:
    client = f.client_for(None)
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token-anyone-was-given")
    return client


def test_r9_an_auditors_search_refused_for_its_text_is_recorded_on_the_citizen(
    world: World,  # noqa: F811
) -> None:
    person = world.person.pk
    before = _newest()
    response = f.client_for(world.auditor).get(f"/api/audit/entries?citizen={person}&purpose=%00")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "request.nul_character"
    [entry] = _denied_since(before)
    assert (entry.action, entry.reason_code, entry.resource_type) == (
        "search",
        "request.nul_character",
        "AuditEvent",
    )
    assert (entry.citizen_id, entry.purpose) == (person, "audit")
    assert entry.actor_user_id == world.auditor.user_id


def test_r9_breaking_the_glass_with_an_unshown_reason_is_recorded_on_the_citizen(
    world: World,  # noqa: F811
) -> None:
    """Through the API: the JSON body names the citizen and carries the
    override in its reason. Nothing is opened."""
    person = world.person.pk
    body = {"citizen_id": person, "reason": f"Bevidstløs{BIDI}", "basis": "cannot_be_asked"}
    before = _newest()
    response = f.client_for(world.nurse).post("/api/consent/break-glass", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "request.bidi_control"
    [entry] = _denied_since(before)
    assert (entry.action, entry.reason_code, entry.purpose) == (
        "break_glass",
        "request.bidi_control",
        "emergency",
    )
    assert entry.citizen_id == person
    assert entry.actor_user_id == world.nurse.user_id
    assert not BreakGlass.objects.exists()


def test_r9_a_json_body_with_a_nul_is_still_read_for_the_citizen_it_names(
    world: World,  # noqa: F811
) -> None:
    """A JSON body the checks refuse is still read for whom it names: here
    by its id, with the NUL elsewhere in it."""
    person = world.person.pk
    body = json.dumps({"citizen_id": person, "reason": "Bevid\u0000stløs", "basis": "x"})
    before = _newest()
    response = f.client_for(world.nurse).post(
        "/api/consent/break-glass", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "request.nul_character"
    [entry] = _denied_since(before)
    assert (entry.citizen_id, entry.reason_code) == (person, "request.nul_character")
    assert world.person.cpr not in json.dumps(entry.detail)


def test_r9_breaking_the_glass_on_the_page_with_an_unshown_reason_is_recorded() -> None:
    """Through the visit's page: the form is refused before the view, and the
    attempt is recorded on the visit's citizen."""
    scene = visit_scene()
    before = _newest()
    response = _signed_in(scene.nurse).post(
        f"/nurse/visits/{scene.visit.pk}/break-glass/",
        {"reason": f"Bevidstløs{BIDI}", "basis": "vital_interest"},
    )
    assert response.status_code == 400
    [entry] = _denied_since(before)
    assert (entry.action, entry.reason_code, entry.purpose) == (
        "break_glass",
        "request.bidi_control",
        "emergency",
    )
    assert entry.citizen_id == scene.citizen.pk
    assert entry.actor_user_id == scene.nurse.user_id
    assert not BreakGlass.objects.filter(citizen=scene.citizen).exists()
    assert Visit.objects.filter(pk=scene.visit.pk).exists()


def test_r9_a_fhir_transaction_refused_for_its_text_is_recorded_on_each_citizen(
    world: World,  # noqa: F811
) -> None:
    """A transaction Bundle whose entry names the citizen and holds a NUL."""
    person = world.person.pk
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": bodies.diagnosis(person, note=[{"text": "tryk\u0000"}]),
                "request": {"method": "POST", "url": "Condition"},
            }
        ],
    }
    before = _newest()
    response = f.client_for(world.nurse).post(
        "/fhir/", json.dumps(bundle), content_type=bodies.FHIR
    )
    assert response.status_code == 400, response.content[:300]
    assert issue_code(response) == "request.nul_character"
    [entry] = _denied_since(before)
    assert (entry.action, entry.reason_code) == ("create", "request.nul_character")
    assert entry.citizen_id == person
    assert entry.actor_user_id == world.nurse.user_id


def test_r9_a_referral_refused_for_its_text_is_recorded_on_the_citizen_its_cpr_names() -> None:
    """A hospital's ServiceRequest names the citizen by her CPR number and
    carries a NUL in its note: recorded on her log by her id, the number in
    no entry; no referral is made."""
    hospital = f.organisation(Organisation.Kind.HOSPITAL, "Herlev og Gentofte Hospital")
    physician = f.staff(Role.PHYSICIAN, hospital)
    person = f.citizen()
    body = service_request(person.cpr, note=[{"text": "Pneumoni\u0000"}])
    before = _newest()
    response = f.client_for(physician).post("/fhir/ServiceRequest", body, format="json")
    assert response.status_code == 400
    assert issue_code(response) == "request.nul_character"
    [entry] = _denied_since(before)
    assert (entry.action, entry.reason_code, entry.resource_type) == (
        "create",
        "request.nul_character",
        "ServiceRequest",
    )
    assert entry.citizen_id == person.pk
    assert entry.actor_user_id == physician.user_id
    assert person.cpr not in json.dumps(entry.detail) + entry.resource_id
    assert not Referral.objects.exists()
