"""R9 on every door a referral comes in by: a request that names a citizen
(by platform id or CPR number in the body, or by a ServiceRequest's
subject) and is refused — for the role, or because the organisation does
not refer to the acute function — is recorded as denied on that citizen's
log. The answer is the same whether or not she is registered, and a number
that names nobody puts the attempt on no one's log."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from consent.audit.models import AuditEntry
from core.models import Membership, Role
from tests import factories as f
from tests.acute.test_api import service_request
from tests.core.refusal_doors import newest

pytestmark = pytest.mark.django_db

FHIR = "application/fhir+json"
REFERRAL = {
    "urgency": "within_2_hours",
    "reason": "Feber og konfusion",
    "responsible_physician_name": "Læge Hansen",
    "responsible_physician_phone": "+4539000000",
}
# Roles no door for a new referral lets in.
NEVER_REFERRING = [
    Role.ACUTE_NURSE,
    Role.MEDICINE_OFFICER,
    Role.AUDITOR,
    Role.ANALYST,
    Role.ADMINISTRATOR,
]


def _denied(before: int) -> list[tuple[Any, ...]]:
    return [
        (e.citizen_id, e.outcome, e.reason_code, e.resource_type, e.action)
        for e in AuditEntry.objects.filter(pk__gt=before).order_by("pk")
    ]


def _api(member: Membership, body: dict[str, Any]) -> Any:
    return f.client_for(member).post("/api/acute/referrals", body, format="json")


def _fhir(member: Membership, body: dict[str, Any]) -> Any:
    return f.client_for(member).post("/fhir/ServiceRequest", json.dumps(body), content_type=FHIR)


def _signed_in(member: Membership) -> Client:
    client = Client()
    assert f.log_in(client, member).status_code == 302
    return client


@pytest.mark.parametrize("role", NEVER_REFERRING)
@pytest.mark.parametrize("named_by", ["citizen_id", "cpr"])
def test_a_role_refused_a_referral_on_the_api_is_recorded_on_the_citizen_named(
    role: str, named_by: str
) -> None:
    person = f.citizen()
    member = f.staff(role, f.acute_function())
    before = newest()
    named = {"citizen_id": person.pk} if named_by == "citizen_id" else {"cpr": person.cpr}
    response = _api(member, {**REFERRAL, **named})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "auth.forbidden"
    assert _denied(before) == [
        (person.pk, "denied", "role_not_permitted", "ServiceRequest", "create")
    ]
    # Alike for a number that names nobody, recorded on no one.
    before = newest()
    nobody = {"citizen_id": 987654321} if named_by == "citizen_id" else {"cpr": f.cpr_number()}
    other = _api(member, {**REFERRAL, **nobody})
    assert (other.status_code, other.json()) == (403, response.json())
    assert _denied(before) == [(None, "denied", "role_not_permitted", "ServiceRequest", "create")]


@pytest.mark.parametrize("role", [*NEVER_REFERRING, Role.COORDINATOR])
@pytest.mark.parametrize("named_by", ["reference", "identifier"])
def test_a_role_refused_a_fhir_referral_is_recorded_on_the_subject(
    role: str, named_by: str
) -> None:
    person = f.citizen()
    member = f.staff(role, f.acute_function())
    body = service_request(person.cpr)
    if named_by == "reference":
        body["subject"] = {"reference": f"Patient/{person.pk}"}
    before = newest()
    response = _fhir(member, body)
    assert response.status_code == 403
    assert _denied(before) == [
        (person.pk, "denied", "role_not_permitted", "ServiceRequest", "create")
    ]
    before = newest()
    nobody = service_request(f.cpr_number())
    if named_by == "reference":
        nobody["subject"] = {"reference": "Patient/987654321"}
    assert _fhir(member, nobody).status_code == 403
    assert _denied(before) == [(None, "denied", "role_not_permitted", "ServiceRequest", "create")]


# A physician or home nurse whose organisation does not refer to the acute
# function (here: the acute function itself, and another municipality's
# acute function) is let through by role and refused by the service.
NOT_REFERRERS = [(Role.PHYSICIAN, "acute"), (Role.HOME_NURSE, "acute"), (Role.PHYSICIAN, "other")]


def _not_a_referrer(role: str, where: str) -> Membership:
    if where == "acute":
        return f.staff(role, f.acute_function())
    other = f.organisation("acute_function", "Anden akutfunktion")
    other.serves.set([f.municipality("101", participates=True)])
    return f.staff(role, other)


@pytest.mark.parametrize(("role", "where"), NOT_REFERRERS)
def test_an_organisation_that_does_not_refer_is_recorded_on_the_citizen_on_every_door(
    role: str, where: str
) -> None:
    person = f.citizen()
    member = _not_a_referrer(role, where)
    refused = [(person.pk, "denied", "referral.not_a_referrer", "ServiceRequest", "create")]

    before = newest()
    api = _api(member, {**REFERRAL, "cpr": person.cpr})
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "referral.not_a_referrer"
    assert _denied(before) == refused
    assert _api(member, {**REFERRAL, "citizen_id": person.pk}).status_code == 403
    assert _denied(before)[1:] == refused

    before = newest()
    fhir = _fhir(member, service_request(person.cpr))
    assert fhir.status_code == 403
    assert _denied(before) == refused

    client = _signed_in(member)
    before = newest()
    page = client.post("/referrals/new/", {**REFERRAL, "cpr": person.cpr})
    assert page.status_code == 403
    assert person.family_name not in page.content.decode()
    assert _denied(before) == refused

    # A number that names nobody: the same answer, on no one's log.
    before = newest()
    nobody = _api(member, {**REFERRAL, "cpr": f.cpr_number()})
    assert (nobody.status_code, nobody.json()) == (403, api.json())
    assert _denied(before) == [
        (None, "denied", "referral.not_a_referrer", "ServiceRequest", "create")
    ]
