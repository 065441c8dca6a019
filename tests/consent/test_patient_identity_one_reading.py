"""Who the citizen is, read from a Patient written over FHIR: the CPR number
is the identifier DK-core marks ``official``; the official name, the home
address, the phone to call and the own GP are each one, never the first of
several; what the platform does not keep (an inactive record, links,
contact persons) is refused, never dropped. A search modifier on identifier
in a POST body is refused as a modifier, not as a CPR number in a URL."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from consent.audit.models import AuditEntry
from core.cpr import X_ECPR_SYSTEM
from core.models import Citizen
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post

CPR = "0212711234"


def _second(body: dict[str, Any], element: str, **changes: Any) -> dict[str, Any]:
    other = copy.deepcopy(body[element][0])
    other.update(changes)
    body[element].append(other)
    return body


def _refused(world: World, body: dict[str, Any]) -> tuple[int, str, str]:
    response = post(f.client_for(world.coordinator), "/fhir/Patient", body)
    assert not Citizen.objects.filter(cpr=CPR).exists()
    outcome = response.json()
    return response.status_code, issue_code(response), outcome["issue"][0]["details"]["text"]


@pytest.mark.parametrize("use", ["old", "secondary", "temp"])
def test_a_cpr_number_not_marked_official_is_not_registered_as_hers(world: World, use: str) -> None:
    body = bodies.patient(CPR)
    body["identifier"][0]["use"] = use

    status, code, text = _refused(world, body)

    assert (status, code) == (400, "patient.cpr_use_invalid")
    assert "official" in text and CPR not in text
    entry = AuditEntry.objects.filter(action="create").latest("pk")
    assert (entry.outcome, entry.reason_code) == ("denied", "patient.cpr_use_invalid")


@pytest.mark.parametrize("use", ["official", None])
def test_an_official_cpr_number_is_registered(world: World, use: str | None) -> None:
    body = bodies.patient(CPR)
    if use:
        body["identifier"][0]["use"] = use
    response = post(f.client_for(world.coordinator), "/fhir/Patient", body)
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("element", "changes", "code"),
    [
        ("name", {"given": ["Else"]}, "patient.name_ambiguous"),
        ("address", {"line": ["Strandvejen 1"]}, "patient.address_ambiguous"),
        ("telecom", {"value": "+4539000001"}, "patient.phone_ambiguous"),
    ],
)
def test_two_of_what_a_citizen_has_one_of_are_refused_not_the_first_taken(
    world: World, element: str, changes: dict[str, Any], code: str
) -> None:
    body = _second(bodies.patient(CPR), element, **changes)

    status, got, text = _refused(world, body)

    assert (status, got) == (400, code)
    assert text and code not in text


def test_two_gps_are_refused_the_own_gp_decides_disclosure(world: World) -> None:
    first, second = f.gp_practice(), f.gp_practice()
    body = bodies.patient(CPR, gp_id=first.pk)
    body["generalPractitioner"].append({"reference": f"Organization/{second.pk}"})

    assert _refused(world, body)[:2] == (400, "patient.gp_ambiguous")


def test_the_phone_ranked_first_and_the_official_name_are_taken(world: World) -> None:
    body = bodies.patient(CPR)
    body["telecom"] = [
        {"system": "phone", "value": "+4539000002", "rank": 2},
        {"system": "phone", "value": "+4539000001", "rank": 1},
    ]
    body["name"].insert(0, {"use": "maiden", "family": "Jensen", "given": ["Karen"]})
    body["address"].append({**body["address"][0], "use": "work", "line": ["Kontorvej 2"]})

    response = post(f.client_for(world.coordinator), "/fhir/Patient", body)

    assert response.status_code == 201, response.content
    citizen = Citizen.objects.get(cpr=CPR)
    assert (citizen.phone, citizen.family_name, citizen.address_line) == (
        "+4539000001",
        "Hansen",
        "Bernstorffsvej 20",
    )


@pytest.mark.parametrize(
    ("extra", "code", "field"),
    [
        ({"active": False}, "patient.inactive_unsupported", "active"),
        (
            {"link": [{"other": {"reference": "Patient/1"}, "type": "replaced-by"}]},
            "patient.element_unsupported",
            "link",
        ),
        (
            {"contact": [{"name": {"family": "Hansen", "given": ["Ole"]}}]},
            "patient.element_unsupported",
            "contact",
        ),
    ],
)
def test_what_the_platform_does_not_keep_is_refused_not_dropped(
    world: World, extra: dict[str, Any], code: str, field: str
) -> None:
    status, got, text = _refused(world, {**bodies.patient(CPR), **extra})

    assert (status, got) == (400, code)
    assert field in text


@pytest.mark.parametrize("key", ["identifier:of-type", "identifier:missing", "identifier:text"])
def test_a_modifier_on_identifier_in_a_post_body_is_refused_as_a_modifier(
    world: World, key: str
) -> None:
    nurse = f.client_for(world.nurse)
    response = nurse.post("/fhir/Patient/_search", {key: f"{X_ECPR_SYSTEM}|0703921VJ4"})

    assert response.status_code == 400
    assert issue_code(response) == "search.modifier_unsupported"
    assert "0703921VJ4" not in response.content.decode()


def test_a_lower_case_replacement_cpr_in_the_body_finds_her(world: World) -> None:
    Citizen.objects.filter(pk=world.person.pk).update(
        cpr=None, replacement_cpr="0703921VJ4", replacement_cpr_system=X_ECPR_SYSTEM
    )
    nurse = f.client_for(world.nurse)

    found = nurse.post("/fhir/Patient/_search", {"identifier": f"{X_ECPR_SYSTEM}|0703921vj4"})

    assert found.status_code == 200, found.content
    assert [e["resource"]["id"] for e in found.json()["entry"]] == [str(world.person.pk)]
