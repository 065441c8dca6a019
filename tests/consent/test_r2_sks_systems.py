"""R2 in every SKS system: SKS's registers are published under the SKS root
``urn:oid:1.2.208.176.2.4`` and sub-systems of it (``…2.4.12`` the diagnoses,
``…2.4.<n>`` any other). A psychiatric diagnosis (``DF…``) coded under a
sub-system the platform had not listed was not recognised as SKS: in a
Condition's evidence, a nursing problem's code or a care plan's reason it was
kept and shared, and the database let it be stored. Every door now judges
every system under the SKS root as SKS."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from consent.audit.models import AuditEntry
from consent.classifications import SKS, classification_of
from consent.models import RecordResource, RecordVersion
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, post, put

SKS_ROOT = "urn:oid:1.2.208.176.2.4"
SKS_OTHER = "urn:oid:1.2.208.176.2.4.13"

# A DF… under systems below the SKS root, spelled as senders spell them.
PSYCHIATRIC = [
    (SKS_OTHER, "DF32"),
    ("urn:oid:1.2.208.176.2.4.2", "DF321"),
    ("URN:OID:1.2.208.176.2.4.99 ", "df 20"),
    ("1.2.208.176.2.4.13", "D F43.1"),
    ("urn:oid:1.2.208.176.2.4.13|2024", "DF 100"),
    ("urn:oid:1.2.208.176.2.4.7.1", "DF32"),
]


def _issue(response: Any) -> dict[str, Any]:
    issue = response.json()["issue"][0]
    return {
        "code": issue["details"]["coding"][0]["code"],
        "rule": [c["code"] for c in issue["details"]["coding"][1:]],
        "expression": issue.get("expression", []),
        "diagnostics": issue["diagnostics"],
    }


def _refused_psychiatric(response: Any, expression: str) -> None:
    assert response.status_code == 400, response.content
    issue = _issue(response)
    assert issue["code"] == "record.psychiatric_diagnosis", issue
    assert issue["rule"] == ["R2"], issue
    assert issue["expression"] == [expression], issue
    assert "SKS" in issue["diagnostics"], issue


def _evidence(body: dict[str, Any], system: str, code: str) -> dict[str, Any]:
    return {**body, "evidence": [{"code": [{"coding": [{"system": system, "code": code}]}]}]}


def test_every_system_under_the_sks_root_is_judged_as_sks() -> None:
    for system in [SKS_ROOT, SKS_OTHER, "1.2.208.176.2.4.99", "urn:oid:1.2.208.176.2.4.7.1"]:
        assert classification_of(system) is SKS, system
    # A sibling of the root is not under it.
    assert classification_of("urn:oid:1.2.208.176.2.40") is None


@pytest.mark.parametrize(("system", "code"), PSYCHIATRIC)
def test_r2_a_psychiatric_diagnosis_in_an_sks_sub_system_is_refused_as_evidence(
    world: World, system: str, code: str
) -> None:
    before = RecordResource.objects.count()
    body = _evidence(bodies.diagnosis(world.person.pk, code="I10"), system, code)
    response = post(f.client_for(world.nurse), "/fhir/Condition", body)
    _refused_psychiatric(response, "Condition.evidence[0].code[0].coding[0]")
    assert RecordResource.objects.count() == before


@pytest.mark.parametrize(
    ("resource_type", "make", "expression"),
    [
        (
            "Condition",
            lambda pid: {
                **bodies.diagnosis(pid, code="I10"),
                "code": {
                    "coding": [
                        {"system": bodies.ICD10, "code": "I10"},
                        {"system": SKS_OTHER, "code": "DF32"},
                    ]
                },
            },
            "Condition.code.coding[1]",
        ),
        (
            "Condition",
            lambda pid: {
                **bodies.nursing_problem(pid),
                "code": {"coding": [{"system": SKS_OTHER, "code": "DF32"}]},
            },
            "Condition.code.coding[0]",
        ),
        (
            "CarePlan",
            lambda pid: {
                **bodies.care_plan(pid),
                "activity": [
                    {
                        "detail": {
                            "status": "scheduled",
                            "reasonCode": [{"coding": [{"system": SKS_OTHER, "code": "DF32"}]}],
                        }
                    }
                ],
            },
            "CarePlan.activity[0].detail.reasonCode[0].coding[0]",
        ),
    ],
)
def test_r2_a_psychiatric_diagnosis_in_an_sks_sub_system_is_refused_wherever_it_sits(
    world: World, resource_type: str, make: Any, expression: str
) -> None:
    response = post(f.client_for(world.nurse), f"/fhir/{resource_type}", make(world.person.pk))
    _refused_psychiatric(response, expression)
    denied = AuditEntry.objects.filter(citizen_id=world.person.pk, outcome="denied").latest("id")
    assert denied.reason_code == "record.psychiatric_diagnosis"


def test_r2_an_update_cannot_bring_in_a_psychiatric_diagnosis_from_an_sks_sub_system(
    world: World,
) -> None:
    url = f"/fhir/Condition/{world.diagnosis.pk}"
    body = _evidence(bodies.diagnosis(world.person.pk, code="I10"), SKS_OTHER, "DF32")
    response = put(f.client_for(world.nurse), url, body, HTTP_IF_MATCH='W/"1"')
    _refused_psychiatric(response, "Condition.evidence[0].code[0].coding[0]")
    world.diagnosis.refresh_from_db()
    assert world.diagnosis.version_id == 1
    assert RecordVersion.objects.filter(resource=world.diagnosis).count() == 1


def test_r2_a_transaction_with_a_diagnosis_from_an_sks_sub_system_writes_nothing(
    world: World,
) -> None:
    pid = world.person.pk
    before = RecordResource.objects.count()
    problem = _evidence(bodies.nursing_problem(pid), SKS_OTHER, "DF32")
    response = post(
        f.client_for(world.nurse),
        "/fhir/",
        bodies.transaction(bodies.diagnosis(pid, code="I10"), problem),
    )
    assert response.status_code == 400, response.content
    issue = _issue(response)
    assert issue["code"] == "record.psychiatric_diagnosis" and issue["rule"] == ["R2"]
    assert issue["expression"] == ["Bundle.entry[1].resource.evidence[0].code[0].coding[0]"]
    assert RecordResource.objects.count() == before


def test_r2_the_partner_load_judges_sks_sub_systems_too(world: World, tmp_path) -> None:
    from django.core.management import CommandError, call_command

    world.department.sor_code = "900000299998"
    world.department.save(update_fields=["sor_code"])
    path = tmp_path / "bundle.json"
    diagnosis = _evidence(bodies.diagnosis(world.person.pk, code="DI109"), SKS_OTHER, "DF32")
    path.write_text(json.dumps(bodies.transaction(diagnosis)))
    before = RecordResource.objects.count()
    with pytest.raises(CommandError, match="R2"):
        call_command("load_shared_record", str(path), "--source-sor", "900000299998")
    assert RecordResource.objects.count() == before


def test_somatic_sks_codes_in_a_sub_system_are_still_taken_and_stored_as_sks(
    world: World,
) -> None:
    client = f.client_for(world.nurse)
    # An SKS diagnosis outside chapter F, and F… without its D (functioning,
    # not a diagnosis), under a sub-system of the root.
    body = bodies.diagnosis(world.person.pk, code="de 11.9", system=SKS_OTHER)
    body = _evidence(body, "urn:oid:1.2.208.176.2.4.13", "FMA01")
    created = post(client, "/fhir/Condition", body)
    assert created.status_code == 201, created.content
    stored = RecordResource.objects.get(pk=int(created.json()["id"]))
    assert (stored.code_system, stored.code) == (SKS_OTHER, "DE11.9")


def test_r2_the_database_judges_sks_sub_systems_as_sks(world: World) -> None:
    rows = RecordResource.objects.filter(pk=world.diagnosis.pk)
    for system, code in [(SKS_OTHER, "DF32"), ("urn:oid:1.2.208.176.2.4.2", " df321")]:
        with pytest.raises(IntegrityError), transaction.atomic():
            rows.update(code_system=system, code=code)
    for system, code in [(SKS_OTHER, "FMA01"), (SKS_OTHER, "DE119")]:
        with transaction.atomic():
            rows.update(code_system=system, code=code)
