"""A referral states no purpose but treatment (R3), and a CPR number is read
alike however a person types it on the doors people type on.

``POST /fhir/ServiceRequest`` reads ``X-Purpose-Of-Use`` as every FHIR
type does (decision 0023): a value naming no purpose is ``400
purpose.unknown``, a purpose other than treatment ``403
purpose.not_permitted`` — nothing written, the attempt on the audit log as
denied. The API takes ``010190 1234`` as the coordinator's phone form does."""

from __future__ import annotations

import pytest

from acute.models import Referral
from consent.audit.models import AuditEntry
from core.models import Organisation, Role
from tests import factories as f
from tests.acute.test_api import REFERRAL, service_request

pytestmark = pytest.mark.django_db


def _hospital_physician_posts(cpr: str, purpose: str):
    f.acute_function()
    client = f.client_for(f.staff(Role.PHYSICIAN, f.organisation(Organisation.Kind.HOSPITAL)))
    return client.post(
        "/fhir/ServiceRequest",
        service_request(cpr),
        format="json",
        HTTP_X_PURPOSE_OF_USE=purpose,
    )


def _code(response) -> str:
    return response.json()["issue"][0]["details"]["coding"][0]["code"]


@pytest.mark.parametrize(
    ("purpose", "status", "code", "reason", "recorded"),
    [
        ("bogus", 400, "purpose.unknown", "purpose_unknown", "treatment"),
        ("audit", 403, "purpose.not_permitted", "purpose_not_permitted", "audit"),
        ("HSYSADMIN", 403, "purpose.not_permitted", "purpose_not_permitted", "audit"),
        ("operations", 403, "purpose.not_permitted", "purpose_not_permitted", "operations"),
        ("ETREAT", 403, "purpose.not_permitted", "purpose_not_permitted", "emergency"),
    ],
)
def test_a_referral_stating_another_purpose_is_refused_and_recorded(
    purpose, status, code, reason, recorded
):
    person = f.citizen()
    response = _hospital_physician_posts(person.cpr, purpose)
    assert response.status_code == status
    assert response.json()["resourceType"] == "OperationOutcome"
    assert _code(response) == code
    assert not Referral.objects.exists()
    denied = AuditEntry.objects.get(action="create", resource_type="ServiceRequest")
    assert (denied.outcome, denied.reason_code, denied.purpose) == ("denied", reason, recorded)


@pytest.mark.parametrize("purpose", ["", "treatment", "TREAT"])
def test_a_referral_stating_treatment_or_nothing_is_taken_for_treatment(purpose):
    person = f.citizen()
    response = _hospital_physician_posts(person.cpr, purpose)
    assert response.status_code == 201, response.content
    created = AuditEntry.objects.get(action="create", resource_type="ServiceRequest")
    assert (created.outcome, created.purpose, created.citizen_id) == (
        "permitted",
        "treatment",
        person.pk,
    )


@pytest.mark.parametrize("typed", ["{d} {s}", " {d}-{s} ", "{d}{s}", "{d} - {s}"])
def test_the_api_takes_a_cpr_number_typed_with_spaces_as_the_phone_form_does(typed):
    person = f.citizen()
    number = str(person.cpr)
    cpr = typed.format(d=number[:6], s=number[6:])
    coordinator = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    response = coordinator.post(
        "/api/acute/referrals", {**REFERRAL, "source": "gp", "cpr": cpr}, format="json"
    )
    assert response.status_code == 201, response.content
    assert Referral.objects.get().citizen == person


def test_a_cpr_number_with_a_non_breaking_space_is_refused_as_on_the_form():
    person = f.citizen()
    coordinator = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    response = coordinator.post(
        "/api/acute/referrals",
        {**REFERRAL, "source": "gp", "cpr": str(person.cpr)[:6] + "\u00a0" + str(person.cpr)[6:]},
        format="json",
    )
    assert (response.status_code, response.json()["error"]["code"]) == (
        400,
        "referral.cpr_invalid",
    )
    assert not Referral.objects.exists()
