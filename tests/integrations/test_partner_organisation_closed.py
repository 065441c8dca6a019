"""A partner speaks for an organisation; once that organisation is
deactivated in the administration (a practice closed, a unit shut down), the
platform neither takes its messages nor sends it any, even while the
Partner row itself is still ticked active: its referrals are refused at the
door like an unknown sender's, and what the platform would have sent it
waits for a person instead of going to a stale inbox (R3)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from acute.models import DeadlineWarning, Referral
from core.fhir.patient import patient_resource
from core.models import Organisation
from integrations.messages import Event
from integrations.models import PARTNER_INACTIVE, InboundMessage, OutboundMessage, Partner
from integrations.outbox import outbox_deliver
from integrations.simulators import helpline_referral
from integrations.transport import signed_headers
from tests import factories as f
from tests.acute.clinical.conftest import visit_scene

pytestmark = pytest.mark.django_db

RESULTS = {"results": [{"code": "NPU03230", "value": "3.1", "unit": "mmol/L"}]}


def _close(organisation: Organisation) -> None:
    Organisation.objects.filter(pk=organisation.pk).update(is_active=False)


def _post_referral(partner: Partner) -> tuple[int, dict]:
    citizen = f.citizen()
    body = json.dumps(
        helpline_referral(
            sender_code=partner.code,
            patient=patient_resource(citizen),
            reason="Feber",
            case_id="1813-closed",
        )
    ).encode()
    headers = {
        f"HTTP_{name.upper().replace('-', '_')}": value
        for name, value in signed_headers(
            sender=partner.code, secret=partner.secret, body=body
        ).items()
        if name != "Content-Type"
    }
    response = Client().post(
        "/fhir/$process-message", body, content_type="application/fhir+json", **headers
    )
    return response.status_code, response.json()


def test_r12_a_referral_from_a_partner_whose_organisation_is_deactivated_is_refused() -> None:
    f.acute_function()
    helpline = f.organisation(Organisation.Kind.HELPLINE_1813, "Akuttelefonen 1813")
    partner = f.integration_partner(Partner.Kind.HELPLINE_1813, helpline)
    status, _ = _post_referral(partner)
    assert status == 200  # taken while the organisation is active
    Referral.objects.all().delete()
    InboundMessage.objects.all().delete()

    _close(helpline)
    status, payload = _post_referral(partner)

    assert status == 401
    assert payload["resourceType"] == "OperationOutcome"
    [issue] = payload["issue"]
    assert issue["details"]["coding"][0]["code"] == "auth.partner_refused"
    assert not Referral.objects.exists()
    assert not InboundMessage.objects.exists()


def test_results_for_a_practice_deactivated_are_raised_for_the_coordinator_not_sent() -> None:
    scene = visit_scene()
    f.integration_partner(Partner.Kind.GP, scene.gp)
    _close(scene.gp)

    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results", RESULTS, format="json"
    )

    assert response.status_code == 201, response.content
    assert not OutboundMessage.objects.filter(event=Event.HOME_CARE_OBSERVATION).exists()
    assert DeadlineWarning.objects.filter(
        referral=scene.referral, kind=DeadlineWarning.Kind.RESULTS_UNSENT
    ).exists()


@pytest.mark.django_db(transaction=True)
def test_results_written_before_the_practice_was_deactivated_are_parked_not_posted() -> None:
    scene = visit_scene()
    # An endpoint nothing listens on: a post would be recorded as an attempt.
    f.integration_partner(Partner.Kind.GP, scene.gp, endpoint_url="http://127.0.0.1:8259/inbox")
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results", RESULTS, format="json"
    )
    assert response.status_code == 201, response.content
    message = OutboundMessage.objects.get(event=Event.HOME_CARE_OBSERVATION)
    _close(scene.gp)

    outbox_deliver(message_pks=[message.pk])

    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.FAILED
    assert message.last_error_code == PARTNER_INACTIVE
    assert message.attempts == 0
    assert not message.deliveries.exists()
