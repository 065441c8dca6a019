"""R12: a referral that arrives while the hospital has the citizen admitted
is held (*sat i bero*) as the admission held those already open — whichever
door it comes through (the coordinator's phone referral on the API, 1813's
message) — with the coordinator warned, so no nurse is sent to an empty
home. Her discharge resumes it with the others; the coordinator may still
send a nurse anyway with a stated reason."""

from __future__ import annotations

import pytest

from acute.models import DeadlineWarning, Referral
from consent.audit.models import AuditEntry
from core.fhir.patient import patient_resource
from core.models import Citizen, Organisation, Role
from integrations.models import Partner
from integrations.simulators import helpline_referral
from tests import factories as f
from tests.acute.test_api import REFERRAL
from tests.integrations.medcom.test_hospital_notification import SLHJ, STIN, _ack, _example, _post

pytestmark = pytest.mark.django_db

# The stay of MedCom's example admission (its episode-of-care identifier).
STAY = "bd481c38-a921-11ed-afa1-0242ac120002"


def _admitted(hospital: Partner) -> None:
    status, body = _post(hospital, _example(STIN))
    assert (status, _ack(body)[0]) == (200, "ok")


def _discharged(hospital: Partner) -> None:
    status, body = _post(hospital, _example(SLHJ))
    assert (status, _ack(body)[0]) == (200, "ok")


def _phone_referral(coordinator, citizen: Citizen) -> Referral:
    created = f.client_for(coordinator).post(
        "/api/acute/referrals",
        {**REFERRAL, "citizen_id": citizen.pk, "source": "gp"},
        format="json",
    )
    assert created.status_code == 201, created.content
    return Referral.objects.get(pk=created.json()["id"])


def _referral_from_1813(citizen: Citizen) -> Referral:
    org = f.organisation(Organisation.Kind.HELPLINE_1813, "Akuttelefonen 1813")
    helpline = f.integration_partner(
        Partner.Kind.HELPLINE_1813, org, endpoint_url="http://127.0.0.1:9/1813"
    )
    message = helpline_referral(
        sender_code=helpline.code,
        patient=patient_resource(citizen),
        reason="Feber og forvirring",
        case_id="1813-0701",
    )
    status, body = _post(helpline, message)
    assert (status, body["entry"][0]["resource"]["response"]["code"]) == (200, "ok"), body
    return Referral.objects.get(citizen=citizen, external_id="1813-0701")


def _held_as_the_admission_holds(referral: Referral) -> None:
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"
    assert referral.on_hold_since is not None
    # The coordinator is told on the board, as for the admission's own holds.
    warning = DeadlineWarning.objects.get(referral=referral, kind=DeadlineWarning.Kind.ADMITTED)
    assert warning.detail["admission"].endswith(STAY)
    assert warning.acknowledged_at is None
    # R9: the hold is on the referral's record.
    assert AuditEntry.objects.filter(
        citizen_id=referral.citizen_id,
        resource_type="ServiceRequest",
        resource_id=str(referral.pk),
        detail__step="on_hold",
        detail__reason="hospital_admission",
    ).exists()


def _resumed(referral: Referral) -> None:
    referral.refresh_from_db()
    assert (referral.on_hold_since, referral.on_hold_reason) == (None, "")
    warning = DeadlineWarning.objects.get(referral=referral, kind=DeadlineWarning.Kind.ADMITTED)
    assert warning.detail["resumed"] == "discharged"


def test_r12_a_phone_referral_taken_while_she_is_admitted_is_held_until_her_discharge(
    hospital, citizen
):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    _admitted(hospital)
    referral = _phone_referral(coordinator, citizen)
    _held_as_the_admission_holds(referral)
    # Nobody is sent while it is held, unless the coordinator says why.
    _nurse, shift = f.acute_nurse_on_shift()
    client = f.client_for(coordinator)
    assert client.post(f"/api/acute/referrals/{referral.pk}/accept").status_code == 200
    refused = client.post(
        f"/api/acute/referrals/{referral.pk}/assign", {"shift": shift.pk}, format="json"
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "referral.on_hold"

    _discharged(hospital)
    _resumed(referral)
    # Home again: the next referral is not held.
    later = _phone_referral(coordinator, citizen)
    assert (later.on_hold_since, later.on_hold_reason) == (None, "")


def test_r12_a_1813_referral_received_while_she_is_admitted_is_held_until_her_discharge(
    hospital, citizen
):
    _admitted(hospital)
    referral = _referral_from_1813(citizen)
    _held_as_the_admission_holds(referral)
    _discharged(hospital)
    _resumed(referral)


def test_r12_the_coordinator_may_send_a_nurse_anyway_to_a_referral_taken_while_admitted(
    hospital, citizen
):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    _admitted(hospital)
    referral = _phone_referral(coordinator, citizen)
    client = f.client_for(coordinator)
    assert client.post(f"/api/acute/referrals/{referral.pk}/accept").status_code == 200
    _nurse, shift = f.acute_nurse_on_shift()
    reason = "Udskrives i aften; afdelingen beder om tilsyn ved hjemkomst"
    assigned = client.post(
        f"/api/acute/referrals/{referral.pk}/assign",
        {"shift": shift.pk, "hold_override_reason": reason},
        format="json",
    )
    assert assigned.status_code == 201, assigned.content
    assert assigned.json()["hold_override_reason"] == reason


def test_r12_a_referral_for_a_citizen_not_in_hospital_is_not_held(hospital, citizen):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = _phone_referral(coordinator, citizen)
    assert (referral.on_hold_since, referral.on_hold_reason) == (None, "")
    assert not DeadlineWarning.objects.filter(referral=referral).exists()
