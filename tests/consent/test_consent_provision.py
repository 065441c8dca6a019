"""R4: a Consent is recorded exactly as the citizen gave it, or refused.
FHIR can narrow a provision in ways the directive does not hold — nested
exceptions, resource classes, codes, named data, narrower actions — and a
Consent can be a draft or a rejected one. Stored as a plain directive, a
permit narrowed that way would lift a refusal for everything ("the hospital
may see my care plan" read as "the hospital may see all"), so each is refused
with its own code and nothing is recorded."""

from __future__ import annotations

from typing import Any

import pytest

from consent.audit.models import AuditEntry
from consent.models import ConsentDirective
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, post

ACTION = "http://terminology.hl7.org/CodeSystem/consentaction"


def _error(response: Any) -> tuple[int, str, list[str]]:
    issue = response.json()["issue"][0]
    return (
        response.status_code,
        issue["details"]["coding"][0]["code"],
        issue.get("expression", []),
    )


NARROWED = [
    # A refusal with an exception, and a consent with one: FHIR's nested provisions.
    ("provision", [{"type": "permit", "actor": []}], "provision.provision"),
    ("class", [{"system": "http://hl7.org/fhir/resource-types", "code": "CarePlan"}], None),
    ("code", [{"coding": [{"system": bodies.ICD10, "code": "I10"}]}], None),
    ("data", [{"meaning": "instance", "reference": {"reference": "CarePlan/1"}}], None),
    (
        "securityLabel",
        [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}],
        None,
    ),
    ("action", [{"coding": [{"system": ACTION, "code": "collect"}]}], "provision.action[0]"),
]


@pytest.mark.parametrize("kind", ["permit", "deny"])
@pytest.mark.parametrize(("element", "value", "expression"), NARROWED)
def test_r4_a_provision_narrowed_beyond_what_a_directive_holds_is_refused(
    world: World, kind: str, element: str, value: Any, expression: str | None
) -> None:
    body = bodies.refusal(world.person.pk, organisations=[world.department.pk], kind=kind)
    body["provision"][element] = value
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert _error(response) == (
        400,
        "consent.provision_unsupported",
        [expression or f"provision.{element}"],
    )
    assert not ConsentDirective.objects.exists()
    # The refused attempt is on the citizen's log, as R2's refusals are (R9).
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk, outcome="denied").latest("id")
    assert (entry.action, entry.resource_type, entry.reason_code) == (
        "create",
        "Consent",
        "consent.provision_unsupported",
    )


@pytest.mark.parametrize("status", ["draft", "proposed", "rejected", "inactive"])
def test_r4_only_a_consent_in_force_is_recorded(world: World, status: str) -> None:
    body = {**bodies.refusal(world.person.pk), "status": status}
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert _error(response) == (400, "consent.status_not_active", ["status"])
    assert not ConsentDirective.objects.exists()


def test_r4_the_actions_a_directive_covers_are_still_taken(world: World) -> None:
    body = bodies.refusal(world.person.pk, organisations=[world.department.pk])
    body["provision"]["action"] = [
        {"coding": [{"system": ACTION, "code": "access"}, {"system": ACTION, "code": "disclose"}]}
    ]
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert response.status_code == 201, response.content
    assert ConsentDirective.objects.get().provision == "deny"


def test_r9_a_consent_naming_an_unknown_recipient_is_refused_and_recorded(world: World) -> None:
    body = bodies.refusal(world.person.pk, organisations=[987654])
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert _error(response)[:2] == (400, "consent.organisation_unknown")
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk).latest("id")
    assert (entry.outcome, entry.reason_code) == ("denied", "consent.organisation_unknown")
    unknown = post(f.client_for(world.nurse), "/fhir/Consent", {**body, "status": "draft"})
    assert _error(unknown)[:2] == (400, "consent.status_not_active")
    assert not ConsentDirective.objects.exists()


def test_r4_a_provision_of_no_known_type_names_the_element(world: World) -> None:
    body = bodies.refusal(world.person.pk, kind="maybe")
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert _error(response) == (400, "consent.provision_invalid", ["provision.type"])
