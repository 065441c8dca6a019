"""R2: a referral posted as a FHIR ServiceRequest that codes a psychiatric
diagnosis — ICD-10 chapter F however it is written, SKS's DF, ICPC-2's P, in
the reason, the requested service or an extension — is refused at the door
naming the rule, nothing is written, and the attempt is on the citizen's
record as denied (R9). A somatic code is taken."""

from __future__ import annotations

from typing import Any

import pytest

from acute.models import Episode, Referral
from consent.audit.models import AuditEntry
from core.models import Organisation, Role
from tests import factories as f
from tests.acute.test_api import service_request

pytestmark = pytest.mark.django_db

ICD10 = "http://hl7.org/fhir/sid/icd-10"
SKS = "urn:oid:1.2.208.176.2.4.12"
ICPC2 = "urn:oid:1.2.208.176.2.31"


def _post(body: dict[str, Any]):
    physician = f.staff(Role.PHYSICIAN, f.organisation(Organisation.Kind.HOSPITAL))
    return f.client_for(physician).post("/fhir/ServiceRequest", body, format="json")


def _coded(system: str, code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": system, "code": code, "display": "Depression"}]}]


@pytest.mark.parametrize(
    ("element", "system", "code"),
    [
        ("reasonCode", ICD10, "F32.1"),
        ("reasonCode", ICD10, "f321"),
        ("reasonCode", ICD10, "F 32"),
        ("reasonCode", "https://hl7.org/fhir/sid/icd-10/", "F20"),
        ("reasonCode", SKS, "DF321"),
        ("reasonCode", SKS, "df32.1"),
        ("reasonCode", ICPC2, "P76"),
        ("code", ICD10, "F10.2"),
        ("orderDetail", SKS, "DF03"),
        # Any system under the SKS root is SKS.
        ("reasonCode", "urn:oid:1.2.208.176.2.4.13", "DF32"),
    ],
)
def test_a_psychiatric_diagnosis_coded_in_a_referral_is_refused_and_audited(element, system, code):
    f.acute_function()
    person = f.citizen()
    body = service_request(person.cpr)
    coded = _coded(system, code)
    body[element] = coded[0] if element == "code" else coded

    response = _post(body)

    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "record.psychiatric_diagnosis"
    assert "R2" in issue["diagnostics"]
    assert not Referral.objects.exists()
    assert not Episode.objects.exists()
    assert (
        AuditEntry.objects.filter(
            action="create",
            resource_type="ServiceRequest",
            outcome="denied",
            reason_code="record.psychiatric_diagnosis",
            citizen_id=person.pk,
        ).count()
        == 1
    )


def test_a_psychiatric_code_in_an_extension_is_refused_too():
    f.acute_function()
    person = f.citizen()
    body = service_request(person.cpr)
    body["extension"].append(
        {
            "url": "https://example.org/fhir/StructureDefinition/indication",
            "valueCodeableConcept": _coded(ICD10, "F41.0")[0],
        }
    )

    response = _post(body)

    assert response.status_code == 400
    assert response.json()["issue"][0]["details"]["coding"][0]["code"] == (
        "record.psychiatric_diagnosis"
    )
    assert not Referral.objects.exists()


@pytest.mark.parametrize(
    ("system", "code"),
    [(ICD10, "J18.9"), (SKS, "DJ189"), ("urn:oid:2.16.840.1.113883.6.139", "F70")],
)
def test_a_somatic_diagnosis_coded_in_a_referral_is_taken(system, code):
    f.acute_function()
    person = f.citizen()
    body = service_request(person.cpr)
    body["reasonCode"] = [{"text": "Pneumoni", "coding": [{"system": system, "code": code}]}]

    response = _post(body)

    assert response.status_code == 201, response.json()
    assert Referral.objects.get(citizen=person).reason == "Pneumoni"


def test_a_code_without_its_system_cannot_be_judged_and_is_refused():
    # "F32" alone could be a depression (ICD-10) or an eye (ICPC-2 chapter F).
    f.acute_function()
    person = f.citizen()
    body = service_request(person.cpr)
    body["reasonCode"] = [{"text": "Nedtrykt", "coding": [{"code": "F32"}]}]

    response = _post(body)

    assert response.status_code == 400
    assert response.json()["issue"][0]["details"]["coding"][0]["code"] == (
        "record.code_system_missing"
    )
    assert not Referral.objects.exists()
