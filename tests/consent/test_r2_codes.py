"""R2 at every door: every coding of a record resource — second codings,
contained resources, extensions, any element — is judged by its system, in
every system that carries ICD-10 (or SKS, ICPC-2, ICD-11), over FHIR create,
update, transaction and the partner load; and a somatic code that only looks
psychiatric (ICPC-2 F70, conjunctivitis) is taken."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from consent.audit.models import AuditEntry
from consent.models import RecordResource, RecordVersion
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, post, put

ICPC2 = "http://hl7.org/fhir/sid/icpc-2"
SKS_D = "urn:oid:1.2.208.176.2.4.12"
SKS = "urn:oid:1.2.208.176.2.4"
SNOMED = "http://snomed.info/sct"
ICD11 = "http://id.who.int/icd/release/11/mms"

# Chapter F (or its national form) in every system that carries ICD-10.
PSYCHIATRIC = [
    (bodies.ICD10, "F32.1"),
    ("http://hl7.org/fhir/sid/icd-10-cm", "F32.A"),
    ("http://hl7.org/fhir/sid/icd-10-nl", "F20"),
    ("http://hl7.org/fhir/sid/icd-10-de", "F10.2"),
    ("http://fhir.de/CodeSystem/bfarm/icd-10-gm", "F33.1"),
    ("urn:oid:2.16.840.1.113883.6.3", "F32"),
    ("urn:oid:2.16.840.1.113883.6.90", "F41.1"),
    ("http://hl7.dk/fhir/core/CodeSystem/icd10-danish-extensions", "F32.9A"),
    (SKS_D, "DF321"),
    (SKS, "DF200"),
    # Spelled loosely: a code is judged, not its spelling.
    ("HTTPS://hl7.org/fhir/sid/ICD-10/", "f32.1"),
    ("2.16.840.1.113883.6.3", "f 32"),
    # An SKS code sent under ICD-10's system.
    (bodies.ICD10, "DF321"),
    # The GPs' psychological chapter and ICD-11's mental disorders.
    (ICPC2, "P76"),
    ("urn:oid:2.16.840.1.113883.6.139", "P74"),
    ("urn:oid:1.2.208.176.2.31", "P76"),
    ("http://id.who.int/icd/release/11/mms", "6A70"),
]


def _outcome(response: Any) -> dict[str, Any]:
    issue = response.json()["issue"][0]
    return {
        "code": issue["details"]["coding"][0]["code"],
        "rule": [c["code"] for c in issue["details"]["coding"][1:]],
        "diagnostics": issue["diagnostics"],
        "expression": issue.get("expression", []),
    }


def _refused(response: Any, code: str, expression: str) -> None:
    assert response.status_code == 400, response.content
    outcome = _outcome(response)
    assert outcome["code"] == code, outcome
    assert outcome["rule"] == ["R2"], outcome
    # Danish (no Accept-Language); in a transaction, after the entry it is in.
    assert "R2 (kun tilladte data): " in outcome["diagnostics"], outcome
    assert outcome["expression"] == [expression], outcome
    # Never the database constraint's own words.
    assert "record_no_psychiatric_diagnosis" not in response.content.decode()
    assert "Begrænsning" not in response.content.decode()


def _coding(system: str, code: str) -> dict[str, str]:
    return {"system": system, "code": code}


def _last_denial(world: World) -> AuditEntry:
    return AuditEntry.objects.filter(citizen_id=world.person.pk, outcome="denied").latest("id")


def test_r2_chapter_f_is_refused_in_every_system_that_carries_icd10(world: World) -> None:
    client = f.client_for(world.nurse)
    before = RecordResource.objects.count()
    for system, code in PSYCHIATRIC:
        body = bodies.diagnosis(world.person.pk, code=code, system=system)
        response = post(client, "/fhir/Condition", body)
        _refused(response, "record.psychiatric_diagnosis", "Condition.code.coding[0]")
        entry = _last_denial(world)
        assert (entry.action, entry.reason_code) == ("create", "record.psychiatric_diagnosis")
    assert RecordResource.objects.count() == before


def test_r2_a_psychiatric_second_coding_is_refused_and_named(world: World) -> None:
    body = bodies.diagnosis(world.person.pk, code="I10")
    body["code"]["coding"].append(_coding(SKS_D, "DF321"))
    response = post(f.client_for(world.nurse), "/fhir/Condition", body)
    _refused(response, "record.psychiatric_diagnosis", "Condition.code.coding[1]")
    assert "SKS" in _outcome(response)["diagnostics"]


@pytest.mark.parametrize(
    ("resource_type", "make", "expression"),
    [
        # A contained diagnosis behind a care plan.
        (
            "CarePlan",
            lambda pid: {
                **bodies.care_plan(pid),
                "contained": [
                    {
                        "resourceType": "Condition",
                        "id": "p1",
                        "code": {"coding": [_coding(bodies.ICD10, "F32.1")]},
                        "subject": {"reference": f"Patient/{pid}"},
                    }
                ],
                "addresses": [{"reference": "#p1"}],
            },
            "CarePlan.contained[0].code.coding[0]",
        ),
        # What the plan's activity is for.
        (
            "CarePlan",
            lambda pid: {
                **bodies.care_plan(pid),
                "activity": [
                    {
                        "detail": {
                            "status": "scheduled",
                            "reasonCode": [{"coding": [_coding(ICPC2, "P76")]}],
                        }
                    }
                ],
            },
            "CarePlan.activity[0].detail.reasonCode[0].coding[0]",
        ),
        # The evidence a nursing problem rests on.
        (
            "Condition",
            lambda pid: {
                **bodies.nursing_problem(pid),
                "evidence": [{"code": [{"coding": [_coding(SKS_D, "DF100")]}]}],
            },
            "Condition.evidence[0].code[0].coding[0]",
        ),
        # An extension carrying a coding, on municipal help.
        (
            "EpisodeOfCare",
            lambda pid: {
                **bodies.municipal_help(pid),
                "extension": [
                    {
                        "url": "urn:example:reason",
                        "valueCoding": _coding("http://hl7.org/fhir/sid/icd-10-cm", "F03.90"),
                    }
                ],
            },
            "EpisodeOfCare.extension[0].valueCoding",
        ),
        # An extension on a primitive element of a hospital contact.
        (
            "Encounter",
            lambda pid: {
                **bodies.hospital_contact(pid, 0),
                "_status": {
                    "extension": [
                        {
                            "url": "urn:example:why",
                            "valueCodeableConcept": {"coding": [_coding(bodies.ICD10, "F20")]},
                        }
                    ]
                },
            },
            "Encounter.status.extension[0].valueCodeableConcept.coding[0]",
        ),
    ],
)
def test_r2_a_psychiatric_code_anywhere_in_the_resource_is_refused(
    world: World, resource_type: str, make: Any, expression: str
) -> None:
    body = make(world.person.pk)
    if resource_type == "Encounter":
        body["serviceProvider"] = {"reference": f"Organization/{world.department.pk}"}
    response = post(f.client_for(world.nurse), f"/fhir/{resource_type}", body)
    _refused(response, "record.psychiatric_diagnosis", expression)
    assert _last_denial(world).reason_code == "record.psychiatric_diagnosis"


def test_r2_icpc2_chapter_f_the_eye_is_somatic_and_accepted(world: World) -> None:
    client = f.client_for(world.nurse)
    pid = world.person.pk
    only_icpc = bodies.diagnosis(pid, code="F70", system=ICPC2)
    created = post(client, "/fhir/Condition", only_icpc)
    assert created.status_code == 201, created.content
    assert created.json()["code"]["coding"] == [_coding(ICPC2, "F70")]
    # As a GP sends it (MedCom): the SKS diagnosis and the ICPC-2 code together.
    both = bodies.diagnosis(pid, code="DH109", system=SKS_D)
    both["code"]["coding"].append(_coding("urn:oid:1.2.208.176.2.31", "F70"))
    created = post(client, "/fhir/Condition", both)
    assert created.status_code == 201, created.content
    stored = RecordResource.objects.get(pk=int(created.json()["id"]))
    assert (stored.code_system, stored.code) == (SKS_D, "DH109")
    problem = bodies.nursing_problem(pid)
    problem["code"] = {"coding": [_coding(ICPC2, "F70")], "text": "Øjenbetændelse"}
    created = post(client, "/fhir/Condition", problem)
    assert created.status_code == 201, created.content
    # SKS codes other than the D-register are not diagnoses: F there is functioning (ICF).
    plan = bodies.care_plan(pid)
    plan["category"] = [{"coding": [_coding(SKS, "FMA01")]}]
    assert post(client, "/fhir/CarePlan", plan).status_code == 201


def test_r2_a_diagnosis_must_be_coded_in_a_system_r2_can_judge(world: World) -> None:
    client = f.client_for(world.nurse)
    pid = world.person.pk
    with_snomed = bodies.diagnosis(pid, code="I10")
    with_snomed["code"]["coding"].append(_coding(SNOMED, "35489007"))
    _refused(
        post(client, "/fhir/Condition", with_snomed),
        "record.diagnosis_system_unknown",
        "Condition.code.coding[1]",
    )
    contained = bodies.care_plan(pid)
    contained["contained"] = [
        {
            "resourceType": "Condition",
            "id": "p1",
            "code": {"coding": [_coding(SNOMED, "35489007")]},
            "subject": {"reference": f"Patient/{pid}"},
        }
    ]
    _refused(
        post(client, "/fhir/CarePlan", contained),
        "record.diagnosis_system_unknown",
        "CarePlan.contained[0].code.coding[0]",
    )
    no_system = bodies.nursing_problem(pid)
    no_system["code"] = {"coding": [{"code": "F32"}]}
    _refused(
        post(client, "/fhir/Condition", no_system),
        "record.code_system_missing",
        "Condition.code.coding[0]",
    )
    no_code = bodies.care_plan(pid)
    no_code["category"] = [{"coding": [{"system": bodies.ICD10, "display": "Depression"}]}]
    _refused(
        post(client, "/fhir/CarePlan", no_code),
        "record.diagnosis_code_required",
        "CarePlan.category[0].coding[0]",
    )
    # ICD-10's chapter V by its roman numeral is no code R2 can judge.
    _refused(
        post(client, "/fhir/Condition", bodies.diagnosis(pid, code="V", system=bodies.ICD10)),
        "record.diagnosis_code_invalid",
        "Condition.code.coding[0]",
    )
    only_snomed = bodies.diagnosis(pid, code="38341003", system=SNOMED)
    _refused(
        post(client, "/fhir/Condition", only_snomed),
        "record.diagnosis_system_unknown",
        "Condition.code.coding[0]",
    )


@pytest.mark.parametrize(
    ("system", "code"),
    [
        # P76 (depression) spelled with the Cyrillic Er (U+0420) for its P.
        (ICPC2, "\u042076"),
        (ICPC2, "-P76"),
        ("urn:oid:1.2.208.176.2.31", ".P74"),
        (ICD11, "(6A70)"),
        # A chapter's number is no code.
        (ICD11, "06"),
    ],
)
def test_r2_an_icpc2_or_icd11_code_not_shaped_as_one_cannot_be_judged(
    world: World, system: str, code: str
) -> None:
    """A nursing problem or a second coding in ICPC-2 or ICD-11 is judged by
    its code; one that only looks like a code is refused, not kept unjudged."""
    client = f.client_for(world.nurse)
    before = RecordResource.objects.count()
    problem = bodies.nursing_problem(world.person.pk)
    problem["code"] = {"coding": [_coding(system, code)]}
    _refused(
        post(client, "/fhir/Condition", problem),
        "record.diagnosis_code_invalid",
        "Condition.code.coding[0]",
    )
    second = bodies.diagnosis(world.person.pk, code="E11")
    second["code"]["coding"].append(_coding(system, code))
    _refused(
        post(client, "/fhir/Condition", second),
        "record.diagnosis_code_invalid",
        "Condition.code.coding[1]",
    )
    assert _last_denial(world).reason_code == "record.diagnosis_code_invalid"
    assert RecordResource.objects.count() == before


def test_r2_icpc2_process_codes_and_icd11_stem_codes_are_still_taken(world: World) -> None:
    client = f.client_for(world.nurse)
    for system, code in [(ICPC2, "-31"), (ICPC2, "K86"), (ICD11, "BA00"), (ICD11, "1A00")]:
        problem = bodies.nursing_problem(world.person.pk)
        problem["code"] = {"coding": [_coding(system, code)]}
        created = post(client, "/fhir/Condition", problem)
        assert created.status_code == 201, (system, code, created.content)


def test_r2_an_update_cannot_bring_in_what_create_refuses(world: World) -> None:
    client = f.client_for(world.nurse)
    url = f"/fhir/Condition/{world.diagnosis.pk}"
    body = bodies.diagnosis(world.person.pk, code="I10")
    body["code"]["coding"].append(_coding("http://hl7.org/fhir/sid/icd-10-cm", "F32.9"))
    response = put(client, url, body, HTTP_IF_MATCH='W/"1"')
    _refused(response, "record.psychiatric_diagnosis", "Condition.code.coding[1]")
    entry = _last_denial(world)
    assert (entry.action, entry.reason_code) == ("update", "record.psychiatric_diagnosis")
    world.diagnosis.refresh_from_db()
    assert world.diagnosis.version_id == 1
    assert RecordVersion.objects.filter(resource=world.diagnosis).count() == 1
    # The somatic F-code of ICPC-2 goes in the same way.
    body["code"]["coding"][1] = _coding(ICPC2, "F70")
    assert put(client, url, body, HTTP_IF_MATCH='W/"1"').status_code == 200


def test_r2_a_transaction_with_a_contained_psychiatric_code_writes_nothing(world: World) -> None:
    pid = world.person.pk
    plan = bodies.care_plan(pid)
    plan["contained"] = [
        {
            "resourceType": "Condition",
            "id": "p1",
            "code": {"coding": [_coding(SKS_D, "DF329")]},
            "subject": {"reference": f"Patient/{pid}"},
        }
    ]
    before = RecordResource.objects.count()
    response = post(
        f.client_for(world.nurse), "/fhir/", bodies.transaction(bodies.nursing_problem(pid), plan)
    )
    assert response.status_code == 400, response.content
    outcome = _outcome(response)
    assert outcome["code"] == "record.psychiatric_diagnosis" and outcome["rule"] == ["R2"]
    assert outcome["expression"] == ["Bundle.entry[1].resource.contained[0].code.coding[0]"]
    assert "Bundle.entry[1]" in outcome["diagnostics"] and "R2" in outcome["diagnostics"]
    assert RecordResource.objects.count() == before


def test_r2_the_partner_load_judges_every_coding_too(world: World, tmp_path) -> None:
    from django.core.management import CommandError, call_command

    world.department.sor_code = "900000299998"
    world.department.save(update_fields=["sor_code"])
    diagnosis = bodies.diagnosis(world.person.pk, code="DI109", system=SKS_D)
    diagnosis["code"]["coding"].append(_coding(SKS, "DF431"))
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bodies.transaction(diagnosis)))
    with pytest.raises(CommandError, match="R2"):
        call_command("load_shared_record", str(path), "--source-sor", "900000299998")
    diagnosis["code"]["coding"][1] = _coding(ICPC2, "F70")
    path.write_text(json.dumps(bodies.transaction(diagnosis)))
    call_command("load_shared_record", str(path), "--source-sor", "900000299998")
    assert RecordResource.objects.filter(code="DI109").count() == 1


def test_r2_the_database_judges_the_stored_code_by_its_system(world: World) -> None:
    """The last line of defence, behind the door: chapter F under an ICD-10
    system is refused by the database, ICPC-2's F (the eye) is not."""
    rows = RecordResource.objects.filter(pk=world.diagnosis.pk)
    for system, code in [
        ("http://hl7.org/fhir/sid/icd-10-cm", "F32.9"),
        (SKS_D, "DF321"),
        (SKS, "DF200"),
        (ICPC2, "P76"),
        (bodies.ICD10, " f20"),
        ("http://hl7.org/fhir/sid/ICD-10", "DF20"),
    ]:
        with pytest.raises(IntegrityError), transaction.atomic():
            rows.update(code_system=system, code=code)
    for system, code in [(ICPC2, "F70"), (SKS, "FMA01"), (SNOMED, "F")]:
        with transaction.atomic():
            rows.update(code_system=system, code=code)


def test_r2_what_the_store_keeps_is_the_judged_code_normalised(world: World) -> None:
    body = bodies.diagnosis(world.person.pk, code="e11.9", system="HTTPS://hl7.org/fhir/sid/icd-10")
    body["code"]["coding"].insert(0, _coding(ICPC2, "T90"))
    created = post(f.client_for(world.nurse), "/fhir/Condition", copy.deepcopy(body))
    assert created.status_code == 201, created.content
    stored = RecordResource.objects.get(pk=int(created.json()["id"]))
    # ICD-10 is preferred over ICPC-2 as the main code (analyses count by it).
    assert (stored.code_system, stored.code) == (bodies.ICD10, "E11.9")
    found = f.client_for(world.nurse).get(
        f"/fhir/Condition?patient={world.person.pk}&code={bodies.ICD10}|E11.9"
    )
    assert found.json()["total"] == 1
