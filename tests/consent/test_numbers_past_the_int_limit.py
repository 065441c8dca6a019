"""A run of digits longer than Python's ``int`` reads (4300 digits since
3.11) is refused like any other wrong number, never a 500. A URL holds at
most 4096 bytes, but a header, a POST search's form and a resource's
reference hold as many digits as the client sends."""

from __future__ import annotations

import json
from typing import Any

import pytest

from consent.models import RecordVersion
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, put

pytestmark = [pytest.mark.django_db]

DIGITS = "9" * 5000


def _outcome(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response.json()["resourceType"] == "OperationOutcome"
    assert issue_code(response) == code


def test_a_version_of_five_thousand_digits_in_if_match_is_refused(world: World) -> None:
    client = f.client_for(world.nurse)
    rid = world.diagnosis.pk
    current = client.get(f"/fhir/Condition/{rid}").json()
    current["meta"].pop("versionId")  # the header alone names the version
    response = put(client, f"/fhir/Condition/{rid}", current, HTTP_IF_MATCH=f'W/"{DIGITS}"')
    _outcome(response, 400, "record.version_invalid")
    assert RecordVersion.objects.filter(resource_id=rid).count() == 1


@pytest.mark.parametrize("name", ["_count", "_offset"])
def test_a_page_size_of_five_thousand_digits_in_a_post_search_is_refused(
    world: World, name: str
) -> None:
    response = f.client_for(world.nurse).post(
        "/fhir/Condition/_search", {"patient": str(world.person.pk), name: DIGITS}
    )
    _outcome(response, 400, "search.param_invalid")


@pytest.mark.parametrize("value", [DIGITS, f"Patient/{DIGITS}"])
def test_a_patient_of_five_thousand_digits_in_a_post_search_is_refused(
    world: World, value: str
) -> None:
    response = f.client_for(world.nurse).post("/fhir/Condition/_search", {"patient": value})
    assert response.status_code < 500, response.content[:300]
    assert response.status_code >= 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_reference_of_five_thousand_digits_in_a_consent_is_refused(world: World) -> None:
    body = bodies.refusal(world.person.pk, purposes=["HOPERAT"], organisations=[1])
    text = json.dumps(body).replace('"Organization/1"', f'"Organization/{DIGITS}"')
    assert DIGITS in text
    response = f.client_for(world.nurse).post("/fhir/Consent", data=text, content_type=bodies.FHIR)
    assert 400 <= response.status_code < 500, response.content[:300]
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_subject_of_five_thousand_digits_in_a_referral_is_refused(world: World) -> None:
    from tests.acute.test_api import service_request

    body = service_request(world.person.cpr)
    body["subject"] = {"reference": f"Patient/{DIGITS}"}
    response = post(f.client_for(world.physician), "/fhir/ServiceRequest", body)
    assert 400 <= response.status_code < 500, response.content[:300]
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_signature_timestamp_of_five_thousand_digits_is_refused(world: World) -> None:
    from integrations.models import InboundMessage, Partner
    from integrations.transport import TIMESTAMP_HEADER, signed_headers

    partner = f.integration_partner(Partner.Kind.HELPLINE_1813, f.organisation("helpline"))
    body = b'{"resourceType": "Bundle", "type": "message"}'
    headers = signed_headers(sender=partner.code, secret=partner.secret, body=body)
    headers[TIMESTAMP_HEADER] = DIGITS
    meta = {
        "HTTP_" + k.upper().replace("-", "_"): v
        for k, v in headers.items()
        if k.lower() != "content-type"
    }
    response = f.client_for(None).post(
        "/fhir/$process-message", data=body, content_type=bodies.FHIR, **meta
    )
    _outcome(response, 401, "auth.partner_refused")
    assert not InboundMessage.objects.exists()
