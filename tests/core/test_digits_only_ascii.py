"""A number in a URL, a header or a field is the digits 0-9 only.

``str.isdigit`` also takes a superscript such as "²" (which ``int`` refuses)
and the digits of other scripts (which ``int`` reads as a number): such a
value is a client's mistake, answered 4xx, never a 500, and never a CPR
number.
"""

from __future__ import annotations

import pytest

from core.cpr import normalise_cpr
from core.errors import InvalidInput
from core.models import Role
from core.validation import is_digits
from integrations.models import Partner
from integrations.transport import SENDER_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from tests import factories as f

pytestmark = pytest.mark.django_db

SUPERSCRIPT_TWO = "\u00b2"
FULLWIDTH_ONE = "\uff11"


def test_only_the_digits_0_to_9_are_digits() -> None:
    assert is_digits("0123456789")
    assert not is_digits("")
    assert not is_digits(SUPERSCRIPT_TWO)
    assert not is_digits(FULLWIDTH_ONE * 3)
    assert not is_digits("\u0661\u0662")  # Arabic-Indic digits


def test_no_more_digits_than_int_reads_are_digits() -> None:
    """Past 4300 digits ``int`` raises (Python's guard against quadratic
    parsing): such a run is no number, refused 4xx at every door
    (``tests/consent/test_numbers_past_the_int_limit.py``)."""
    assert is_digits("9" * 4300)
    assert not is_digits("9" * 4301)


@pytest.mark.parametrize(
    "path",
    [
        f"/fhir/Condition?_count={SUPERSCRIPT_TWO}",
        f"/fhir/Condition?_offset={SUPERSCRIPT_TWO}",
        f"/fhir/Condition?patient={SUPERSCRIPT_TWO}",
        f"/fhir/Condition?patient=Patient/{SUPERSCRIPT_TWO}",
        f"/fhir/Condition/{SUPERSCRIPT_TWO}",
        f"/fhir/Encounter/visit-{SUPERSCRIPT_TWO}",
        f"/fhir/Task/visit-{SUPERSCRIPT_TWO}",
        f"/fhir/ServiceRequest/referral-{SUPERSCRIPT_TWO}",
        f"/fhir/Observation?patient=Patient/{SUPERSCRIPT_TWO}",
        f"/fhir/MedicationAdministration?patient={SUPERSCRIPT_TWO}",
        f"/fhir/Patient/{SUPERSCRIPT_TWO}",
        f"/fhir/Patient?_id={SUPERSCRIPT_TWO}",
        f"/fhir/Consent?patient={SUPERSCRIPT_TWO}",
    ],
)
def test_a_superscript_digit_in_a_fhir_url_is_a_4xx_operation_outcome(path: str) -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    response = f.client_for(coordinator).get(path)
    assert 400 <= response.status_code < 500, (path, response.status_code)
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "path",
    [
        f"/fhir/AuditEvent/{SUPERSCRIPT_TWO}",
        f"/fhir/AuditEvent?patient={SUPERSCRIPT_TWO}",
    ],
)
def test_a_superscript_digit_in_the_auditors_fhir_url_is_a_4xx(path: str) -> None:
    auditor = f.staff(Role.AUDITOR, f.acute_function())
    response = f.client_for(auditor).get(path)
    assert 400 <= response.status_code < 500, (path, response.status_code)
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_superscript_signature_timestamp_is_refused_not_a_500(client) -> None:
    partner = f.integration_partner(Partner.Kind.HOSPITAL, f.hospital_department())
    body = b'{"resourceType": "Bundle", "type": "message"}'
    response = client.generic(
        "POST",
        "/fhir/$process-message",
        body,
        content_type="application/fhir+json",
        headers={
            SENDER_HEADER: partner.code,
            TIMESTAMP_HEADER: SUPERSCRIPT_TWO,
            SIGNATURE_HEADER: signature(partner.secret, SUPERSCRIPT_TWO, body),
        },
    )
    assert response.status_code == 401
    assert response.json()["issue"][0]["details"]["coding"][0]["code"] == "auth.partner_refused"


@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, FULLWIDTH_ONE])
def test_a_cpr_number_in_other_digits_is_no_cpr_number(digit: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        normalise_cpr(digit * 10)
    assert refused.value.code == "cpr.invalid"


def test_a_superscript_version_in_if_match_is_a_400_not_a_500() -> None:
    from consent.models import RecordResource

    acute = f.acute_function()
    coordinator = f.staff(Role.COORDINATOR, acute)
    person = f.citizen()
    f.acute_referral(person=person)
    client = f.client_for(coordinator)
    body = {
        "resourceType": "Condition",
        "meta": {"tag": [{"system": "urn:tvaerakut:data-category", "code": "nursing-problem"}]},
        "code": {"text": "Risiko for tryksår"},
        "subject": {"reference": f"Patient/{person.pk}"},
    }
    created = client.post("/fhir/Condition", body, format="json")
    assert created.status_code == 201, created.content
    rid = created.json()["id"]
    response = client.put(
        f"/fhir/Condition/{rid}",
        {**body, "id": rid},
        format="json",
        HTTP_IF_MATCH=f'W/"{SUPERSCRIPT_TWO}"',
    )
    assert response.status_code == 400
    assert response.json()["issue"][0]["details"]["coding"][0]["code"] == "record.version_invalid"
    assert RecordResource.objects.get(pk=rid).version_id == 1


def test_a_superscript_actor_id_in_a_consent_is_a_400_and_nothing_is_recorded() -> None:
    from consent.models import ConsentDirective

    acute = f.acute_function()
    coordinator = f.staff(Role.COORDINATOR, acute)
    person = f.citizen()
    f.acute_referral(person=person)
    refusal = {
        "resourceType": "Consent",
        "status": "active",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{person.pk}"},
        "extension": [{"url": "urn:tvaerakut:fhir:consent-given-how", "valueCode": "oral"}],
        "provision": {
            "type": "deny",
            "actor": [
                {
                    "role": {"coding": [{"code": "PRCP"}]},
                    "reference": {"reference": f"Organization/{SUPERSCRIPT_TWO}"},
                }
            ],
        },
    }
    response = f.client_for(coordinator).post("/fhir/Consent", refusal, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["resourceType"] == "OperationOutcome"
    assert not ConsentDirective.objects.filter(citizen=person).exists()
