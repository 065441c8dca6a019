"""The GP who gets the nurse's measurements must be able to phone her
(MedCom's medcom-homecareReport-3): the PractitionerRole that performed the
HomeCareObservation names a Practitioner with a phone. She is reached at
work through the acute function's phone when she has no number of her own;
when neither has one, the message breaks MedCom's rule and waits for a
person instead of going."""

from __future__ import annotations

import pytest
from django.test import Client

from core.models import Organisation
from integrations.medcom.validation import validate_message
from integrations.messages import Event
from integrations.models import OutboundMessage, Partner
from integrations.selectors import outbox_problems
from tests import factories as f
from tests.acute.clinical.conftest import visit_scene

pytestmark = pytest.mark.django_db

RESULTS = {"results": [{"code": "NPU19748", "value": "25", "unit": "mg/L"}]}


def _nurse_practitioner(message: OutboundMessage) -> dict:
    by_url = {e["fullUrl"]: e["resource"] for e in message.bundle["entry"]}
    report = next(r for r in by_url.values() if r["resourceType"] == "DiagnosticReport")
    [role] = [
        by_url[p["reference"]]
        for p in report["performer"]
        if by_url[p["reference"]]["resourceType"] == "PractitionerRole"
    ]
    return by_url[role["practitioner"]["reference"]]


def _results_sent(scene) -> OutboundMessage:
    f.integration_partner(Partner.Kind.GP, scene.gp, endpoint_url="http://127.0.0.1:8679/inbox")
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results", RESULTS, format="json"
    )
    assert response.status_code == 201, response.json()
    [message] = OutboundMessage.objects.filter(event=Event.HOME_CARE_OBSERVATION)
    return message


def test_the_gp_reaches_the_nurse_through_the_acute_functions_phone() -> None:
    scene = visit_scene()
    assert scene.nurse.user.phone == ""
    acute = Organisation.objects.get(kind=Organisation.Kind.ACUTE_FUNCTION)
    acute.phone = "+4570101010"
    acute.save(update_fields=["phone"])

    message = _results_sent(scene)

    assert message.status == OutboundMessage.Status.PENDING, message.last_error
    assert _nurse_practitioner(message)["telecom"] == [
        {"system": "phone", "value": "+4570101010", "use": "work"}
    ]
    assert validate_message(message.bundle) == []


def test_results_with_no_phone_for_the_nurse_wait_for_a_person_with_the_reason() -> None:
    scene = visit_scene()
    Organisation.objects.filter(kind=Organisation.Kind.ACUTE_FUNCTION).update(phone="")

    message = _results_sent(scene)

    assert "telecom" not in _nurse_practitioner(message)
    assert message.status == OutboundMessage.Status.FAILED
    assert message.sent_at is None and message.attempts == 0
    assert message.last_error_code == "medcom.rule_broken"
    assert "invariant:medcom-homecareReport-3" in message.last_error
    assert message in outbox_problems()
    # The coordinator reads why, and what to do, in Danish.
    client = Client()
    assert f.log_in(client, scene.coordinator).status_code == 302
    board = client.get("/coordinator/live/").content.decode()
    assert "Overholder ikke MedComs regler:" in board
    assert "hverken hun eller akutfunktionen har et telefonnummer" in board
