"""A referrer's ServiceRequest that is not ``active`` — revoked, entered in
error, on hold, a draft — is refused with its own code on ``POST
/fhir/ServiceRequest`` and audited as a denied attempt (R9). It used to be
taken as a new referral, or, under the id of a referral already taken in,
answered 201 with that referral unchanged: the referrer read the withdrawal
as done while the coordinator's board and the nurse on her way saw nothing.
A referral is withdrawn by phoning the coordinator; the FHIR base offers no
update or delete of a ServiceRequest, and says so."""

from __future__ import annotations

import pytest

from acute.models import Referral, Visit
from consent.audit.models import AuditEntry
from core.models import Organisation, Role
from tests import factories as f
from tests.acute.test_api import service_request

pytestmark = pytest.mark.django_db

NOT_ACTIVE = ("revoked", "entered-in-error", "on-hold", "draft", "completed", "unknown")


@pytest.fixture(autouse=True)
def acute_function():
    return f.acute_function()


@pytest.fixture
def coordinator():
    return f.staff(Role.COORDINATOR, f.acute_function())


@pytest.fixture
def hospital_client():
    hospital = f.organisation(Organisation.Kind.HOSPITAL, "Herlev og Gentofte Hospital")
    return f.client_for(f.staff(Role.PHYSICIAN, hospital))


def _post(client, body: dict):
    return client.post(
        "/fhir/ServiceRequest", body, format="json", HTTP_ACCEPT="application/fhir+json"
    )


def _issue(response) -> dict:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return body["issue"][0]


@pytest.mark.parametrize("status", NOT_ACTIVE)
def test_a_service_request_that_is_not_active_creates_no_referral(hospital_client, status):
    person = f.citizen()
    response = _post(hospital_client, service_request(person.cpr, status=status))
    assert response.status_code == 400, response.content
    issue = _issue(response)
    assert issue["code"] == "not-supported"
    assert issue["details"]["coding"][0]["code"] == "referral.status_not_active"
    assert not Referral.objects.exists()
    assert AuditEntry.objects.filter(
        citizen_id=person.pk,
        action="create",
        resource_type="ServiceRequest",
        outcome="denied",
        reason_code="referral.status_not_active",
    ).exists()


@pytest.mark.parametrize("status", ("revoked", "entered-in-error"))
def test_a_revocation_of_a_referral_on_its_way_is_refused_never_answered_as_taken(
    hospital_client, coordinator, status
):
    """The referral is accepted and a nurse sent; the hospital then posts the
    same ServiceRequest revoked. It is refused, so the hospital knows to
    phone; the referral and the nurse's visit stay as they were."""
    person = f.citizen()
    created = _post(hospital_client, service_request(person.cpr))
    assert created.status_code == 201, created.content
    referral = Referral.objects.get()
    _nurse, shift = f.acute_nurse_on_shift()
    coordinator_client = f.client_for(coordinator)
    assert (
        coordinator_client.post(
            f"/api/acute/referrals/{referral.pk}/accept", {}, format="json"
        ).status_code
        == 200
    )
    assigned = coordinator_client.post(
        f"/api/acute/referrals/{referral.pk}/assign", {"shift": shift.pk}, format="json"
    )
    assert assigned.status_code == 201, assigned.content
    response = _post(hospital_client, service_request(person.cpr, status=status))
    assert response.status_code == 400, response.content
    assert _issue(response)["details"]["coding"][0]["code"] == "referral.status_not_active"
    referral.refresh_from_db()
    assert referral.status == Referral.Status.ACCEPTED
    assert Visit.objects.get(referral=referral).status == Visit.Status.ASSIGNED
    assert Referral.objects.count() == 1
    assert AuditEntry.objects.filter(
        citizen_id=person.pk, outcome="denied", reason_code="referral.status_not_active"
    ).exists()


@pytest.mark.parametrize("method", ("put", "patch", "delete"))
def test_a_service_request_is_not_changed_through_the_fhir_base(hospital_client, method):
    person = f.citizen()
    created = _post(hospital_client, service_request(person.cpr))
    assert created.status_code == 201, created.content
    body = {**created.json(), "status": "revoked"}
    response = getattr(hospital_client, method)(
        f"/fhir/ServiceRequest/{body['id']}", body, format="json"
    )
    assert response.status_code == 405, response.content
    assert response.json()["resourceType"] == "OperationOutcome"
    assert Referral.objects.get().status == Referral.Status.RECEIVED


@pytest.mark.parametrize("intent", ("proposal", "plan", "option", "directive"))
def test_a_service_request_that_is_not_an_order_creates_no_referral(hospital_client, intent):
    """``intent`` is a modifier like ``status``: a proposal or a plan asks
    nobody to go, and is refused, never taken as a referral."""
    person = f.citizen()
    body = {**service_request(person.cpr), "intent": intent}
    response = _post(hospital_client, body)
    assert response.status_code == 400, response.content
    issue = _issue(response)
    assert issue["code"] == "not-supported"
    assert issue["details"]["coding"][0]["code"] == "referral.intent_not_order"
    assert not Referral.objects.exists()
    assert AuditEntry.objects.filter(
        citizen_id=person.pk, outcome="denied", reason_code="referral.intent_not_order"
    ).exists()


def test_an_original_order_is_taken_as_a_referral(hospital_client):
    person = f.citizen()
    body = {**service_request(person.cpr), "intent": "original-order"}
    assert _post(hospital_client, body).status_code == 201
    assert Referral.objects.filter(citizen=person).count() == 1
